"""Event-store append and global-log read throughput: Tandem vs a peer vs raw INSERTs.

Run from the repository root::

    python -m bench.eventstore            # the benchmark (about a minute)
    python -m bench.eventstore --diagnose # plus variants that explain the costs

Contenders, each on its own fresh database of the SAME PostgreSQL server:

* ``tandem`` - ``chassis.eventstore`` (SQLAlchemy 2 async over asyncpg), N asyncio
  tasks, each appending one event per call (one transaction) to its own stream.
* ``peer`` - the ``eventsourcing`` library's ``PostgresApplicationRecorder``
  (psycopg 3), N OS threads, one ``StoredEvent`` per ``insert_events`` call. It keeps
  its notification log gap-free with an EXCLUSIVE table lock per insert.
* ``raw`` - a plain ``INSERT`` of the same columns into a bare table (identity
  primary key, no constraints, no event-store logic), one row per transaction, over
  the same driver stack as Tandem (SQLAlchemy async + asyncpg, ``text()``): the limit
  an event store on this stack can approach.

The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench._infra import (
    PgParams,
    durability,
    ensure_installed,
    fresh_database,
    pg_params,
    postgres_server,
)
from chassis.db import create_engine
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import event_store_for
from chassis.eventstore.base import dumps

PEER_REQUIREMENT = "eventsourcing[postgres]>=9.3"
WRITER_COUNTS = (1, 16)
WARMUP_PER_WRITER = 25
READ_PAGE = 1000
READ_PASSES = 3
STREAM_TYPE = "Bench"
EVENT_TYPE = "BenchHappened"
METADATA = EventMetadata(tenant="bench")
# What Tandem stores in the ``metadata`` column for METADATA (tenant has its own).
METADATA_JSON = dumps({k: v for k, v in METADATA.as_dict().items() if k != "tenant"})


def payload(writer: int, seq: int) -> dict[str, Any]:
    """A small, realistic event payload (about 200 bytes of JSON)."""
    return {
        "pairing_id": str(uuid.uuid4()),
        "mentor_id": f"mentor-{writer:04d}",
        "mentee_id": f"mentee-{seq:06d}",
        "programme": "Executive Leadership 2025",
        "proposed_by": "coordinator@example.org",
        "session_count": 6,
        "starts_on": "2025-03-01",
        "note": "Focus on board communication",
    }


@dataclass
class Run:
    contender: str
    writers: int
    appends: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.appends / self.seconds


# -- helpers -----------------------------------------------------------------------


async def run_tasks(
    writers: int, per_writer: int, append: Callable[[int, int], Awaitable[None]]
) -> float:
    """Run ``append(writer, i)`` for i in 0..per_writer-1 in N tasks; seconds taken."""

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await append(w, i)

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return time.perf_counter() - start


def run_threads(
    writers: int, per_writer: int, append: Callable[[int, int], None]
) -> float:
    """Run ``append(writer, i)`` in N OS threads released together; seconds taken."""
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        barrier.wait()
        try:
            for i in range(per_writer):
                append(w, i)
        except BaseException as exc:  # reported after join
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


# -- Tandem ------------------------------------------------------------------------


@dataclass
class TandemResult:
    run: Run
    read_rate: float | None = None
    check: str | None = None


async def bench_tandem(
    url: str,
    writers: int,
    per_writer: int,
    *,
    check_and_read: bool,
    engine_factory: Callable[[str, int], AsyncEngine] | None = None,
    label: str = "tandem",
) -> TandemResult:
    engine = (engine_factory or _tandem_engine)(url, writers)
    store = event_store_for(engine)
    await store.create_schema()
    appended: list[uuid.UUID] = []
    streams = {w: f"bench-{w}-{uuid.uuid4().hex[:8]}" for w in range(writers)}
    warm = {w: f"warm-{w}-{uuid.uuid4().hex[:8]}" for w in range(writers)}

    def make(stream_of: dict[int, str]) -> Callable[[int, int], Awaitable[None]]:
        async def append(w: int, i: int) -> None:
            event = NewEvent(EVENT_TYPE, payload(w, i))
            await store.append(stream_of[w], STREAM_TYPE, i, [event], METADATA)
            appended.append(event.id)

        return append

    try:
        await run_tasks(writers, WARMUP_PER_WRITER, make(warm))
        seconds = await run_tasks(writers, per_writer, make(streams))
        result = TandemResult(Run(label, writers, writers * per_writer, seconds))
        if check_and_read:
            result.check = await _check_log(store, appended, streams, per_writer)
            result.read_rate = await _tandem_read_rate(store, len(appended))
        return result
    finally:
        await engine.dispose()


def _tandem_engine(url: str, writers: int) -> AsyncEngine:
    return create_engine(url, pool_size=writers)


async def _read_all(store: Any) -> list[Any]:
    events: list[Any] = []
    position = LogPosition.START
    while True:
        page = await store.read_log(position, limit=READ_PAGE)
        if not page:
            return events
        events.extend(page)
        position = page[-1].position


async def _check_log(
    store: Any, appended: list[uuid.UUID], streams: dict[int, str], per_writer: int
) -> str:
    """Every appended event comes back from the global log exactly once, in order."""
    events = await _read_all(store)
    ids = [e.id for e in events]
    assert len(ids) == len(appended), f"log has {len(ids)}, appended {len(appended)}"
    assert len(set(ids)) == len(ids), "the log returned an event twice"
    assert set(ids) == set(appended), "the log misses appended events"
    last: dict[str, int] = {}
    for e in events:
        assert e.version == last.get(e.stream_id, 0) + 1, f"order broken in {e}"
        last[e.stream_id] = e.version
    assert all(last[s] == per_writer for s in streams.values())
    positions = [e.position for e in events]
    assert positions == sorted(positions), "log positions are not increasing"
    return (
        f"global log returned all {len(ids)} appended events exactly once "
        f"({len(set(ids))} distinct ids), each stream in version order"
    )


async def _tandem_read_rate(store: Any, expected: int) -> float:
    total = 0
    start = time.perf_counter()
    for _ in range(READ_PASSES):
        n = len(await _read_all(store))
        assert n == expected, (n, expected)
        total += n
    return total / (time.perf_counter() - start)


# -- the peer: eventsourcing ---------------------------------------------------------


@dataclass
class PeerResult:
    run: Run
    read_rate: float | None = None


def bench_peer(
    params: PgParams, writers: int, per_writer: int, *, read: bool
) -> PeerResult:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    datastore = PostgresDatastore(
        dbname=params.dbname,
        host=params.host,
        port=params.port,
        user=params.user,
        password=params.password,
        pool_size=writers,  # one pooled connection per writer thread
        max_overflow=0,
        pool_open_timeout=30,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        ids = {w: uuid.uuid4() for w in range(writers)}
        warm = {w: uuid.uuid4() for w in range(writers)}

        def make(id_of: dict[int, uuid.UUID]) -> Callable[[int, int], None]:
            def append(w: int, i: int) -> None:
                state = dumps(payload(w, i)).encode()
                recorder.insert_events(
                    [StoredEvent(id_of[w], i + 1, f"bench:{EVENT_TYPE}", state)]
                )

            return append

        run_threads(writers, WARMUP_PER_WRITER, make(warm))
        seconds = run_threads(writers, per_writer, make(ids))
        result = PeerResult(Run("peer", writers, writers * per_writer, seconds))
        if read:
            expected = writers * (per_writer + WARMUP_PER_WRITER)
            total = 0
            start = time.perf_counter()
            for _ in range(READ_PASSES):
                n, position = 0, 1
                while True:
                    page = recorder.select_notifications(position, limit=READ_PAGE)
                    if not page:
                        break
                    n += len(page)
                    position = page[-1].id + 1
                assert n == expected, (n, expected)
                total += n
            result.read_rate = total / (time.perf_counter() - start)
        return result
    finally:
        datastore.close()


# -- raw INSERT limit ------------------------------------------------------------------

RAW_TABLE = """
CREATE TABLE raw_events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id UUID NOT NULL,
    stream_id TEXT NOT NULL,
    stream_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1,
    tenant TEXT NOT NULL,
    payload JSONB NOT NULL,
    metadata JSONB NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

RAW_INSERT = text(
    """
    INSERT INTO raw_events (event_id, stream_id, stream_type, version, event_type,
                            schema_version, tenant, payload, metadata, event_time)
    VALUES (:event_id, :stream_id, :stream_type, :version, :event_type,
            :schema_version, :tenant, CAST(:payload AS jsonb),
            CAST(:metadata AS jsonb), :event_time)
    """
)


def raw_params(stream_id: str, w: int, i: int) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "stream_id": stream_id,
        "stream_type": STREAM_TYPE,
        "version": i + 1,
        "event_type": EVENT_TYPE,
        "schema_version": 1,
        "tenant": METADATA.tenant,
        "payload": dumps(payload(w, i)),
        "metadata": METADATA_JSON,
        "event_time": datetime.now(UTC),
    }


async def bench_raw(url: str, writers: int, per_writer: int) -> Run:
    engine = create_async_engine(url, pool_size=writers, max_overflow=writers)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(RAW_TABLE))
        streams = {w: f"bench-{w}-{uuid.uuid4().hex[:8]}" for w in range(writers)}
        warm = {w: f"warm-{w}-{uuid.uuid4().hex[:8]}" for w in range(writers)}

        def make(stream_of: dict[int, str]) -> Callable[[int, int], Awaitable[None]]:
            async def append(w: int, i: int) -> None:
                async with engine.begin() as conn:
                    await conn.execute(RAW_INSERT, raw_params(stream_of[w], w, i))

            return append

        await run_tasks(writers, WARMUP_PER_WRITER, make(warm))
        seconds = await run_tasks(writers, per_writer, make(streams))
        return Run("raw", writers, writers * per_writer, seconds)
    finally:
        await engine.dispose()


# -- diagnostics ---------------------------------------------------------------------


async def diagnose(server: Any, writers: int, per_writer: int) -> dict[str, float]:
    """Variants that split Tandem's cost into driver stack, pool and SQL."""
    from chassis.eventstore.postgres import APPEND, SCHEMA

    out: dict[str, float] = {}

    def note(key: str, run: Run, what: str) -> None:
        out[key] = round(run.rate, 1)
        print(f"  {what:<66} {run.rate:>8.0f} appends/s", flush=True)

    print(f"\nDiagnostics ({writers} writers x {per_writer} appends):")

    # 1. Tandem exactly as shipped, but without pool_pre_ping (a SELECT 1 round trip
    #    on every pool checkout).
    def no_ping(url: str, n: int) -> AsyncEngine:
        return create_async_engine(url, pool_size=n, max_overflow=n)

    async with fresh_database(server, "bench_diag") as url:
        r = await bench_tandem(
            url, writers, per_writer, check_and_read=False, engine_factory=no_ping
        )
    note("tandem_no_pre_ping", r.run, "Tandem store.append, engine without pre-ping")

    # 2. Raw INSERT over the same engine config as Tandem (with pre-ping).
    async with fresh_database(server, "bench_diag") as url:
        engine = create_engine(url, pool_size=writers)
        async with engine.begin() as conn:
            await conn.execute(text(RAW_TABLE))

        async def raw_ping(w: int, i: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(RAW_INSERT, raw_params(f"s{w}", w, i))

        await run_tasks(writers, WARMUP_PER_WRITER, raw_ping)
        secs = await run_tasks(writers, per_writer, raw_ping)
        await engine.dispose()
    note(
        "raw_with_pre_ping",
        Run("raw", writers, writers * per_writer, secs),
        "raw INSERT, chassis create_engine (pre-ping on)",
    )

    # 3/4. Tandem's APPEND statement at the driver level: the asyncpg connection under
    #    SQLAlchemy (get_raw_connection), one connection per writer, no pool per call.
    sql = APPEND.text
    names = [
        "stream_id",
        "stream_type",
        "expected",
        "tenant",
        "ids",
        "types",
        "schema_versions",
        "payloads",
        "metas",
        "times",
    ]
    for name in sorted(names, key=len, reverse=True):
        sql = sql.replace(f":{name}", f"${names.index(name) + 1}")

    def args(stream: str, w: int, i: int) -> list[Any]:
        e = NewEvent(EVENT_TYPE, payload(w, i))
        return [
            stream,
            STREAM_TYPE,
            i,
            METADATA.tenant,
            [e.id],
            [e.event_type],
            [e.schema_version],
            [dumps(e.data)],
            [METADATA_JSON],
            [e.time],
        ]

    for key, explicit_tx, what in (
        ("driver_append_tx", True, "APPEND on raw asyncpg conn, BEGIN/COMMIT"),
        ("driver_append_autocommit", False, "APPEND on raw asyncpg conn, one stmt"),
    ):
        async with fresh_database(server, "bench_diag") as url:
            engine = create_engine(url, pool_size=writers)
            async with engine.begin() as conn:
                for ddl in SCHEMA:
                    await conn.execute(text(ddl))
            sa_conns = [await engine.connect() for _ in range(writers)]
            raws = [(await c.get_raw_connection()).driver_connection for c in sa_conns]
            # Leave SQLAlchemy's implicit transaction on each wrapper connection.
            for c in sa_conns:
                await c.rollback()
            streams = {w: f"s-{w}-{uuid.uuid4().hex[:6]}" for w in range(writers)}

            def make(
                explicit: bool, stream_of: dict[int, str], raws: list[Any] = raws
            ) -> Callable[[int, int], Awaitable[None]]:
                async def append(w: int, i: int) -> None:
                    conn = raws[w]
                    if explicit:
                        async with conn.transaction():
                            rows = await conn.fetch(sql, *args(stream_of[w], w, i))
                    else:
                        rows = await conn.fetch(sql, *args(stream_of[w], w, i))
                    assert rows

                return append

            warm = {w: f"w-{w}-{uuid.uuid4().hex[:6]}" for w in range(writers)}
            await run_tasks(writers, WARMUP_PER_WRITER, make(explicit_tx, warm))
            secs = await run_tasks(writers, per_writer, make(explicit_tx, streams))
            for c in sa_conns:
                await c.close()
            await engine.dispose()
        note(key, Run("driver", writers, writers * per_writer, secs), what)

    # 5. Python-side cost of one append (client CPU per call), measured without I/O:
    #    build NewEvent + params + JSON.
    n = 20000
    start = time.perf_counter()
    for i in range(n):
        args("s", 0, i)
    out["client_param_build_us"] = round((time.perf_counter() - start) / n * 1e6, 1)
    print(
        f"  {'build NewEvent + APPEND params (pure Python, per append)':<66} "
        f"{out['client_param_build_us']:>8.1f} us"
    )
    return out


# -- main ----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    per_writer = {1: args.per_writer_1, 16: args.per_writer_16}
    ensure_installed("eventsourcing.postgres", PEER_REQUIREMENT)
    import eventsourcing

    peer_version = getattr(eventsourcing, "__version__", "?")
    with postgres_server(durable=True) as server:
        settings = await durability(server.admin_url)
        print(
            f"Server settings: {settings} -> "
            f"{'durable (production-like)' if settings.durable else 'NOT durable'}"
        )
        print(
            f"Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}; "
            f"peer: eventsourcing {peer_version}"
        )
        runs: list[Run] = []
        reads: dict[str, float] = {}
        check = ""
        for writers in WRITER_COUNTS:
            n = per_writer[writers]
            last = writers == max(WRITER_COUNTS)
            print(f"\n{writers} writer(s) x {n} appends each ...", flush=True)
            async with fresh_database(server, "bench_tandem") as url:
                t = await bench_tandem(url, writers, n, check_and_read=last)
            runs.append(t.run)
            _progress(t.run)
            if t.check:
                check = t.check
                reads["tandem"] = t.read_rate or 0.0
                print(f"  check: {check}")
            async with fresh_database(server, "bench_peer") as url:
                p = await asyncio.to_thread(
                    bench_peer, pg_params(url), writers, n, read=last
                )
            runs.append(p.run)
            _progress(p.run)
            if p.read_rate is not None:
                reads["peer"] = p.read_rate
            async with fresh_database(server, "bench_raw") as url:
                r = await bench_raw(url, writers, n)
            runs.append(r)
            _progress(r)

        diag: dict[str, float] = {}
        if args.diagnose:
            diag = await diagnose(server, 16, per_writer[16])

    rate = {(r.contender, r.writers): r.rate for r in runs}
    print("\nAppends (one event per transaction, each writer on its own stream)")
    print(
        f"{'contender':<10} {'writers':>7} {'appends':>8} {'seconds':>8} {'appends/s':>10}"
    )
    for r in runs:
        print(
            f"{r.contender:<10} {r.writers:>7} {r.appends:>8} "
            f"{r.seconds:>8.2f} {r.rate:>10.0f}"
        )
    print(
        f"\nGlobal log read (pages of {READ_PAGE}, {READ_PASSES} passes over the "
        f"{max(WRITER_COUNTS)}-writer database)"
    )
    print(f"  tandem  store.read_log           {reads['tandem']:>10.0f} events/s")
    print(f"  peer    select_notifications     {reads['peer']:>10.0f} events/s")
    ratio = rate["tandem", 16] / rate["peer", 16]
    ratio_limit = rate["tandem", 16] / rate["raw", 16]
    print(
        f"\nAt 16 writers: Tandem = {ratio:.2f}x the peer (goal >= 4), "
        f"{ratio_limit:.2f}x the raw-insert limit (goal >= 0.5)"
    )
    print(f"Gap-free check: {check}")
    result: dict[str, Any] = {
        f"{c}_appends_per_s_{w}": round(rate[c, w], 1)
        for c in ("tandem", "peer", "raw")
        for w in WRITER_COUNTS
    }
    result.update(
        ratio_16=round(ratio, 3),
        ratio_to_limit_16=round(ratio_limit, 3),
        tandem_read_events_per_s=round(reads["tandem"], 1),
        peer_read_events_per_s=round(reads["peer"], 1),
        durable=settings.durable,
        server_settings=str(settings),
        cpu_cores=os.cpu_count(),
        appends_per_writer={str(k): v for k, v in per_writer.items()},
        gap_free_check_passed=bool(check),
    )
    if diag:
        result["diagnostics_16"] = diag
    print(json.dumps(result))


def _progress(run: Run) -> None:
    print(
        f"  {run.contender:<7} {run.appends:>6} appends in {run.seconds:6.2f} s "
        f"= {run.rate:8.0f} appends/s",
        flush=True,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-writer-1", type=int, default=2000)
    parser.add_argument("--per-writer-16", type=int, default=400)
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also run variants that split Tandem's per-append cost",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
