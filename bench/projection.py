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
  the shape ``facts.record`` writes, then vacuumed and analysed, as autovacuum leaves
  a table that has been written for a while: a rebuild reads facts recorded long
  before it, not rows written a second ago whose first reader sets every tuple's
  commit hint and dirties every page (measured: 1.0 s of a 4.8 s rebuild). Rate = facts replayed / wall time. The rebuild
  computes two read models in forked children (``projections/aside.py``): its client
  CPU is the process's and its children's (reaped) together.
* ``limit`` - a plain ``INSERT`` of the same 100,000 rows (the facts' columns) into a
  bare table (no key, no index), ``executemany`` in ONE transaction, over the same
  stack (SQLAlchemy async engine + asyncpg) on the same server: what writing that many
  read-model rows costs at the least. ``ratio_to_limit`` = rebuild / limit.
* ``lag`` - the sessions service and the insights service run for real (own fresh
  databases, real Kafka), each in its own process as deployed (the relay in this
  one, the consumer in a spawned child: one event loop each, not one loop whose
  relay batches hold up the consumer's): events are appended to the sessions event store at a steady
  rate by ``DRIVERS`` load processes (``--drivers``; each its own streams, up to
  ``WRITERS_PER_DRIVER`` appends in flight), its relay (woken through PostgreSQL)
  publishes them to ``tandem.sessions.v1``, insights' consumer records them; per
  event the time from the append call to the fact row being visible in insights'
  database (polled every ``POLL_S``) is measured; p50/p99 reported, with the CPU per
  event of each process and where the pipeline waits (``Waits``: the wall time of
  the relay's reads, sends, checkpoint writes and sleeps, and of the consumer's
  polls, transactions and offset commits).

The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from chassis.heap import settle
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
# The lag run drives this long at the offered rate before it measures (the broker's
# and the services' first seconds: JIT, caches, first batches), as a deployed
# pipeline that has been running a while.
WARM_S = 10.0
# Behind by more than POLL_S / POLL_RELATIVE, the poller waits that share of the
# oldest unseen event's age between polls: a lag is over-counted by at most
# max(POLL_S, 2 % of it), and a backlog does not multiply the poller's own queries.
POLL_RELATIVE = 0.02
POLL_MAX_S = 0.1
POLL_ROWS = 5000  # rows read per poll at most (from the oldest unseen id on)
DRIVERS = 2  # load processes appending (each its own streams)
WRITERS_PER_DRIVER = 16  # appends in flight per driver process (its pool)
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
    proc = getattr(broker, "_proc", None)
    BROKER_PID[:] = [proc.pid] if proc is not None else []
    try:
        yield broker.bootstrap_servers
    finally:
        broker.close()


BROKER_PID: list[int] = []  # the private broker's JVM (its CPU is reported)


def broker_cpu_s() -> float | None:
    """CPU seconds of the private Kafka broker's process (None: not ours)."""
    if not BROKER_PID:
        return None
    try:
        fields = Path(f"/proc/{BROKER_PID[0]}/stat").read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
    except (OSError, ValueError):
        return None
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


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
    people = [
        (e.id, p)
        for e, row in zip(envelopes, facts, strict=True)
        for p in sorted(fact_log.mentioned(e.data, row[6], e.subject))
    ]
    return facts, people


async def pg_connect(url: str, **options: Any) -> asyncpg.Connection:
    p = pg_params(url)
    return await asyncpg.connect(
        host=p.host,
        port=p.port,
        user=p.user,
        password=p.password,
        database=p.dbname,
        **options,
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

        def begin(self, history: Any) -> bool:
            t0 = time.perf_counter()
            aside = self.batch.begin(history)
            add(f"{self.part} (begin{', aside' if aside else ''})", t0)
            return bool(aside)

        async def write(self, conn: Any) -> None:
            t0 = time.perf_counter()
            await self.batch.write(conn)
            add(f"{self.part} (write)", t0)

        def close(self) -> None:
            self.batch.close()

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


async def _phases(progress: dict[str, Any]) -> dict[str, float]:
    """The wall time of each phase the rebuild reports in ``progress`` (sampled
    every millisecond, until cancelled)."""
    spent: dict[str, float] = {}
    phase, since = None, time.perf_counter()
    try:
        while True:
            now = progress.get("phase")
            if now != phase:
                at = time.perf_counter()
                if phase is not None:
                    spent[phase] = spent.get(phase, 0.0) + at - since
                phase, since = now, at
            await asyncio.sleep(0.001)
    except asyncio.CancelledError:
        if phase is not None:
            spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - since
        return spent


async def bench_rebuild(
    url: str,
    facts: list[tuple],
    people: list[tuple],
    meter: CpuMeter,
    *,
    breakdown: bool,
    profile: bool = False,
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
        await conn.execute("VACUUM ANALYZE facts, fact_people")
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
            profiler = None
            if profile and label == "first":
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            snap = meter.snapshot()
            forked = os.times()  # the rebuild computes one part in a forked child
            started = time.perf_counter()
            phases = asyncio.create_task(_phases(progress))
            async with runtime.engine.begin() as c:
                await mounted(app).provide(rebuild.ReadModels).rebuild(c, progress)
            seconds = time.perf_counter() - started
            phases.cancel()
            timed = await asyncio.gather(phases, return_exceptions=True)
            if isinstance(timed[0], dict) and timed[0]:
                split = ", ".join(f"{k} {v:.2f} s" for k, v in timed[0].items())
                print(f"  phases of the rebuild (wall, sampled): {split}")
            after = os.times()
            child = (after.children_user - forked.children_user) + (
                after.children_system - forked.children_system
            )
            if profiler is not None:
                import pstats

                profiler.disable()
                print("  profile of the rebuild (cProfile, by own time):")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            parent, server = meter.since(snap)
            client = parent + child  # the rebuild's client process and its child
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
                    "client_child_cpu_s": child,
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
                f"(client CPU {client:.2f} s of which {child:.2f} s in its forked "
                f"child, server CPU "
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


# -- server statistics (``--pg-stats``) ----------------------------------------------


async def enable_statement_stats(server: Any) -> bool:
    """Load ``pg_stat_statements`` into the benchmark's own server (a restart);
    False for an external server (its settings are not ours to change)."""
    if server.is_external:
        print("--pg-stats: external server, statement statistics not enabled")
        return False

    async def setup(restarted: bool) -> None:
        conn = await asyncpg.connect(server.admin_url)
        try:
            if not restarted:
                await conn.execute(
                    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
                )
                await conn.execute("ALTER SYSTEM SET track_io_timing = on")
            else:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        finally:
            await conn.close()

    await setup(False)
    await asyncio.to_thread(server.restart)
    await setup(True)
    return True


class ServerStats:
    """What PostgreSQL did during the lag run, per event appended: each statement's
    calls, rows and execution time (``pg_stat_statements``, every database), the
    commits of each database and the WAL written and flushed."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._commits: dict[str, tuple[int, int]] = {}
        self._started = time.time()
        self._maintenance: dict[str, dict[str, tuple[int, int, Any, Any]]] = {}

    async def _counts(self, conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
        rows = await conn.fetch(
            "SELECT datname, xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname IS NOT NULL"
        )
        return {r["datname"]: (r["xact_commit"], r["xact_rollback"]) for r in rows}

    async def reset(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute("SELECT pg_stat_statements_reset()")
            await conn.execute("SELECT pg_stat_reset_shared('wal')")
            await conn.execute("SELECT pg_stat_reset_shared('bgwriter')")
            self._commits = await self._counts(conn)
        finally:
            await conn.close()
        self._started = time.time()
        self._maintenance = {db: await self._upkeep(db) for db in self._commits}

    def _url_of(self, db: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{db}"

    async def _upkeep(self, db: str) -> dict[str, tuple[int, int, Any, Any]]:
        """Each table's autovacuum and autoanalyze runs so far, and their last times."""
        try:
            conn = await asyncpg.connect(self._url_of(db))
        except Exception:  # a template database, say
            return {}
        try:
            rows = await conn.fetch(
                "SELECT relname, autovacuum_count, autoanalyze_count, "
                "last_autovacuum, last_autoanalyze FROM pg_stat_user_tables"
            )
        finally:
            await conn.close()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    async def upkeep_during_run(self) -> list[str]:
        """Autovacuum and autoanalyze runs since ``reset``: what the server did
        besides the pipeline's statements (and when, seconds into the run)."""
        out = []
        for db, before in self._maintenance.items():
            for table, (vac, ana, at_vac, at_ana) in (await self._upkeep(db)).items():
                vac0, ana0, _, _ = before.get(table, (0, 0, None, None))
                if vac > vac0 or ana > ana0:
                    last = [
                        f"{kind} last at +{t.timestamp() - self._started:.1f}s"
                        for kind, t in (("vacuum", at_vac), ("analyze", at_ana))
                        if t is not None and t.timestamp() >= self._started
                    ]
                    out.append(
                        f"{db[:18]}.{table}: vacuum x{vac - vac0}, analyze "
                        f"x{ana - ana0} ({', '.join(last)})"
                    )
        return out

    async def report(self, events: int, top: int = 20) -> dict[str, Any]:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await asyncio.sleep(0.6)  # the statistics collector's flush
            commits = await self._counts(conn)
            statements = await conn.fetch(
                "SELECT d.datname, s.calls, s.rows, s.total_exec_time, "
                "s.mean_exec_time, s.wal_records, s.shared_blks_hit, "
                "s.shared_blks_read, s.query FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid "
                "ORDER BY s.total_exec_time DESC"
            )
            wal = await conn.fetchrow(
                "SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync, "
                "wal_write_time, wal_sync_time FROM pg_stat_wal"
            )
            bgw = await conn.fetchrow(
                "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, "
                "buffers_clean, buffers_backend FROM pg_stat_bgwriter"
            )
            vacuums = await conn.fetch(
                "SELECT pid, datname, query FROM pg_stat_activity "
                "WHERE backend_type = 'autovacuum worker'"
            )
        finally:
            await conn.close()
        total_ms = sum(r["total_exec_time"] for r in statements)
        print(
            f"  PostgreSQL statements during the run (pg_stat_statements, all "
            f"databases): {total_ms:.0f} ms executing = "
            f"{total_ms / events * 1000:.0f} us an event; the top {top}:"
        )
        print(
            f"    {'db':<12} {'calls':>8} {'rows':>8} {'total ms':>9} "
            f"{'us/event':>8} {'mean ms':>8} {'wal rec':>8}  statement"
        )
        for r in statements[:top]:
            query = " ".join(r["query"].split())[:150]
            print(
                f"    {r['datname'][:12]:<12} {r['calls']:>8} {r['rows']:>8} "
                f"{r['total_exec_time']:>9.0f} "
                f"{r['total_exec_time'] / events * 1000:>8.1f} "
                f"{r['mean_exec_time']:>8.3f} {r['wal_records']:>8}  {query}"
            )
        per_db = {
            db: (
                c - self._commits.get(db, (0, 0))[0],
                rb - self._commits.get(db, (0, 0))[1],
            )
            for db, (c, rb) in commits.items()
        }
        print(
            "  commits per event appended: "
            + ", ".join(
                f"{db} {c / events:.2f} ({rb} rollbacks)"
                for db, (c, rb) in per_db.items()
                if c or rb
            )
        )
        if wal is not None:
            print(
                f"  WAL per event: {wal['wal_records'] / events:.1f} records, "
                f"{wal['wal_bytes'] / events:.0f} bytes, {wal['wal_fpi'] / events:.2f} "
                f"full pages; writes {wal['wal_write'] / events:.2f}, flushes "
                f"{wal['wal_sync'] / events:.2f} an event ({wal['wal_sync']} in all, "
                f"{wal['wal_sync_time']:.0f} ms flushing)"
            )
        if bgw is not None:
            print(f"  bgwriter/checkpoints: {dict(bgw)}")
        print(f"  autovacuum workers at the end: {[dict(v) for v in vacuums]}")
        upkeep = await self.upkeep_during_run()
        print(f"  autovacuum/autoanalyze during the run: {upkeep or 'none'}")
        return {
            "statement_us_per_event": total_ms / events * 1000,
            "commits_per_event": {db: c / events for db, (c, _) in per_db.items()},
            "wal_flushes_per_event": None if wal is None else wal["wal_sync"] / events,
        }


# -- lag ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


LAG_OFFSET = 1 << 40  # the warm-up's negative n sort first
LAG_TAG = "6c6167000000"  # the last 48 bits of every lag-run id


def lag_event_id(n: int) -> str:
    """The id of the lag run's n-th event: the driver and the poller agree on it
    without talking (negative n: the warm-up's). A UUID of version 8 (RFC 9562's
    custom layout) with ``n`` in its first 48 bits, so the ids sort as the events
    were scheduled: the poller reads ``facts`` by a range of its primary key."""
    digits = f"{n + LAG_OFFSET:012x}"
    return f"{digits[:8]}-{digits[8:]}-8000-8000-{LAG_TAG}"


def lag_event(n: int) -> tuple[str, NewEvent]:
    """The lag run's n-th event and its stream."""
    rid = f"rel-{n % RELATIONSHIPS}" if n >= 0 else f"warm-{-n}"
    return f"CheckIns-{rid}", NewEvent(
        "CheckInRecorded",
        {
            "check_in_id": f"ci-{n}",
            "relationship_id": rid,
            "kind": "monthly",
            "held_on": "2026-01-15",
            "alignment": 1 + n % 5,
        },
        id=uuid.UUID(lag_event_id(n)),
    )


class Waits:
    """Wall time the pipeline spends awaiting each step (calls, seconds, items).

    Steps overlap where the relay pipelines them (the next read while a batch is
    sent, a checkpoint's write behind the next send): each is its own wall time.
    """

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}

    def wrap(self, obj: Any, attr: str, step: str, items: Any = None) -> None:
        inner = getattr(obj, attr)
        tally = self.steps.setdefault(step, [0, 0.0, 0])

        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                result = await inner(*args, **kwargs)
            finally:
                tally[0] += 1
                tally[1] += time.perf_counter() - t0
            if items is not None:
                tally[2] += items(args, result)
            return result

        setattr(obj, attr, timed)

    def reset(self) -> None:
        for tally in self.steps.values():
            tally[:] = [0, 0.0, 0]

    def summary(self, seconds: float) -> dict[str, dict[str, float]]:
        return {
            step: {
                "calls": int(n),
                "seconds": round(t, 2),
                "busy_share": round(t / seconds, 3),
                "mean_ms": round(t / n * 1000, 2) if n else 0.0,
                "items_per_call": round(k / n, 1) if n else 0.0,
            }
            for step, (n, t, k) in self.steps.items()
        }


def instrument_pipeline(relay: Any, consumer: Any) -> Waits:
    """Time the relay's and the consumer's awaited steps (``Waits``; either may be
    None: each runs in its own process)."""
    waits = Waits()
    if relay is not None:
        waits.wrap(relay.store, "read_log", "relay read_log", lambda a, r: len(r))
        waits.wrap(relay.transport, "publish", "relay publish", lambda a, r: r)
        waits.wrap(relay, "_save", "relay checkpoint write")
        waits.wrap(relay, "_idle", "relay asleep (_idle)")
    if consumer is not None and consumer.subscriber is not None:
        waits.wrap(consumer.subscriber, "poll", "consumer poll", lambda a, r: len(r))
        waits.wrap(
            consumer, "_apply_all", "consumer apply (1 tx)", lambda a, r: len(a[0])
        )
        waits.wrap(consumer, "_commit", "consumer offset commit")
        # Inside the apply (the rest of it: the marks, begin and commit).
        handler = consumer.batch_handler
        if handler is not None:
            waits.wrap(
                consumer, "batch_handler", "  batch handler", lambda a, r: len(a[0])
            )
            inbound = getattr(handler, "__self__", None)
            if inbound is not None:
                waits.wrap(
                    inbound.erasures,
                    "screen_many",
                    "    erasure screen",
                    lambda a, r: len(a[1]),
                )
                waits.wrap(
                    fact_log, "record_many", "    facts kept", lambda a, r: len(a[0])
                )
                waits.wrap(
                    inbound.read_models,
                    "apply_many",
                    "    read models",
                    lambda a, r: len(a[0]),
                )
    return waits


def print_by_area(stats: Any, events: int) -> None:
    """A profile's own time summed per package or module (where CPU goes)."""
    areas: dict[str, float] = {}
    for (path, _line, name), row in stats.stats.items():
        if path == "~":
            area = name  # a builtin
        elif "site-packages/" in path:
            area = path.split("site-packages/")[1].split("/")[0]
        elif "/lib/python3" in path:
            area = "stdlib:" + path.rsplit("/", 1)[1]
        else:
            parts = os.path.relpath(path).split(os.sep)
            area = "/".join(parts[:2]) if parts[0] == "services" else "/".join(parts)
        areas[area] = areas.get(area, 0.0) + row[2]
    ranked = sorted(areas.items(), key=lambda kv: -kv[1])[:30]
    print("  own time per area (us an event, profiled):")
    for area, seconds in ranked:
        print(f"    {seconds / events * 1e6:>8.1f}  {area}")


def _child(role: str, conn: Any, *args: Any) -> None:
    """A child process of the lag run (spawned): the load driver or the poller.

    It says ``ready``, receives the start moment (``time.perf_counter``, which is
    CLOCK_MONOTONIC, shared by every process of the machine), runs, and sends back
    its per-event times and its own CPU."""
    conn.send("ready")
    start_at = conn.recv()
    run = _poll if role == "poller" else _drive
    cpu0 = time.process_time()
    times, extra = asyncio.run(run(start_at, *args))
    # From the first measured event on (the warm-up's CPU is not counted).
    conn.send((times, time.process_time() - extra.get("cpu_measured", cpu0), extra))
    conn.close()


def _consumer_child(
    conn: Any, url: str, bootstrap: str, applied: Any, profile: bool
) -> None:
    """The insights service's process of the lag run (spawned, as deployed: its
    own interpreter and event loop, not the relay's). It starts the service and
    says ``ready``, receives the start moment, settles its heap, counts from then
    on (its awaited steps, ``Waits``, and its CPU) until told ``stop``, and sends
    them back."""
    asyncio.run(_consume(conn, url, bootstrap, applied, profile))


async def _consume(
    conn: Any, url: str, bootstrap: str, applied: Any, profile: bool
) -> None:
    insights = build_insights(
        InsightsSettings(
            environment="test", database_url=url, kafka_bootstrap_servers=bootstrap
        )
    )
    loop = asyncio.get_running_loop()
    async with running(insights):
        consumer = insights.state.runtime.consumer
        conn.send("ready")
        start_at = await loop.run_in_executor(None, conn.recv)
        settle()  # after the first events, as the relay's process does
        waits = instrument_pipeline(None, consumer)
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        waits.reset()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        cpu0, applied0 = time.process_time(), consumer.applied if consumer else 0
        stopped = loop.run_in_executor(None, conn.recv)
        while not stopped.done():
            applied.value = consumer.applied if consumer else 0
            await asyncio.wait({stopped}, timeout=0.5)
        cpu = time.process_time() - cpu0
        if profiler is not None:
            import pstats

            profiler.disable()
            print("  profile of the consumer's process (insights), cumulative:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            events = max(1, (consumer.applied if consumer else 0) - applied0)
            print_by_area(pstats.Stats(profiler), events)
        conn.send((waits.steps, cpu))
    conn.close()


async def _drive(
    start_at: float,
    url: str,
    rate: float,
    total: int,
    appended: Any,
    index: int,
    drivers: int,
    warm: int,
) -> tuple[dict[int, float], dict[str, Any]]:
    """Append this driver's share of ``total`` events (every ``drivers``-th, from
    ``index``: whole streams, since ``drivers`` divides ``RELATIONSHIPS``) on the
    run's schedule, open loop, through its own engine (another replica's
    connections: the relay hears of them through PostgreSQL only), up to
    ``WRITERS_PER_DRIVER`` appends in flight."""
    engine = create_engine(url, pool_size=WRITERS_PER_DRIVER)
    store = event_store_for(engine)
    meta = EventMetadata(tenant="acme")
    sent: dict[int, float] = {}
    versions = [0] * RELATIONSHIPS
    locks = [asyncio.Lock() for _ in range(RELATIONSHIPS)]

    async def append(n: int) -> None:
        stream, event = lag_event(n)
        k = n % RELATIONSHIPS
        sent[n] = time.perf_counter()
        async with locks[k]:  # one append at a time per stream (its version)
            await store.append(stream, "CheckIns", versions[k], [event], meta)
            versions[k] += 1
        appended[index] += 1

    # Connect the pool before the start (not part of the pipeline).
    await asyncio.gather(*(store.read_log(limit=1) for _ in range(WRITERS_PER_DRIVER)))
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    tasks = []
    cpu_measured = None
    for n in range(index, total, drivers):
        delay = start_at + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if cpu_measured is None and n >= warm:
            cpu_measured = time.process_time()
        tasks.append(asyncio.create_task(append(n)))
    await asyncio.gather(*tasks)
    ended = time.perf_counter()
    await engine.dispose()
    return sent, {"ended": ended, "cpu_measured": cpu_measured}


async def _poll(
    start_at: float,
    url: str,
    rate: float,
    total: int,
    visible: Any,
    appended: Any,
    warm: int,
) -> tuple[dict[int, float], dict[str, Any]]:
    """Every ``POLL_S``, read which of the events due by now and not yet seen are in
    insights' ``facts``: one range of its primary key, from the oldest unseen
    event's id to the first not yet due (the ids sort as the events were scheduled,
    ``lag_event_id``), at most ``POLL_ROWS`` rows. A poll costs PostgreSQL the rows
    that became visible since the oldest unseen one, not a probe for every unseen
    id: asking for the oldest 500 ids by ``= ANY`` was 5 ms a poll and half of
    PostgreSQL's statement time in the run (``--pg-stats``), on the cores the
    pipeline measured needs. Behind by more than ``POLL_S / POLL_RELATIVE`` it polls
    less often (``POLL_RELATIVE`` of the oldest unseen event's age, at most
    ``POLL_MAX_S``); an event past the rows read is seen by a later poll (its lag
    over-counted, never under)."""
    conn = await pg_connect(url)
    read = await conn.prepare(
        "SELECT event_id::text FROM facts WHERE event_id >= $1 AND event_id < $2 "
        f"ORDER BY event_id LIMIT {POLL_ROWS}"
    )
    seen: dict[int, float] = {}
    unseen: dict[str, int] = {}
    due = 0
    polls = 0
    cpu_measured = None
    # Gives up DRAIN_S after the schedule's end and after the last append or sight.
    deadline = start_at + total / rate + DRAIN_S
    progress = (-1, -1)
    try:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        while len(seen) < total and time.perf_counter() < deadline:
            now = time.perf_counter()
            if (sum(appended), len(seen)) != progress:
                progress = (sum(appended), len(seen))
                deadline = max(deadline, now + DRAIN_S)
            while due < total and start_at + due / rate <= now:
                unseen[lag_event_id(due)] = due
                due += 1
            if cpu_measured is None and due > warm:
                cpu_measured = time.process_time()
            if unseen:
                rows = await read.fetch(next(iter(unseen)), lag_event_id(due))
                polls += 1
                at = time.perf_counter()
                for (event_id,) in rows:
                    n = unseen.pop(event_id, None)
                    if n is not None:
                        seen[n] = at
                visible.value = len(seen)
            wait = POLL_S
            if unseen:
                oldest = start_at + next(iter(unseen.values())) / rate
                age = time.perf_counter() - oldest
                wait = min(POLL_MAX_S, max(POLL_S, age * POLL_RELATIVE))
            await asyncio.sleep(wait)
    finally:
        await conn.close()
    return seen, {"polls": polls, "cpu_measured": cpu_measured}


async def warm_up(sessions_url: str, insights_url: str) -> None:
    """The first events wait for topic creation and group assignment."""
    engine = create_engine(sessions_url, pool_size=2)
    store = event_store_for(engine)
    meta = EventMetadata(tenant="acme")
    ids = []
    for n in range(1, 21):
        stream, event = lag_event(-n)
        ids.append(str(event.id))
        await store.append(stream, "CheckIns", 0, [event], meta)
    await engine.dispose()
    conn = await pg_connect(insights_url)
    try:
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            got = await conn.fetchval(
                "SELECT count(*) FROM facts WHERE event_id = ANY($1::text[])", ids
            )
            if got == len(ids):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("warm-up events not visible in insights after 120 s")
    finally:
        await conn.close()


async def bench_lag(
    sessions_url: str,
    insights_url: str,
    bootstrap: str,
    rate: float,
    seconds: float,
    meter: CpuMeter,
    *,
    profile: bool = False,
    drivers: int = DRIVERS,
    stats: ServerStats | None = None,
) -> dict[str, Any]:
    if RELATIONSHIPS % drivers:
        raise ValueError(f"--drivers must divide {RELATIONSHIPS} (whole streams each)")
    sessions = build_sessions(
        SessionsSettings(
            environment="test",
            database_url=sessions_url,
            kafka_bootstrap_servers=bootstrap,
        )
    )
    # The run drives ``warm`` events first (WARM_S of the same load, not counted),
    # then the ``measured`` ones: the ids and the schedule run on through both.
    warm, measured = int(rate * WARM_S), int(rate * seconds)
    total = warm + measured
    ctx = multiprocessing.get_context("spawn")
    appended = ctx.Array("l", drivers, lock=False)  # one counter per driver
    visible = ctx.Value("l", 0, lock=False)
    applied = ctx.Value("l", 0, lock=False)
    # The insights service in a process of its own, as deployed.
    insights, consumer_pipe = ctx.Pipe()
    consumer_proc = ctx.Process(
        target=_consumer_child,
        args=(consumer_pipe, insights_url, bootstrap, applied, profile),
        name="lag-insights",
        daemon=True,
    )
    consumer_proc.start()
    children = {}
    for role, url, extra in (
        *(
            (f"driver-{d}", sessions_url, (appended, d, drivers, warm))
            for d in range(drivers)
        ),
        ("poller", insights_url, (visible, appended, warm)),
    ):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=_child,
            args=(role, theirs, url, rate, total, *extra),
            name=f"lag-{role}",
            daemon=True,
        )
        proc.start()
        children[role] = (proc, mine)
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, insights.recv) == "ready"
    async with running(sessions) as srt:

        async def report(stop: asyncio.Event) -> None:
            while not stop.is_set():
                await asyncio.sleep(5)
                print(
                    f"    appended {sum(appended)}, published {srt.relay.published}, "
                    f"applied {applied.value}, visible {visible.value}",
                    flush=True,
                )

        await warm_up(sessions_url, insights_url)
        print("  warm-up done (20 events through relay, Kafka and consumer)")
        # As a deployed process settles its heap once started (``chassis.heap``,
        # on outside tests): the services here are started without their app's
        # lifespan, which is where a deployment does it.
        settle()
        waits = instrument_pipeline(srt.relay, None)
        for _, pipe in children.values():
            assert await loop.run_in_executor(None, pipe.recv) == "ready"
        start_at = time.perf_counter() + 0.5
        measured_at = start_at + warm / rate  # the first measured event's moment
        for _, pipe in children.values():
            pipe.send(start_at)
        insights.send(measured_at)
        quiet = asyncio.Event()
        reporter = asyncio.create_task(report(quiet))
        print(
            f"  driving {warm} events ({WARM_S:.0f} s, not counted), then "
            f"{measured} measured",
            flush=True,
        )
        await asyncio.sleep(max(0.0, measured_at - time.perf_counter()))
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, robust under load
            profiler.enable()
        if stats is not None:
            await stats.reset()
        snap = meter.snapshot()
        broker0 = broker_cpu_s()
        waits.reset()
        try:
            results = {
                role: await loop.run_in_executor(None, pipe.recv)
                for role, (_, pipe) in children.items()
            }
        finally:
            quiet.set()
            await reporter
        relay_cpu, server_cpu = meter.since(snap)
        broker1 = broker_cpu_s()
        broker_cpu = None if broker0 is None or broker1 is None else broker1 - broker0
        insights.send("stop")
        consumer_steps, consumer_cpu = await loop.run_in_executor(None, insights.recv)
        waits.steps.update(consumer_steps)
        waited = waits.summary(time.perf_counter() - measured_at)
        client_cpu = relay_cpu + consumer_cpu
        if stats is not None:
            await stats.report(measured)
        if profiler is not None:
            import pstats

            profiler.disable()
            print("  profile of the relay's process (sessions), cumulative:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            print_by_area(pstats.Stats(profiler), measured)
    for proc, _ in (*children.values(), (consumer_proc, None)):
        proc.join(10)
    end = time.perf_counter()
    sent: dict[int, float] = {}
    driver_cpu, ended = 0.0, start_at
    for role, (times, cpu, extra) in results.items():
        if role.startswith("driver"):
            sent.update(times)
            driver_cpu += cpu
            ended = max(ended, extra["ended"])
    seen, poller_cpu, poller_extra = results["poller"]
    driven = ended - measured_at
    warm_lags = [(seen.get(n, end) - t0) * 1000 for n, t0 in sent.items() if n < warm]
    if warm_lags:
        print(
            f"  warm-up ({len(warm_lags)} events, not counted): p50 "
            f"{percentile(warm_lags, 0.5):.0f} ms, p99 "
            f"{percentile(warm_lags, 0.99):.0f} ms"
        )
    sent = {n: t0 for n, t0 in sent.items() if n >= warm}
    unseen = sum(1 for n in sent if n not in seen)
    if unseen:
        print(
            f"  {unseen} events not visible {DRAIN_S:.0f} s after the last append "
            "or sight: counted at that lag (a lower bound)"
        )
    lags = [(seen.get(n, end) - t0) * 1000 for n, t0 in sorted(sent.items())]
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
        "achieved_rate": measured / driven,
        "seconds": driven,
        "p50_ms": percentile(lags, 0.5),
        "p99_ms": percentile(lags, 0.99),
        "max_ms": max(lags),
        "mean_ms": statistics.fmean(lags),
        "windows_5s_p50_p99_ms": windows,
        "client_cpu_share": client_cpu / driven,
        "relay_cpu_share": relay_cpu / driven,
        "consumer_cpu_share": consumer_cpu / driven,
        "driver_cpu_share": driver_cpu / driven,
        "poller_cpu_share": poller_cpu / driven,
        "server_cpu_share": None if server_cpu is None else server_cpu / driven,
        "polls": poller_extra["polls"],
        "drivers": drivers,
        # CPU per event appended, over the driving time (the pipeline: the relay's
        # process and the consumer's; PostgreSQL serves the driver's appends too).
        "pipeline_cpu_us_per_event": client_cpu / len(lags) * 1e6,
        "relay_cpu_us_per_event": relay_cpu / len(lags) * 1e6,
        "consumer_cpu_us_per_event": consumer_cpu / len(lags) * 1e6,
        "driver_cpu_us_per_event": driver_cpu / len(lags) * 1e6,
        "server_cpu_us_per_event": None
        if server_cpu is None
        else server_cpu / len(lags) * 1e6,
        "waits": waited,
    }
    print(
        f"  lag: {out['events']} events at {out['achieved_rate']:.0f}/s over "
        f"{driven:.1f} s: p50 {out['p50_ms']:.0f} ms, p99 {out['p99_ms']:.0f} ms, "
        f"max {out['max_ms']:.0f} ms",
        flush=True,
    )
    server_share = "-" if server_cpu is None else f"{server_cpu / driven:.2f}"
    print(
        f"  per 5 s window [p50, p99] ms: {windows}; CPU while driving: relay's "
        f"process (sessions) {relay_cpu / driven:.2f} core, consumer's process "
        f"(insights) {consumer_cpu / driven:.2f}, {drivers} driver "
        f"processes {driver_cpu / driven:.2f}, poller process {poller_cpu / driven:.2f}, "
        f"PostgreSQL {server_share} core; load average now "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    server_us = out["server_cpu_us_per_event"]
    print(
        f"  CPU per event: relay's process {out['relay_cpu_us_per_event']:.0f} us, "
        f"consumer's process {out['consumer_cpu_us_per_event']:.0f} us, drivers {out['driver_cpu_us_per_event']:.0f} us, PostgreSQL "
        f"{'-' if server_us is None else f'{server_us:.0f}'} us, Kafka broker "
        f"{'-' if broker_cpu is None else f'{broker_cpu / len(lags) * 1e6:.0f}'} us"
    )
    print("  where the pipeline waits (wall time of each awaited step, overlapping):")
    for step, w in waited.items():
        print(
            f"    {step:<28} {w['calls']:>6} calls {w['seconds']:>7.2f} s "
            f"({w['busy_share']:.0%} of the run) mean {w['mean_ms']:>7.2f} ms, "
            f"{w['items_per_call']:>6.1f} items a call"
        )
    return out


async def bench_apply(
    insights_url: str, events: int, batch: int, *, profile: bool = False
) -> dict[str, Any]:
    """The insights consumer alone: the lag run's events published to an in-process
    bus ``batch`` at a time, each batch applied (one transaction) before the next is
    published; the process CPU per event (``time.process_time``: robust under load,
    unlike the wall clock), optionally profiled."""
    from chassis.messaging import InProcessBus
    from chassis.messaging.transport import OutboundMessage, topic_for

    bus = InProcessBus()
    insights = build_insights(
        InsightsSettings(
            environment="test", database_url=insights_url, kafka_bootstrap_servers=None
        ),
        transport=bus,
    )
    topic = topic_for("sessions")
    # Every event already happened (as in the lag run): a moment in the future
    # would make each lag negative, which the lag histograms log as a warning.
    base = datetime.now(UTC) - timedelta(milliseconds=events)

    def message(n: int) -> OutboundMessage:
        stream, event = lag_event(n)
        env = Envelope(
            id=str(event.id),
            source="tandem/sessions",
            type=event.event_type,
            subject=stream,
            time=base + timedelta(milliseconds=n),
            data=event.data,
            tenant="acme",
            stream_type="CheckIns",
            stream_version=1,
        )
        return OutboundMessage.of(topic, env)

    messages = [message(n) for n in range(events)]
    async with running(insights) as runtime:
        consumer = runtime.consumer
        assert consumer is not None
        warm = [message(-n) for n in range(1, batch + 1)]
        await bus.publish(warm)
        while consumer.applied < len(warm):
            await asyncio.sleep(0.001)
        # Woken when the consumer counts a batch applied (no polling loop here,
        # whose own CPU would count).
        counted = consumer._count_applied_many
        caught_up = asyncio.Event()
        target = [0]

        def count(envelopes: Any) -> None:
            counted(envelopes)
            if consumer.applied >= target[0]:
                caught_up.set()

        consumer._count_applied_many = count  # type: ignore[method-assign]
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        target[0] = consumer.applied
        for start in range(0, events, batch):
            chunk = messages[start : start + batch]
            target[0] += len(chunk)
            caught_up.clear()
            await bus.publish(chunk)
            await caught_up.wait()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    out = {
        "events": events,
        "batch": batch,
        "cpu_us_per_event": cpu / events * 1e6,
        "wall_ms_per_batch": wall / (events / batch) * 1000,
    }
    print(
        f"  apply only: {events} events in batches of {batch}: "
        f"{out['cpu_us_per_event']:.0f} us CPU an event (process time), "
        f"{out['wall_ms_per_batch']:.1f} ms wall a batch; load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    return out


# -- main -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    started_all = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"Load average (1, 5, 15 min) before: {load_before}", flush=True)
    if args.apply_only:  # no history, no broker
        with postgres_server(durable=True) as server:
            for size in args.apply_batches:
                async with fresh_database(server, "bench_insights_apply") as url:
                    await bench_apply(url, args.events, size, profile=args.profile)
        return
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
        stats = (
            ServerStats(server.admin_url)
            if args.pg_stats and await enable_statement_stats(server)
            else None
        )
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
                await bench_lag(
                    s_url,
                    i_url,
                    bootstrap,
                    args.rate,
                    args.seconds,
                    meter,
                    profile=args.profile,
                    drivers=args.drivers,
                    stats=stats,
                )
            return
        # Each contender ROUNDS times, taking turns, each run on a database of its
        # own loaded the same way: the median of each is compared (one run of
        # either moved by a third between runs on this machine).
        rebuilds, limits = [], []
        for n in range(1, args.rounds + 1):
            print(f"round {n}/{args.rounds}: rebuild ...", flush=True)
            async with fresh_database(server, "bench_insights") as url:
                rebuilds.append(
                    await bench_rebuild(
                        url,
                        facts,
                        people,
                        meter,
                        breakdown=args.breakdown and n == 1,
                        profile=args.profile and n == 1,
                    )
                )
            print(f"round {n}/{args.rounds}: limit ...", flush=True)
            async with fresh_database(server, "bench_limit") as url:
                limits.append(await bench_limit(url, facts))
        rebuilds_by_rate = sorted(rebuilds, key=lambda r: r["runs"][0]["rate"])
        rb = rebuilds_by_rate[len(rebuilds) // 2]
        limit = sorted(limits, key=lambda r: r["rate"])[len(limits) // 2]
        if args.no_lag:
            print(
                f"rebuild {rb['runs'][0]['rate']:.0f} events/s, limit "
                f"{limit['rate']:.0f} rows/s (medians of {args.rounds}): ratio "
                f"{rb['runs'][0]['rate'] / limit['rate']:.3f}; load average "
                f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            return
        print("lag ...", flush=True)
        async with (
            fresh_database(server, "bench_sessions") as s_url,
            fresh_database(server, "bench_insights_lag") as i_url,
        ):
            lag = await bench_lag(
                s_url,
                i_url,
                bootstrap,
                args.rate,
                args.seconds,
                meter,
                profile=args.profile,
                drivers=args.drivers,
                stats=stats,
            )
    total_s = time.perf_counter() - started_all

    first = rb["runs"][0]
    rebuild_rate = first["rate"]
    ratio = rebuild_rate / limit["rate"]
    print(f"\n{'measurement':<44} {'events':>8} {'seconds':>8} {'events/s':>9}  notes")
    for r in rb["runs"]:  # the median round's
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
    rebuild_rounds = ", ".join(f"{r['runs'][0]['rate']:.0f}" for r in rebuilds)
    limit_rounds = ", ".join(f"{r['rate']:.0f}" for r in limits)
    print(f"rounds (events/s): rebuild {rebuild_rounds}; limit {limit_rounds}")
    print(f"ratio rebuild (first) / limit, medians of {args.rounds}: {ratio:.3f}")
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
        "rebuild_rounds_events_per_s": [round(r["runs"][0]["rate"]) for r in rebuilds],
        "limit_rounds_events_per_s": [round(r["rate"]) for r in limits],
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
        "lag_relay_cpu_cores": round(lag["relay_cpu_share"], 2),
        "lag_consumer_cpu_cores": round(lag["consumer_cpu_share"], 2),
        "lag_driver_cpu_cores": round(lag["driver_cpu_share"], 2),
        "lag_poller_cpu_cores": round(lag["poller_cpu_share"], 2),
        "lag_server_cpu_cores": None
        if lag["server_cpu_share"] is None
        else round(lag["server_cpu_share"], 2),
        "lag_drivers": lag["drivers"],
        "lag_pipeline_cpu_us_per_event": round(lag["pipeline_cpu_us_per_event"]),
        "lag_server_cpu_us_per_event": None
        if lag["server_cpu_us_per_event"] is None
        else round(lag["server_cpu_us_per_event"]),
        "lag_waits": {k: v["mean_ms"] for k, v in lag["waits"].items()},
        "history_events": len(facts),
        "history_fact_people": len(people),
        "history_tenants": tenants,
        "rebuild_seconds": round(first["seconds"], 2),
        "rebuild_client_cpu_s": round(first["client_cpu_s"], 2),
        "rebuild_client_child_cpu_s": round(first["client_child_cpu_s"], 2),
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
        "--drivers",
        type=int,
        default=DRIVERS,
        help="load processes appending in the lag run (each its own streams, "
        f"{WRITERS_PER_DRIVER} appends in flight; must divide {RELATIONSHIPS})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of the rebuild and of the limit, taking turns (medians compared)",
    )
    parser.add_argument(
        "--lag-only", action="store_true", help="only the lag run (diagnostics)"
    )
    parser.add_argument(
        "--apply-only",
        action="store_true",
        help="only the insights consumer's CPU per event (in-process bus; "
        "--events of the lag run's kind, in --apply-batches)",
    )
    parser.add_argument(
        "--apply-batches",
        type=int,
        nargs="+",
        default=[100, 1000],
        help="batch sizes of --apply-only",
    )
    parser.add_argument(
        "--no-lag", action="store_true", help="rebuild and limit only (diagnostics)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the rebuild, and the relay's and the consumer's processes "
        "during the lag run",
    )
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="load pg_stat_statements into the private server and print, for the "
        "lag run, each statement's calls, rows and time, commits and WAL per event",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="then rebuild again with every handler timed (time per part)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
