"""Matching round benchmark: score every pair on every criterion, then optimise.

Run from the repository root::

    python -m bench.matching                    # 1,000x200, 5,000x1,000, 10,000x2,000
    python -m bench.matching --sizes 1000x200   # one size, quicker
    python -m bench.matching --rounds 1         # one timed round per size
    python -m bench.matching --no-api           # skip the round through the service

For each size a deterministic synthetic cohort (seeded numpy; mentors have capacity
1-5; one mentee in five reports to a mentor of the cohort; n/10 coordinator-forbidden
pairs; standard programme, so mentors must be more senior) goes through Tandem's
whole round, ``run_round`` (encode, score every pair on all seven criteria, rules,
optimise in ``quality`` mode). Its time is the median of ``--rounds`` runs. Then on
the SAME score matrix, feasibility mask and capacities:

* the reference: OR-Tools' min-cost flow (``SimpleMinCostFlow``, cost scaling), an
  independent exact solver, with costs scaled to integers (score x 1e12, rounded).
  Its assignment is re-scored on the float matrix for the comparison; rounding can
  move a total by at most 0.5e-12 per pair, far below the 1e-6 tolerance;
* a greedy baseline: all feasible pairs by score, best first, taken while the mentee
  is free and the mentor has a seat;
* the ``coverage`` mode, checked against OR-Tools' max-flow-with-min-cost (the most
  pairs, then the best total) on the same matrix.

The three sizes have about 3 seats per mentor, so 10,000 mentees compete for about
6,000 seats. A fourth cohort, 6,000 x 2,000 (``--no-balanced`` skips it), is sized to
its seats, as programmes usually are; it is context for the greedy comparison and
does not enter ``optimal`` or ``greedy_quality_ratio``.

Tandem's optimise phase is compared with the reference's time per size and mode
(``faster_than_reference`` in the last line).

The round through the service (``--no-api`` skips it): PostgreSQL and Kafka are
started (or taken from ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``), the matching
service runs as its own uvicorn process (``launcher.real --services matching``), and
its pool is fed the 10,000 x 2,000 cohort as profiles would feed it: 36,041
integration events (cohort, competencies, people with their roles, mentor profiles,
intakes, admissions) published straight to the profiles topic, then waited for in
matching's candidate view (not timed). Timed: ``POST /rounds`` until every proposal
is readable, i.e. published on the matching topic (a consumer in the benchmark
counts them) and answered by ``POST /pairings/batch``. Phases: load pool (the POST
itself: pool, checks, ``RoundStarted``), score (encode, score, rules: until the
progress says ``optimise``), optimise (until ``done``), persist (until the round
reads ``completed``: proposals, explanations and ``RoundCompleted`` in one
transaction), publish (until the last proposal is on the topic), read. The
coordinator's forbidden pairs are not seeded there (they are matching's own data).

OR-Tools is installed with ``python -m pip install -q "ortools>=9.8"`` if missing (the
``bench`` extra lists it). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np

from services.matching.domain import optimiser
from services.matching.domain.candidates import (
    Goal,
    MenteeProfile,
    MentorProfile,
    Window,
)
from services.matching.domain.config import MatchingConfig
from services.matching.domain.optimiser import UNMATCHED, solve
from services.matching.domain.round import run_round

SEED = 20261121
COUNTRIES = [
    ("GB", "Europe/London", "en"),
    ("US", "America/New_York", "en"),
    ("US", "America/Los_Angeles", "en"),
    ("DE", "Europe/Berlin", "de"),
    ("FR", "Europe/Paris", "fr"),
    ("IN", "Asia/Kolkata", "hi"),
    ("SG", "Asia/Singapore", "zh"),
    ("BR", "America/Sao_Paulo", "pt"),
    ("JP", "Asia/Tokyo", "ja"),
]
UNITS = [f"BU-{n:02d}" for n in range(1, 21)]
FUNCTIONS = [
    "Finance",
    "Engineering",
    "Sales",
    "Operations",
    "People",
    "Legal",
    "Marketing",
    "Product",
]
MARKETS = [
    "APAC",
    "EMEA",
    "LATAM",
    "North America",
    "China",
    "India",
    "Africa",
    "Middle East",
]
CRISES = [
    "turnaround",
    "cyber incident",
    "product recall",
    "restructuring",
    "M&A integration",
    "regulatory probe",
]
INDUSTRIES = ["retail", "banking", "energy", "healthcare", "telecoms", "public sector"]
EXPERIENCES = MARKETS + CRISES + FUNCTIONS + INDUSTRIES
LEARNING = ["reflective", "experiential", "structured", "conceptual", "social"]
LEADING = [
    "coaching",
    "facilitative",
    "analytical",
    "visionary",
    "pragmatic",
    "directive",
]
FORMATS = ["one_to_one", "group", "shadowing", "project"]
GENERATIONS = ["boomer", "gen_x", "millennial", "gen_z"]
COMPETENCIES = 40


def _windows(rng: np.random.Generator) -> tuple[Window, ...]:
    """Office hours for most people; some give their own weekly windows."""
    if rng.random() < 0.7:
        return ()
    days = sorted(rng.choice(7, size=int(rng.integers(2, 5)), replace=False))
    out = []
    for d in days:
        start = int(rng.integers(6, 19))
        length = int(rng.integers(1, 5))
        out.append(
            Window(int(d), f"{start:02d}:00", f"{min(24, start + length):02d}:00")
        )
    return tuple(out)


def synthetic_cohort(
    n_mentees: int, n_mentors: int, seed: int = SEED
) -> tuple[list[MenteeProfile], list[MentorProfile], list[tuple[str, str]]]:
    """A deterministic cohort: mentees, mentors (capacity 1-5) and forbidden pairs."""
    rng = np.random.default_rng(seed + n_mentees * 7 + n_mentors)
    # Some competencies are wanted (and offered) far more than others.
    popularity = 1.0 / np.arange(1, COMPETENCIES + 1) ** 0.8
    popularity /= popularity.sum()
    mentor_ids = [f"r{n:05d}" for n in range(n_mentors)]
    mentors = []
    for pid in mentor_ids:
        country, zone, lang = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        comps = rng.choice(
            COMPETENCIES, size=int(rng.integers(4, 9)), replace=False, p=popularity
        )
        mentors.append(
            MentorProfile(
                person_id=pid,
                level=int(rng.integers(6, 13)),
                business_unit=UNITS[int(rng.integers(len(UNITS)))],
                function=FUNCTIONS[int(rng.integers(len(FUNCTIONS)))],
                geography=country,
                time_zone=zone,
                languages=(lang, "en") if lang != "en" else ("en",),
                availability=_windows(rng),
                generation=GENERATIONS[int(rng.integers(4))]
                if rng.random() < 0.6
                else None,
                strengths={f"C{c:02d}": int(rng.integers(2, 6)) for c in comps},
                markets=tuple(
                    rng.choice(MARKETS, size=int(rng.integers(1, 4)), replace=False)
                ),
                functions_led=tuple(
                    rng.choice(FUNCTIONS, size=int(rng.integers(1, 3)), replace=False)
                ),
                crisis_experience=tuple(
                    rng.choice(CRISES, size=int(rng.integers(0, 3)), replace=False)
                ),
                industries=tuple(
                    rng.choice(INDUSTRIES, size=int(rng.integers(1, 3)), replace=False)
                ),
                leadership_style=LEADING[int(rng.integers(len(LEADING)))]
                if rng.random() < 0.9
                else None,
                formats=tuple(
                    rng.choice(FORMATS, size=int(rng.integers(1, 4)), replace=False)
                ),
                capacity=int(rng.integers(1, 6)),
                hours_per_month=int(rng.integers(4, 17)),
            )
        )
    mentees = []
    for n in range(n_mentees):
        country, zone, lang = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        comps = rng.choice(
            COMPETENCIES, size=int(rng.integers(2, 6)), replace=False, p=popularity
        )
        goals = []
        for c in comps:
            current = int(rng.integers(1, 4))
            goals.append(Goal(f"C{c:02d}", current, int(rng.integers(current + 1, 6))))
        mentees.append(
            MenteeProfile(
                person_id=f"e{n:05d}",
                level=int(rng.integers(3, 10)),
                business_unit=UNITS[int(rng.integers(len(UNITS)))],
                function=FUNCTIONS[int(rng.integers(len(FUNCTIONS)))],
                geography=country,
                time_zone=zone,
                # One in five reports to a mentor of the cohort: a reporting-line pair.
                manager_id=mentor_ids[int(rng.integers(n_mentors))]
                if rng.random() < 0.2
                else None,
                languages=(lang, "en") if lang != "en" else ("en",),
                availability=_windows(rng),
                generation=GENERATIONS[int(rng.integers(4))]
                if rng.random() < 0.6
                else None,
                goals=tuple(goals),
                experiences_lacking=tuple(
                    rng.choice(EXPERIENCES, size=int(rng.integers(1, 5)), replace=False)
                ),
                learning_style=LEARNING[int(rng.integers(len(LEARNING)))]
                if rng.random() < 0.9
                else None,
                preferred_formats=tuple(
                    rng.choice(FORMATS, size=int(rng.integers(0, 3)), replace=False)
                ),
                hours_per_month=int(rng.integers(2, 9)),
            )
        )
    forbidden = [
        (
            f"e{int(rng.integers(n_mentees)):05d}",
            mentor_ids[int(rng.integers(n_mentors))],
        )
        for _ in range(n_mentees // 10)
    ]
    return mentees, mentors, forbidden


SIZES = ((1_000, 200), (5_000, 1_000), (10_000, 2_000))
# Context, not a goal: a cohort sized to its mentors' seats (about 6,000 of each),
# where every mentee could be matched and the order of choices matters most.
BALANCED = (6_000, 2_000)
COST_SCALE = 1e12
TOLERANCE = 1e-6


def ortools_min_cost_flow():
    try:
        return importlib.import_module("ortools.graph.python.min_cost_flow")
    except ImportError:
        print('OR-Tools missing: python -m pip install -q "ortools>=9.8"', flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "ortools>=9.8"], check=True
        )
        importlib.invalidate_caches()
        return importlib.import_module("ortools.graph.python.min_cost_flow")


def reference(
    scores: np.ndarray, feasible: np.ndarray, capacity: np.ndarray, coverage: bool
) -> tuple[np.ndarray, float]:
    """OR-Tools' optimum on the same matrix: (mentor of each mentee, seconds).

    Mentee i -> mentor j (capacity 1, cost -round(score x 1e12)) for feasible pairs,
    mentor j -> sink (capacity = seats). Quality: every mentee also has a free arc
    to the sink (staying unmatched) and all supply must flow. Coverage: no such arc,
    and ``solve_max_flow_with_min_cost`` sends as much as it can, as cheaply as it can.
    """
    mcf = ortools_min_cost_flow()
    started = time.perf_counter()
    n, m = scores.shape
    rows, cols = np.nonzero(feasible)
    sink = n + m
    tails = [rows, n + np.arange(m)]
    heads = [n + cols, np.full(m, sink)]
    caps = [np.ones(rows.size, np.int64), capacity.astype(np.int64)]
    costs = [
        -np.rint(scores[rows, cols] * COST_SCALE).astype(np.int64),
        np.zeros(m, np.int64),
    ]
    if not coverage:
        tails.append(np.arange(n))
        heads.append(np.full(n, sink))
        caps.append(np.ones(n, np.int64))
        costs.append(np.zeros(n, np.int64))
    flow = mcf.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails),
        np.concatenate(heads),
        np.concatenate(caps),
        np.concatenate(costs),
    )
    supplies = np.concatenate([np.ones(n, np.int64), np.zeros(m, np.int64), [-n]])
    flow.set_nodes_supplies(np.arange(n + m + 1), supplies)
    status = flow.solve_max_flow_with_min_cost() if coverage else flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"OR-Tools min-cost flow: {status}")
    used = flow.flows(arcs[: rows.size]) > 0
    mentor_of = np.full(n, UNMATCHED, dtype=np.int64)
    mentor_of[rows[used]] = cols[used]
    return mentor_of, time.perf_counter() - started


def greedy(
    scores: np.ndarray, feasible: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Best pair first, while the mentee is free and the mentor has a seat."""
    n, m = scores.shape
    flat = np.flatnonzero(feasible)
    order = flat[np.argsort(-scores.ravel()[flat], kind="stable")]
    seats = capacity.astype(np.int64).copy()
    mentor_of = np.full(n, UNMATCHED, dtype=np.int64)
    most = min(n, int(np.minimum(seats, feasible.sum(axis=0)).sum()))
    matched = 0
    for start in range(0, order.size, 250_000):
        for cell in order[start : start + 250_000].tolist():
            i, j = divmod(cell, m)
            if mentor_of[i] == UNMATCHED and seats[j] > 0:
                mentor_of[i] = j
                seats[j] -= 1
                matched += 1
        if matched >= most:
            break
    return mentor_of


def total(scores: np.ndarray, mentor_of: np.ndarray) -> float:
    who = np.flatnonzero(mentor_of != UNMATCHED)
    return float(scores[who, mentor_of[who]].sum())


def check(mentor_of: np.ndarray, feasible: np.ndarray, capacity: np.ndarray) -> None:
    who = np.flatnonzero(mentor_of != UNMATCHED)
    assert feasible[who, mentor_of[who]].all(), "an infeasible pair was proposed"
    load = np.bincount(mentor_of[who], minlength=capacity.size)
    assert (load <= capacity).all(), "a mentor is over capacity"


def run_size(n: int, m: int, rounds: int) -> dict[str, object]:
    mentees, mentors, forbidden = synthetic_cohort(n, m)
    config = MatchingConfig()  # standard programme, quality mode, all criteria
    times, phases = [], []
    result = None
    for _ in range(rounds):
        result = None  # free the previous round's matrices first
        started = time.perf_counter()
        result = run_round(mentees, mentors, config, forbidden=forbidden)
        times.append(time.perf_counter() - started)
        phases.append(dict(result.timings_s))
    assert result is not None
    scores, feasible = result.scores, result.feasibility.mask
    capacity = result.encoded.capacity
    tandem = result.solution.mentor_of
    check(tandem, feasible, capacity)
    del result
    ref, ref_s = reference(scores, feasible, capacity, coverage=False)
    check(ref, feasible, capacity)
    started = time.perf_counter()
    base = greedy(scores, feasible, capacity)
    greedy_s = time.perf_counter() - started
    started = time.perf_counter()
    cover = solve(scores, feasible, capacity, "coverage")
    cover_s = time.perf_counter() - started
    ref_cover, ref_cover_s = reference(scores, feasible, capacity, coverage=True)
    median = statistics.median(times)
    best_phase = phases[times.index(sorted(times)[len(times) // 2])]
    t_total, r_total, g_total = (
        total(scores, tandem),
        total(scores, ref),
        total(scores, base),
    )
    return {
        "mentees": n,
        "mentors": m,
        "seats": int(capacity.sum()),
        "feasible_pairs": int(feasible.sum()),
        "round_s": round(median, 3),
        "round_s_all": [round(t, 3) for t in times],
        "phases_s": {k: round(v, 3) for k, v in best_phase.items()},
        "tandem_total": t_total,
        "tandem_pairs": int((tandem != UNMATCHED).sum()),
        "reference_total": r_total,
        "reference_pairs": int((ref != UNMATCHED).sum()),
        "reference_s": round(ref_s, 3),
        "abs_diff": abs(t_total - r_total),
        "optimal": abs(t_total - r_total) <= TOLERANCE,
        "greedy_total": g_total,
        "greedy_pairs": int((base != UNMATCHED).sum()),
        "greedy_s": round(greedy_s, 3),
        "greedy_quality_ratio": t_total / g_total,
        "coverage_pairs": cover.matched,
        "coverage_total": cover.total,
        "coverage_optimise_s": round(cover_s, 3),
        "coverage_reference_pairs": int((ref_cover != UNMATCHED).sum()),
        "coverage_reference_total": total(scores, ref_cover),
        "coverage_reference_s": round(ref_cover_s, 3),
        "coverage_optimal": cover.matched == int((ref_cover != UNMATCHED).sum())
        and abs(cover.total - total(scores, ref_cover)) <= TOLERANCE,
    }


# -- the round through the service ---------------------------------------------------

API_SIZE = (10_000, 2_000)
PROFILES_TOPIC = "tandem.profiles.v1"
MATCHING_TOPIC = "tandem.matching.v1"


def _profile_events(
    tenant: str,
    cohort_id: str,
    mentees: list[MenteeProfile],
    mentors: list[MentorProfile],
) -> list[tuple[str, str, dict[str, Any]]]:
    """What profiles would publish for the cohort: (subject, event, data)."""
    from contracts import profiles as p

    def person(who: MenteeProfile | MentorProfile, role: str) -> p.PersonRegistered:
        return p.PersonRegistered(
            person_id=who.person_id,
            level=who.level,
            business_unit=who.business_unit,
            function=who.function,
            geography=who.geography,
            time_zone=who.time_zone,
            manager_id=getattr(who, "manager_id", None),
            languages=list(who.languages),
            roles=[p.ProgrammeRole(role)],
        )

    out: list[tuple[str, str, Any]] = [
        (
            cohort_id,
            "CohortCreated",
            p.CohortCreated(
                cohort_id=cohort_id, name="Bench cohort", capacity=len(mentees)
            ),
        )
    ]
    for c in range(COMPETENCIES):
        out.append(
            (
                f"C{c:02d}",
                "CompetencyDefined",
                p.CompetencyDefined(competency_id=f"C{c:02d}", name=f"Competency {c}"),
            )
        )
    for r in mentors:
        windows = [
            p.AvailabilityWindow(weekday=w.weekday, start=w.start, end=w.end)
            for w in r.availability
        ]
        out += [
            (r.person_id, "PersonRegistered", person(r, "mentor")),
            (
                r.person_id,
                "MentorProfileSet",
                p.MentorProfileSet(
                    person_id=r.person_id,
                    strengths=[
                        p.Strength(competency_id=k, proficiency=v)
                        for k, v in r.strengths.items()
                    ],
                    industries=list(r.industries),
                    markets=list(r.markets),
                    functions_led=list(r.functions_led),
                    crisis_experience=list(r.crisis_experience),
                    leadership_style=r.leadership_style,
                    formats=list(r.formats),
                    max_mentees=r.capacity,
                    hours_per_month=r.hours_per_month,
                    availability=windows,
                ),
            ),
            (
                r.person_id,
                "ParticipantAdmitted",
                p.ParticipantAdmitted(
                    cohort_id=cohort_id, person_id=r.person_id, role="mentor"
                ),
            ),
        ]
    for e in mentees:
        out += [
            (e.person_id, "PersonRegistered", person(e, "mentee")),
            (
                e.person_id,
                "IntakeSubmitted",
                p.IntakeSubmitted(
                    person_id=e.person_id,
                    goals=[
                        p.DevelopmentGoal(
                            competency_id=g.competency_id,
                            current=g.current,
                            target=g.target,
                        )
                        for g in e.goals
                    ],
                    learning_style=e.learning_style,
                    preferred_formats=list(e.preferred_formats),
                    hours_per_month=e.hours_per_month,
                    experiences_lacking=list(e.experiences_lacking),
                ),
            ),
            (
                e.person_id,
                "ParticipantAdmitted",
                p.ParticipantAdmitted(
                    cohort_id=cohort_id, person_id=e.person_id, role="mentee"
                ),
            ),
        ]
    return [(s, kind, d.model_dump(mode="json")) for s, kind, d in out]


async def _publish_profiles(
    kafka: str, tenant: str, events: list[tuple[str, str, dict[str, Any]]]
) -> float:
    """Publish the events to the profiles topic as profiles' relay would; seconds."""
    from aiokafka import AIOKafkaProducer

    from chassis.envelope import Envelope

    started = time.perf_counter()
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, linger_ms=20, max_batch_size=1 << 20, acks="all"
    )
    await producer.start()
    try:
        now = datetime.now(UTC)
        sends = []
        for version, (subject, kind, data) in enumerate(events, start=1):
            env = Envelope(
                id=str(uuid.uuid4()),
                source="tandem/profiles",
                type=kind,
                subject=subject,
                time=now,
                data=data,
                tenant=tenant,
                stream_type="Cohort" if kind == "CohortCreated" else "Person",
                stream_version=version,
            )
            sends.append(
                await producer.send(
                    PROFILES_TOPIC,
                    env.kafka_value(),
                    key=env.kafka_key(),
                    headers=env.kafka_headers(),
                )
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def _until_pool(url: str, tenant: str, cohort: str, n: int, m: int) -> None:
    """Wait until matching's candidate view holds the whole cohort."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    sql = text(
        "SELECT count(*) FILTER (WHERE m.role = 'mentee' AND c.intake IS NOT NULL) "
        "AS mentees, count(*) FILTER (WHERE m.role = 'mentor' "
        "AND c.mentor_profile IS NOT NULL) AS mentors FROM cohort_members m "
        "JOIN candidates c ON c.person_id = m.person_id "
        "WHERE m.cohort_id = :c AND m.tenant = :t"
    )
    last = time.monotonic()
    try:
        while True:
            async with engine.connect() as conn:
                row = (await conn.execute(sql, {"c": cohort, "t": tenant})).one()
            if row.mentees >= n and row.mentors >= m:
                return
            if time.monotonic() - last > 10:
                print(f"  pool so far: {row.mentees} mentees, {row.mentors} mentors")
                last = time.monotonic()
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def _watch_proposals(
    kafka: str, round_ids: list[str], seen: dict[str, float], ready: asyncio.Event
) -> None:
    """Record when each PairingProposed of the round reaches the matching topic."""
    from aiokafka import AIOKafkaConsumer

    from chassis.envelope import Envelope

    consumer = AIOKafkaConsumer(
        MATCHING_TOPIC,
        bootstrap_servers=kafka,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    env = Envelope.from_kafka(record.headers, record.value)
                    if (
                        env.type == "PairingProposed"
                        and round_ids
                        and (env.data.get("round_id") == round_ids[0])
                    ):
                        seen[env.data["pairing_id"]] = now
    finally:
        await consumer.stop()


class CpuMeter:
    """CPU seconds (user + system, from ``/proc``) of the matching service's process
    and of the benchmark's PostgreSQL server (the postmaster and its backends): what
    each phase cost, whatever else the machine runs. Empty where ``/proc`` is not."""

    def __init__(self, launcher: int, needle: str, postmaster: int | None) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.service = [p for p in _descendants(launcher) if needle in _cmdline(p)]
        self.postmaster = postmaster

    def sample(self) -> tuple[float, float]:
        """(service, PostgreSQL) CPU seconds so far."""
        postgres = (
            [self.postmaster, *_children(self.postmaster)] if self.postmaster else []
        )
        return (
            sum(_ticks(pid) for pid in self.service) / self.tick,
            sum(_ticks(pid) for pid in postgres) / self.tick,
        )


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        out.extend(children)
        todo.extend(children)
    return out


def _stat(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _ticks(pid: int) -> int:
    fields = _stat(pid)  # from the state: utime and stime are the 12th and 13th
    return int(fields[11]) + int(fields[12]) if fields else 0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


async def api_round(n: int, m: int) -> dict[str, Any]:
    """Seed matching's pool through the broker, then one round through its API."""
    import httpx

    from bench._infra import postgres_server
    from bench.gateway import (
        _free_port_block,
        _log,
        _ready,
        _spawn,
        _stop,
        kafka_broker,
    )
    from chassis.auth import Role
    from tests.gateway.platform import token

    mentees, mentors, _forbidden = synthetic_cohort(n, m)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    cohort = f"bench-{uuid.uuid4().hex[:8]}"
    events = _profile_events(tenant, cohort, mentees, mentors)
    logs = tempfile.mkdtemp(prefix="bench-matching-")
    out: dict[str, Any] = {"mentees": n, "mentors": m, "events_seeded": len(events)}
    with postgres_server() as pg, kafka_broker() as kafka:
        base = _free_port_block(7)
        prefix = f"bench_{uuid.uuid4().hex[:8]}"
        with _log(logs, "launcher.log") as log:
            runner = await _spawn(
                "-m", "launcher.real", "--services", "matching",
                "--database-url", pg.admin_url, "--kafka", kafka,
                "--base-port", str(base), "--database-prefix", prefix,
                "--data", logs, log=log,
            )  # fmt: skip
            try:
                url = f"http://127.0.0.1:{base + 2}"  # gateway, profiles, matching
                await _ready(url, "matching")
                print(f"  matching: its own uvicorn process at {url}", flush=True)
                published = await _publish_profiles(kafka, tenant, events)
                print(
                    f"  published {len(events)} profiles events in {published:.1f} s;"
                    " waiting for matching's pool ...",
                    flush=True,
                )
                started = time.perf_counter()
                await _until_pool(
                    pg.url_for(f"{prefix}_matching"), tenant, cohort, n, m
                )
                out["seed_s"] = round(published + time.perf_counter() - started, 1)
                print(f"  pool fed in {out['seed_s']} s (not timed)", flush=True)
                meter = CpuMeter(
                    runner.pid,
                    "services.matching",
                    getattr(pg, "_postmaster_pid", None),
                )
                out.update(await _timed_round(url, kafka, tenant, cohort, token(
                    "bench-coordinator", tenant, Role.COORDINATOR
                ), httpx, meter))  # fmt: skip
            except BaseException:
                print(f"  logs kept in {logs}", flush=True)
                raise
            finally:
                await _stop(runner)
    return out


async def _timed_round(
    url: str,
    kafka: str,
    tenant: str,
    cohort: str,
    jwt: str,
    httpx: Any,
    meter: CpuMeter,
) -> dict[str, Any]:
    """Start the round, follow its phases, wait until every proposal is readable;
    the CPU the service and PostgreSQL spent in each phase beside its time."""
    seen: dict[str, float] = {}
    cpu: dict[str, tuple[float, float]] = {}
    round_ids: list[str] = []
    listening = asyncio.Event()
    watcher = asyncio.create_task(_watch_proposals(kafka, round_ids, seen, listening))
    await asyncio.wait_for(listening.wait(), 60)
    phases: dict[str, float] = {}
    async with httpx.AsyncClient(
        base_url=url, headers={"authorization": f"Bearer {jwt}"}, timeout=120
    ) as http:
        cpu["start"] = meter.sample()
        t0 = time.perf_counter()
        answer = await http.post("/rounds", json={"cohort_id": cohort})
        t_started = time.perf_counter()
        cpu["started"] = meter.sample()
        answer.raise_for_status()
        view = answer.json()
        round_ids.append(view["round_id"])
        while view["status"] == "running":
            phase = view["progress"]["phase"]
            if phase not in phases:
                phases[phase] = time.perf_counter()
                cpu[phase] = meter.sample()
            await asyncio.sleep(0.05)
            got = await http.get(f"/rounds/{round_ids[0]}")
            got.raise_for_status()
            view = got.json()
        t_done = time.perf_counter()
        cpu["completed"] = meter.sample()
        if view["status"] != "completed":
            raise RuntimeError(f"round ended {view['status']}: {view.get('error')}")
        proposed = int(view["proposed"])
        while len(seen) < proposed:
            if time.perf_counter() - t_done > 300:
                raise TimeoutError(f"{len(seen)} of {proposed} proposals published")
            await asyncio.sleep(0.02)
        t_published = max(seen.values())
        cpu["published"] = meter.sample()
        ids = sorted(seen)
        read = 0
        for a in range(0, len(ids), 500):
            batch = await http.post("/pairings/batch", json={"ids": ids[a : a + 500]})
            batch.raise_for_status()
            read += len(batch.json()["items"])
        t_read = time.perf_counter()
        cpu["read"] = meter.sample()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    if read != proposed:
        raise RuntimeError(f"{read} of {proposed} proposals readable")
    t_opt = phases.get("optimise", t_done)
    t_end_opt = phases.get("done", t_done)
    return {
        "round_s": round(t_read - t0, 3),
        "phases_s": {
            "load_pool": round(t_started - t0, 3),
            "score": round(t_opt - t_started, 3),  # encode, score, rules
            "optimise": round(t_end_opt - t_opt, 3),
            "persist": round(t_done - t_end_opt, 3),
            "publish": round(max(t_published - t_done, 0.0), 3),
            "read": round(t_read - max(t_published, t_done), 3),
        },
        "phases_seen": sorted(phases, key=phases.__getitem__),
        "phases_cpu_s": _phase_cpu(cpu),
        "proposed": proposed,
        "unmatched": len(view["unmatched"]),
        "total_score": view["total_score"],
        "readable": read,
    }


def _phase_cpu(cpu: dict[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """CPU seconds per phase, as ``phases_s`` bounds them: the service's process
    and PostgreSQL's. A phase the polling did not see starts where the next one
    does (its CPU goes to the phase before)."""
    marks = [
        ("load_pool", "start", "started"),
        ("score", "started", "optimise"),
        ("optimise", "optimise", "done"),
        ("persist", "done", "completed"),
        ("publish", "completed", "published"),
        ("read", "published", "read"),
    ]
    order = ["start", "started", "optimise", "done", "completed", "published", "read"]
    known = {k: v for k, v in cpu.items() if k in order}

    def at(mark: str) -> tuple[float, float]:
        for later in order[order.index(mark) :]:  # unseen: the next seen mark
            if later in known:
                return known[later]
        return known["read"]

    out = {}
    for name, begin, end in marks:
        a, b = at(begin), at(end)
        out[name] = {
            "service": round(b[0] - a[0], 2),
            "postgres": round(b[1] - a[1], 2),
        }
    return out


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in avg) + " (1, 5, 15 min)"


def warm_kernels() -> float | None:
    """Compile the optimiser's kernels (or load them from their cache): seconds."""
    if optimiser.transport is None:
        return None
    started = time.perf_counter()
    solve(np.ones((3, 2)), np.ones((3, 2), dtype=bool), np.array([1, 1]))
    return time.perf_counter() - started


def main(args: argparse.Namespace) -> None:
    sizes = (
        [tuple(int(x) for x in s.split("x")) for s in args.sizes]
        if args.sizes
        else SIZES
    )
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    mcf = ortools_min_cost_flow()
    ortools_version = importlib.import_module("ortools").__version__
    print(
        f"Machine: {cores} CPU cores, Python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"scipy {importlib.import_module('scipy').__version__}; reference: OR-Tools "
        f"{ortools_version} {mcf.SimpleMinCostFlow.__name__}",
        flush=True,
    )
    load_before = os.getloadavg()
    print(f"Load average at the start: {_load(load_before)}", flush=True)
    compiled = warm_kernels()
    if compiled is None:
        print("Optimiser kernels: numba missing, SciPy's dense solver only", flush=True)
    else:
        print(
            f"Optimiser kernels (numba {importlib.import_module('numba').__version__}):"
            f" ready in {compiled:.1f} s (compiled once, then cached beside the module)",
            flush=True,
        )
    api = None
    if args.api:
        n, m = API_SIZE
        print(
            f"{n}x{m} through the matching service (uvicorn process, PostgreSQL,"
            " Kafka): seeding its pool from profiles events ...",
            flush=True,
        )
        api = asyncio.run(api_round(n, m))
    results = []
    for n, m in sizes:
        print(f"{n}x{m}: generating, then {args.rounds} round(s) ...", flush=True)
        results.append(run_size(n, m, args.rounds))
    balanced = None
    if args.balanced:
        n, m = BALANCED
        print(
            f"{n}x{m} (balanced): generating, then {args.rounds} round(s) ...",
            flush=True,
        )
        balanced = run_size(n, m, args.rounds)
    print()
    print(
        "Quality mode (max total score); round = encode + score 7 criteria + rules + optimise"
    )
    header = (
        f"{'size':>12} {'seats':>6} {'round s':>8} {'tandem total':>14} {'reference total':>16}"
        f" {'|diff|':>8} {'ref s':>6} {'greedy total':>13} {'tandem/greedy':>13}"
    )
    print(header)
    for r in results + ([balanced] if balanced else []):
        label = f"{r['mentees']}x{r['mentors']}" + ("*" if r is balanced else "")
        print(
            f"{label:>12} {r['seats']:>6} {r['round_s']:>8.2f}"
            f" {r['tandem_total']:>14.6f} {r['reference_total']:>16.6f} {r['abs_diff']:>8.1e}"
            f" {r['reference_s']:>6.1f} {r['greedy_total']:>13.6f} {r['greedy_quality_ratio']:>13.4f}"
        )
    if balanced:
        print(
            f"* balanced cohort (context, not a goal): {balanced['seats']} seats for"
            f" {balanced['mentees']} mentees; greedy matches {balanced['greedy_pairs']},"
            f" Tandem {balanced['tandem_pairs']}"
        )
    print()
    print("Round phases (s, median round):")
    for r in results + ([balanced] if balanced else []):
        phases = ", ".join(f"{k} {v:.2f}" for k, v in r["phases_s"].items())
        print(
            f"  {r['mentees']}x{r['mentors']}: {phases}; all rounds {r['round_s_all']}"
        )
    print()
    print(
        "Coverage mode (most pairs, then max total) against OR-Tools max-flow-min-cost:"
    )
    for r in results:
        print(
            f"  {r['mentees']}x{r['mentors']}: tandem {r['coverage_pairs']} pairs,"
            f" {r['coverage_total']:.6f} ({r['coverage_optimise_s']:.2f} s optimise);"
            f" reference {r['coverage_reference_pairs']} pairs,"
            f" {r['coverage_reference_total']:.6f} ({r['coverage_reference_s']:.1f} s)"
            f" -> {'equal' if r['coverage_optimal'] else 'DIFFERENT'}"
        )
    print()
    print("Optimiser against the reference on the same matrix (s; quality, coverage):")
    versus = {}
    for r in results + ([balanced] if balanced else []):
        key = f"{r['mentees']}x{r['mentors']}"
        mine = (r["phases_s"]["optimise"], r["coverage_optimise_s"])
        theirs = (r["reference_s"], r["coverage_reference_s"])
        faster = mine[0] <= theirs[0] and mine[1] <= theirs[1]
        versus[key] = {"tandem_s": mine, "reference_s": theirs, "faster": faster}
        print(
            f"  {key}: Tandem {mine[0]:.2f}, {mine[1]:.2f}; OR-Tools {theirs[0]:.2f},"
            f" {theirs[1]:.2f} -> {'faster' if faster else 'SLOWER'}"
        )
    if api:
        print()
        print(
            f"Round through the service, {api['mentees']}x{api['mentors']}"
            f" (pool fed by {api['events_seeded']} profiles events in"
            f" {api['seed_s']} s, not timed):"
        )
        print(
            "  POST /rounds until every proposal is readable (POST /pairings/batch):"
            f" {api['round_s']:.2f} s (goal < 30 s); {api['proposed']} proposed,"
            f" {api['unmatched']} unmatched, total {api['total_score']:.6f}"
        )
        print(
            "  phases: "
            + ", ".join(f"{k} {v:.2f}" for k, v in api["phases_s"].items())
            + f" (progress seen: {', '.join(api['phases_seen'])})"
        )
        print(
            "  CPU per phase (s; the service's process + PostgreSQL): "
            + ", ".join(
                f"{k} {v['service']:.2f} + {v['postgres']:.2f}"
                for k, v in api["phases_cpu_s"].items()
            )
        )
    load_after = os.getloadavg()
    print()
    print(f"Load average at the end: {_load(load_after)}")
    largest = results[-1]
    summary: dict[str, object] = {
        "benchmark": "matching",
        "optimal": all(r["optimal"] for r in results),
        "coverage_optimal": all(r["coverage_optimal"] for r in results),
        "faster_than_reference": all(v["faster"] for v in versus.values()),
    }
    if api:
        summary[f"round_s_api_{api['mentees']}x{api['mentors']}"] = api["round_s"]
    for r in results:
        key = f"{r['mentees']}x{r['mentors']}"
        summary[f"round_s_{key}"] = r["round_s"]
    summary.update(
        {
            "greedy_quality_ratio": round(largest["greedy_quality_ratio"], 6),
            "largest": f"{largest['mentees']}x{largest['mentors']}",
            "tolerance": TOLERANCE,
            "cpu_cores": cores,
            "rounds": args.rounds,
            "reference": f"OR-Tools {ortools_version} SimpleMinCostFlow, costs x{COST_SCALE:g}",
            "sizes": {f"{r['mentees']}x{r['mentors']}": r for r in results},
            "optimiser_vs_reference": versus,
            "kernel_ready_s": None if compiled is None else round(compiled, 2),
            "load_average_start": [round(x, 2) for x in load_before],
            "load_average_end": [round(x, 2) for x in load_after],
        }
    )
    if api:
        summary["api"] = api
    if balanced:
        summary["balanced"] = balanced
        summary["greedy_quality_ratio_balanced"] = round(
            balanced["greedy_quality_ratio"], 6
        )
        summary["optimal_balanced"] = (
            balanced["optimal"] and balanced["coverage_optimal"]
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", help="e.g. 1000x200 5000x1000")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per size")
    parser.add_argument(
        "--no-api",
        dest="api",
        action="store_false",
        help="skip the 10,000x2,000 round through the matching service",
    )
    parser.add_argument(
        "--no-balanced",
        dest="balanced",
        action="store_false",
        help="skip the 6,000x2,000 cohort sized to its seats",
    )
    main(parser.parse_args())
