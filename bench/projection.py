"""Insights projection: full-rebuild replay rate and end-to-end lag, real broker and DB.

Run from the repository root::

    python -m bench.projection              # about 1 minute on 2 cores
    python -m bench.projection --breakdown  # plus a rebuild with handlers timed

Infrastructure: PostgreSQL as the other benchmarks obtain it (``bench._infra``:
``DATABASE_URL`` or a private durable server) and a Kafka broker
(``KAFKA_BOOTSTRAP_SERVERS`` or a private ``deploy.local.kafka.KafkaBroker``); both
private ones are stopped at the end.

Contenders and measurements:

* ``rebuild`` - the insights service's own rebuild (``ReadModels.rebuild`` in
  ``services.insights.projections.read_models``: one transaction, ``LOCK TABLE facts``, every part's resetter, then one pass over
  the facts in order, each part folding them in memory, then each part's rows
  written once) over a history of about 100,000
  facts: the synthetic organisation of ``tests/insights/synthetic.py`` generated for
  many tenants (seed per tenant), plus held/cancelled/scheduled sessions per
  relationship. The facts are bulk-loaded into ``facts``/``fact_people`` in exactly
  the shape ``facts.record`` writes. Rate = facts replayed / wall time.
* ``limit`` - a plain ``INSERT`` of the same 100,000 rows (the facts' columns) into a
  bare table (no key, no index), ``executemany`` in ONE transaction, over the same
  stack (SQLAlchemy async engine + asyncpg) on the same server: what writing that many
  read-model rows costs at the least. ``ratio_to_limit`` = rebuild / limit.
* ``lag`` - the sessions service and the insights service run for real (own fresh
  databases, real Kafka): events are appended to the sessions event store at a steady
  rate, its relay (woken as its own repositories wake it) publishes them to
  ``tandem.sessions.v1``, insights' consumer records them; per event the time from
  the append call to the fact row being visible in insights' database (polled every
  ``POLL_S``) is measured; p50/p99 reported.

The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench._infra import (
    CpuMeter,
    durability,
    fresh_database,
    pg_params,
    postgres_server,
)
from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, NewEvent
from chassis.eventstore import event_store_for
from chassis.service import mounted
from services.insights.main import build_app as build_insights
from services.insights.projections import facts as fact_log
from services.insights.projections import read_models as rebuild
from services.insights.settings import Settings as InsightsSettings
from services.sessions.main import build_app as build_sessions
from services.sessions.settings import Settings as SessionsSettings
from tests.insights.synthetic import generate

GOAL_RATIO = 0.5  # rebuild / the bare insert limit
GOAL_P99_MS = 250.0
GOAL_ACHIEVED = 0.95  # of the offered rate
RELATIONSHIPS = 200
DRAIN_S = 60.0  # after the last append, how long the lag run waits for the rest
POLL_S = 0.005
SESSIONS_PER_RELATIONSHIP = 8


# -- infrastructure -------------------------------------------------------------------


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        print("Kafka: existing cluster from KAFKA_BOOTSTRAP_SERVERS")
        yield external
        return
    from deploy.local.kafka import KafkaBroker

    broker = KafkaBroker()
    print("Kafka: starting a private single-node broker ...", flush=True)
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.close()


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[Any]:
    runtime = app.state.runtime
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


# -- the history ----------------------------------------------------------------------


def sessions_of(org_envelopes: list[Envelope], rng: random.Random) -> list[Envelope]:
    """Scheduled, held and cancelled sessions for every relationship of an org."""
    out: list[Envelope] = []
    for e in org_envelopes:
        if e.type != "RelationshipStarted":
            continue
        rid = e.data["relationship_id"]
        start = e.time
        for i in range(SESSIONS_PER_RELATIONSHIP):
            sid = f"session-{rid}-{i}"
            day = start + timedelta(days=14 * (i + 1), hours=rng.randint(0, 6))
            base = dict(source="tandem/sessions", subject=sid, tenant=e.tenant)
            out.append(
                Envelope(
                    id=str(uuid.UUID(int=rng.getrandbits(128))),
                    type="SessionScheduled",
                    time=day - timedelta(days=7),
                    data={"session_id": sid, "relationship_id": rid},
                    **base,
                )
            )
            cancelled = rng.random() < 0.2
            out.append(
                Envelope(
                    id=str(uuid.UUID(int=rng.getrandbits(128))),
                    type="SessionCancelled" if cancelled else "SessionHeld",
                    time=day,
                    data={"session_id": sid, "relationship_id": rid}
                    | ({} if cancelled else {"held_at": day.isoformat()}),
                    **base,
                )
            )
    return out


def history(target: int) -> tuple[list[Envelope], int]:
    """About ``target`` facts: the synthetic organisation repeated per tenant."""
    envelopes: list[Envelope] = []
    rng = random.Random(2025)
    tenants = 0
    while len(envelopes) < target:
        org = generate(seed=1000 + tenants, tenant=f"org-{tenants:04d}")
        envelopes.extend(org.envelopes)
        envelopes.extend(sessions_of(org.envelopes, rng))
        tenants += 1
    return envelopes[:target], tenants


def fact_rows(envelopes: list[Envelope]) -> tuple[list[tuple], list[tuple]]:
    """Rows exactly as ``facts.record`` writes them (facts, fact_people)."""
    facts = [
        (
            e.id,
            e.tenant,
            e.source,
            e.type,
            e.subject,
            e.time,
            json.dumps(e.data, separators=(",", ":")),
        )
        for e in envelopes
    ]
    people = [(e.id, p) for e in envelopes for p in sorted(fact_log.people_in(e.data))]
    return facts, people


async def pg_connect(url: str) -> asyncpg.Connection:
    p = pg_params(url)
    return await asyncpg.connect(
        host=p.host, port=p.port, user=p.user, password=p.password, database=p.dbname
    )


# -- rebuild --------------------------------------------------------------------------


def instrument(app: Any, spent: dict[str, float]) -> None:
    """Add up the wall time spent in each part: its batch fold and write, and any
    fact handler still replayed one fact at a time."""

    def part_of(obj: Any) -> str:
        return getattr(obj, "__module__", "?").rsplit(".", 1)[-1]

    def add(part: str, t0: float) -> None:
        spent[part] = spent.get(part, 0.0) + time.perf_counter() - t0

    class Timed:
        def __init__(self, batch: Any) -> None:
            self.batch, self.part = batch, part_of(batch)

        def fold(self, env: Envelope) -> None:
            t0 = time.perf_counter()
            self.batch.fold(env)
            add(self.part, t0)

        async def write(self, conn: Any) -> None:
            t0 = time.perf_counter()
            await self.batch.write(conn)
            add(f"{self.part} (write)", t0)

    models = mounted(app).provide(rebuild.ReadModels)
    models.rebuilders = [
        rebuild.Rebuilder(r.handlers, lambda start=r.start: Timed(start()))
        for r in models.rebuilders
    ]
    covered = frozenset().union(*(r.handlers for r in models.rebuilders))

    def timed(handle: Any) -> Any:
        part = part_of(handle)

        async def wrapper(env: Envelope, conn: Any) -> None:
            t0 = time.perf_counter()
            try:
                await handle(env, conn)
            finally:
                add(part, t0)

        return wrapper

    handlers = models.handlers
    for kind in list(handlers):
        handlers[kind] = [h if h in covered else timed(h) for h in handlers[kind]]


async def bench_rebuild(
    url: str,
    facts: list[tuple],
    people: list[tuple],
    meter: CpuMeter,
    *,
    breakdown: bool,
) -> dict[str, Any]:
    app = build_insights(
        InsightsSettings(
            environment="test", database_url=url, kafka_bootstrap_servers=None
        )
    )
    runtime = app.state.runtime
    await runtime.prepare()
    conn = await pg_connect(url)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "facts",
            records=facts,
            columns=[
                "event_id",
                "tenant",
                "source",
                "type",
                "subject",
                "occurred_at",
                "data",
            ],
        )
        await conn.copy_records_to_table(
            "fact_people", records=people, columns=["event_id", "person_id"]
        )
        await conn.execute("ANALYZE facts; ANALYZE fact_people")
        print(
            f"  loaded {len(facts)} facts + {len(people)} fact_people rows "
            f"(COPY) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    finally:
        await conn.close()
    try:
        runs = []
        for label in ("first", "instrumented")[: 2 if breakdown else 1]:
            spent: dict[str, float] = {}
            if label == "instrumented":
                instrument(app, spent)
            progress: dict[str, Any] = {"processed": 0, "total": 0}
            snap = meter.snapshot()
            started = time.perf_counter()
            async with runtime.engine.begin() as c:
                await mounted(app).provide(rebuild.ReadModels).rebuild(c, progress)
            seconds = time.perf_counter() - started
            client, server = meter.since(snap)
            assert progress["processed"] == len(facts), progress
            async with runtime.engine.connect() as c:
                health = (
                    await c.execute(text("SELECT count(*) FROM relationship_health"))
                ).scalar_one()
                people_rows = (
                    await c.execute(text("SELECT count(*) FROM equity_people"))
                ).scalar_one()
                warnings = (
                    await c.execute(
                        text(
                            "SELECT count(*) FROM events "
                            "WHERE event_type = 'EarlyWarningRaised'"
                        )
                    )
                ).scalar_one()
            runs.append(
                {
                    "run": label,
                    "events": progress["processed"],
                    "seconds": seconds,
                    "rate": progress["processed"] / seconds,
                    "client_cpu_s": client,
                    "server_cpu_s": server,
                    "relationship_health_rows": health,
                    "equity_people_rows": people_rows,
                    "warnings_in_store": warnings,
                    "handler_seconds": {k: round(v, 2) for k, v in spent.items()},
                }
            )
            if spent:
                split = ", ".join(f"{k} {v:.1f} s" for k, v in spent.items())
                print(f"  time inside handlers, per part: {split}")
            print(
                f"  rebuild ({label}): {progress['processed']} facts in "
                f"{seconds:.1f} s = {progress['processed'] / seconds:.0f} events/s "
                f"(client CPU {client:.1f} s, server CPU "
                f"{'-' if server is None else f'{server:.1f}'} s); "
                f"{health} relationship_health, {people_rows} equity_people rows, "
                f"{warnings} warnings in the store",
                flush=True,
            )
        return {"runs": runs}
    finally:
        await runtime.engine.dispose()


# -- limit ----------------------------------------------------------------------------


async def bench_limit(url: str, facts: list[tuple]) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE bare (event_id TEXT, tenant TEXT, source TEXT, "
                    "type TEXT, subject TEXT, occurred_at TIMESTAMPTZ, data TEXT)"
                )
            )
        rows = [
            {"i": r[0], "t": r[1], "s": r[2], "y": r[3], "sub": r[4], "at": r[5]}
            | {"d": r[6]}
            for r in facts
        ]
        insert = text(
            "INSERT INTO bare (event_id, tenant, source, type, subject, occurred_at, "
            "data) VALUES (:i, :t, :s, :y, :sub, :at, :d)"
        )
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(insert, rows)
        seconds = time.perf_counter() - started
        print(
            f"  limit: {len(rows)} rows, one transaction, executemany in "
            f"{seconds:.2f} s = {len(rows) / seconds:.0f} rows/s",
            flush=True,
        )
        return {"rows": len(rows), "seconds": seconds, "rate": len(rows) / seconds}
    finally:
        await engine.dispose()


# -- lag ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def bench_lag(
    sessions_url: str,
    insights_url: str,
    bootstrap: str,
    rate: float,
    seconds: float,
    meter: CpuMeter,
) -> dict[str, Any]:
    sessions = build_sessions(
        SessionsSettings(
            environment="test",
            database_url=sessions_url,
            kafka_bootstrap_servers=bootstrap,
        )
    )
    insights = build_insights(
        InsightsSettings(
            environment="test",
            database_url=insights_url,
            kafka_bootstrap_servers=bootstrap,
        )
    )
    sent: dict[str, float] = {}  # event id -> append start (perf_counter)
    seen: dict[str, float] = {}
    done: list[float] = []  # when each append returned
    relationships = [f"rel-{i}" for i in range(RELATIONSHIPS)]
    versions = dict.fromkeys(relationships, 0)
    locks = {rid: asyncio.Lock() for rid in relationships}
    meta = EventMetadata(tenant="acme")
    writer: dict[str, Any] = {}

    async def append(n: int) -> None:
        rid = relationships[n % len(relationships)]
        event = NewEvent(
            "CheckInRecorded",
            {
                "check_in_id": f"ci-{n}",
                "relationship_id": rid,
                "kind": "monthly",
                "held_on": "2026-01-15",
                "alignment": 1 + n % 5,
            },
        )
        t0 = time.perf_counter()
        sent[str(event.id)] = t0
        async with locks[rid]:  # one append at a time per stream (its version)
            # Another engine than the service's (another replica's connections):
            # the relay hears of it through PostgreSQL, not through ``notify``.
            await writer["store"].append(
                f"CheckIns-{rid}", "CheckIns", versions[rid], [event], meta
            )
            versions[rid] += 1
        done.append(time.perf_counter())

    async def poller(stop: asyncio.Event) -> None:
        conn = await pg_connect(insights_url)
        try:
            while not stop.is_set() or len(seen) < len(sent):
                pending = [i for i in sent if i not in seen]
                if pending:
                    rows = await conn.fetch(
                        "SELECT event_id FROM facts WHERE event_id = ANY($1::text[])",
                        pending,
                    )
                    now = time.perf_counter()
                    for r in rows:
                        seen[r["event_id"]] = now
                await asyncio.sleep(POLL_S)
        finally:
            await conn.close()

    async with running(insights), running(sessions) as srt:
        consumer = insights.state.runtime.consumer

        async def report(stop: asyncio.Event) -> None:
            while not stop.is_set():
                await asyncio.sleep(5)
                print(
                    f"    appended {len(done)}, published {srt.relay.published}, "
                    f"applied {consumer.applied if consumer else '-'}, "
                    f"visible {len(seen)}",
                    flush=True,
                )

        writer_engine = create_engine(sessions_url, pool_size=16)
        writer["store"] = event_store_for(writer_engine)
        try:
            # Warm up: the first events wait for topic creation and group assignment.
            warm_stop = asyncio.Event()
            warm_task = asyncio.create_task(poller(warm_stop))
            for n in range(20):
                await append(-1 - n)
            warm_stop.set()
            await asyncio.wait_for(warm_task, 120)
            sent.clear()
            seen.clear()
            done.clear()
            print("  warm-up done (20 events through relay, Kafka and consumer)")
            stop = asyncio.Event()
            poll = asyncio.create_task(poller(stop))
            quiet = asyncio.Event()
            reporter = asyncio.create_task(report(quiet))
            total = int(rate * seconds)
            snap = meter.snapshot()
            started = time.perf_counter()
            # Open loop: each append starts when it is due, whether or not the ones
            # before it have returned (as requests from many users would).
            tasks = []
            for n in range(total):
                due = started + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(append(n)))
            await asyncio.gather(*tasks)
            driven = max(done) - started
            client_cpu, server_cpu = meter.since(snap)
            print(f"  appends done in {driven:.1f} s; waiting for the rest", flush=True)
            stop.set()
            try:
                await asyncio.wait_for(poll, DRAIN_S)
            except TimeoutError:  # report what arrived; the rest count as unseen
                print(
                    f"  {len(sent) - len(seen)} events not visible after "
                    f"{DRAIN_S:.0f} s: counted at that lag (a lower bound)"
                )
            finally:
                quiet.set()
                await reporter
        finally:
            await writer_engine.dispose()
    end = time.perf_counter()
    unseen = sum(1 for i in sent if i not in seen)
    lags = [(seen.get(i, end) - t0) * 1000 for i, t0 in sent.items()]
    # Lag by window of the run (sent order = append order): does a backlog build?
    window = max(1, int(rate * 5))
    windows = [
        [round(percentile(lags[k : k + window], q)) for q in (0.5, 0.99)]
        for k in range(0, len(lags), window)
    ]
    out = {
        "events": len(lags),
        "unseen": unseen,
        "offered_rate": rate,
        "achieved_rate": total / driven,
        "seconds": driven,
        "p50_ms": percentile(lags, 0.5),
        "p99_ms": percentile(lags, 0.99),
        "max_ms": max(lags),
        "mean_ms": statistics.fmean(lags),
        "windows_5s_p50_p99_ms": windows,
        "client_cpu_share": client_cpu / driven,
        "server_cpu_share": None if server_cpu is None else server_cpu / driven,
        "sent": sent,  # per event, for diagnostics (not printed)
        "seen": seen,
    }
    print(
        f"  lag: {out['events']} events at {out['achieved_rate']:.0f}/s over "
        f"{driven:.1f} s: p50 {out['p50_ms']:.0f} ms, p99 {out['p99_ms']:.0f} ms, "
        f"max {out['max_ms']:.0f} ms",
        flush=True,
    )
    server_share = "-" if server_cpu is None else f"{server_cpu / driven:.2f}"
    print(
        f"  per 5 s window [p50, p99] ms: {windows}; CPU while driving: this "
        f"process (relay + consumer + driver + poller) {client_cpu / driven:.2f} "
        f"core, PostgreSQL {server_share} core",
        flush=True,
    )
    return out


# -- main -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    started_all = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"Load average (1, 5, 15 min) before: {load_before}", flush=True)
    envelopes, tenants = history(args.events)
    envelopes.sort(key=lambda e: (e.time, e.id))
    facts, people = fact_rows(envelopes)
    kinds = len({e.type for e in envelopes})
    print(
        f"History: {len(envelopes)} facts of {kinds} event types, {tenants} tenants "
        f"(synthetic organisation x {tenants}, + sessions), "
        f"{len(people)} fact_people rows"
    )
    with postgres_server(durable=True) as server, kafka_broker() as bootstrap:
        settings = await durability(server.admin_url)
        meter = CpuMeter(server)
        print(
            f"Server settings: {settings} -> "
            f"{'durable (production-like)' if settings.durable else 'NOT durable'}"
        )
        print(
            f"Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"SQLAlchemy {importlib.metadata.version('sqlalchemy')} + asyncpg "
            f"{importlib.metadata.version('asyncpg')}",
            flush=True,
        )
        print("\nrebuild ...", flush=True)
        if args.lag_only:
            async with (
                fresh_database(server, "bench_sessions") as s_url,
                fresh_database(server, "bench_insights_lag") as i_url,
            ):
                await bench_lag(s_url, i_url, bootstrap, args.rate, args.seconds, meter)
            return
        async with fresh_database(server, "bench_insights") as url:
            rb = await bench_rebuild(
                url, facts, people, meter, breakdown=args.breakdown
            )
        print("limit ...", flush=True)
        async with fresh_database(server, "bench_limit") as url:
            limit = await bench_limit(url, facts)
        print("lag ...", flush=True)
        async with (
            fresh_database(server, "bench_sessions") as s_url,
            fresh_database(server, "bench_insights_lag") as i_url,
        ):
            lag = await bench_lag(
                s_url, i_url, bootstrap, args.rate, args.seconds, meter
            )
    total_s = time.perf_counter() - started_all

    first = rb["runs"][0]
    rebuild_rate = first["rate"]
    ratio = rebuild_rate / limit["rate"]
    print(f"\n{'measurement':<44} {'events':>8} {'seconds':>8} {'events/s':>9}  notes")
    for r in rb["runs"]:
        print(
            f"{'rebuild (' + r['run'] + '), replay_into':<44} {r['events']:>8} "
            f"{r['seconds']:>8.1f} {r['rate']:>9.0f}  "
            f"{r['warnings_in_store']} warnings in store after"
            + (" (handlers timed)" if r["run"] == "instrumented" else "")
        )
    print(
        f"{'limit: bare INSERT executemany, 1 tx':<44} {limit['rows']:>8} "
        f"{limit['seconds']:>8.1f} {limit['rate']:>9.0f}"
    )
    print(f"ratio rebuild (first) / limit: {ratio:.3f}")
    print(
        f"lag sessions append -> insights fact visible: {lag['events']} events at "
        f"{lag['achieved_rate']:.0f}/s, p50 {lag['p50_ms']:.0f} ms, "
        f"p99 {lag['p99_ms']:.0f} ms, max {lag['max_ms']:.0f} ms "
        f"(poll every {POLL_S * 1000:.0f} ms)"
    )
    goal_rebuild = ratio >= GOAL_RATIO
    goal_lag = lag["p99_ms"] < GOAL_P99_MS
    goal_rate = lag["achieved_rate"] >= GOAL_ACHIEVED * args.rate
    print(
        f"Goals: rebuild >= {GOAL_RATIO}x the limit: "
        f"{'MET' if goal_rebuild else 'MISSED'}; p99 lag < {GOAL_P99_MS:.0f} ms: "
        f"{'MET' if goal_lag else 'MISSED'}; achieved >= {GOAL_ACHIEVED:.0%} of the "
        f"{args.rate:.0f} events/s offered: {'MET' if goal_rate else 'MISSED'}"
    )
    load = os.getloadavg()
    print(
        f"Load average (1, 5, 15 min) at the end: {load[0]:.2f}, {load[1]:.2f}, "
        f"{load[2]:.2f} on {os.cpu_count()} cores (before: {load_before})"
    )
    print(f"Durable commits: {settings.durable}; whole benchmark {total_s:.0f} s")
    result = {
        "benchmark": "projection",
        "rebuild_events_per_s": round(rebuild_rate, 1),
        "limit_events_per_s": round(limit["rate"], 1),
        "ratio_to_limit": round(ratio, 4),
        "lag_p50_ms": round(lag["p50_ms"], 1),
        "lag_p99_ms": round(lag["p99_ms"], 1),
        "lag_max_ms": round(lag["max_ms"], 1),
        "lag_events": lag["events"],
        "lag_unseen_events": lag["unseen"],
        "lag_offered_events_per_s": args.rate,
        "lag_achieved_events_per_s": round(lag["achieved_rate"], 1),
        "lag_seconds": round(lag["seconds"], 1),
        "lag_poll_ms": POLL_S * 1000,
        "lag_windows_5s_p50_p99_ms": lag["windows_5s_p50_p99_ms"],
        "lag_client_cpu_cores": round(lag["client_cpu_share"], 2),
        "lag_server_cpu_cores": None
        if lag["server_cpu_share"] is None
        else round(lag["server_cpu_share"], 2),
        "history_events": len(facts),
        "history_fact_people": len(people),
        "history_tenants": tenants,
        "rebuild_seconds": round(first["seconds"], 2),
        "rebuild_client_cpu_s": round(first["client_cpu_s"], 2),
        "rebuild_server_cpu_s": None
        if first["server_cpu_s"] is None
        else round(first["server_cpu_s"], 2),
        "limit_seconds": round(limit["seconds"], 2),
        "goal_ratio_to_limit": GOAL_RATIO,
        "goal_rebuild_met": goal_rebuild,
        "goal_lag_p99_ms": GOAL_P99_MS,
        "goal_lag_met": goal_lag,
        "goal_achieved_share": GOAL_ACHIEVED,
        "goal_achieved_met": goal_rate,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in load],
        "durable": settings.durable,
        "server_settings": str(settings),
        "cpu_cores": os.cpu_count(),
        "total_seconds": round(total_s, 1),
        "rebuild_handler_seconds": rb["runs"][-1]["handler_seconds"] or None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--lag-only", action="store_true", help="only the lag run (diagnostics)"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="then rebuild again with every handler timed (time per part)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
