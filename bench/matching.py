"""Matching round benchmark: score every pair on every criterion, then optimise.

Run from the repository root::

    python -m bench.matching                    # 1,000x200, 5,000x1,000, 10,000x2,000
    python -m bench.matching --sizes 1000x200   # one size, quicker
    python -m bench.matching --rounds 1         # one timed round per size

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

OR-Tools is installed with ``python -m pip install -q "ortools>=9.8"`` if missing (the
``bench`` extra lists it). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

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
    largest = results[-1]
    summary: dict[str, object] = {
        "benchmark": "matching",
        "optimal": all(r["optimal"] for r in results),
        "coverage_optimal": all(r["coverage_optimal"] for r in results),
    }
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
        }
    )
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
        "--no-balanced",
        dest="balanced",
        action="store_false",
        help="skip the 6,000x2,000 cohort sized to its seats",
    )
    main(parser.parse_args())
