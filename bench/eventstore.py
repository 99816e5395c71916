"""Event-store append and global-log read throughput: Tandem vs a peer vs raw INSERTs.

Run from the repository root::

    python -m bench.eventstore             # 3 rounds, medians (about 80 s, 2 cores)
    python -m bench.eventstore --diagnose  # plus variants that split Tandem's cost

Contenders, each on its own fresh database of the SAME PostgreSQL server:

* ``tandem`` - ``chassis.eventstore`` on ``chassis.db.create_engine`` (SQLAlchemy 2
  async over asyncpg): N asyncio tasks, each appending one event per call (one
  transaction) to its own stream with an increasing expected version.
* ``peer`` - the ``eventsourcing`` library's ``PostgresApplicationRecorder``
  (psycopg 3): N OS threads, one ``StoredEvent`` per ``insert_events`` call. It keeps
  its notification log gap-free with an EXCLUSIVE table lock held until commit.
* ``driver`` - the limit: the bare driver (asyncpg), one prepared ``INSERT`` of the
  same row into a bare table (identity primary key, no other constraint or index,
  no event-store logic), one autocommit statement per append, a connection per
  writer.
* ``sa_text`` - the same ``INSERT`` through SQLAlchemy ``text()`` in
  ``engine.begin()`` (a second line: the stack's own cost).
* ``driver_events`` (16 writers) - the bare driver's ``INSERT`` of the same row into
  the store's own ``events`` table (its indexes: stream and version, event id, log
  order), still without an append's guard: what the table alone leaves of the limit.
* ``tandem_batch`` / ``driver_batch`` - 100 events in one transaction: one
  ``store.append`` against the driver's ``executemany``.

Every contender warms up (``WARMUP_PER_WRITER`` appends per writer on other streams)
before it is timed; every configuration runs ``--rounds`` times, contenders taking
turns, and the median round is reported. After each 16-writer Tandem run the global
log is read back and checked: every appended event exactly once, streams in order. CPU time is measured for this process (client) and, when the
benchmark runs the server itself, for the server's processes; both are reported per
append. The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import threading
import time
import uuid
from collections import namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench._infra import (
    CpuMeter,
    PgParams,
    durability,
    ensure_installed,
    fresh_database,
    pg_params,
    postgres_server,
)
from chassis.db import create_engine
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.eventstore.base import dumps

PEER_REQUIREMENT = "eventsourcing[postgres]>=9.3"
WRITER_COUNTS = (1, 16)
WARMUP_PER_WRITER = 25
READ_PAGE = 1000
READ_PASSES = 3
STREAM_TYPE = "Bench"
EVENT_TYPE = "BenchHappened"
METADATA = EventMetadata(tenant="bench")
# What Tandem stores in its ``metadata`` column for METADATA (tenant has a column).
METADATA_JSON = dumps({k: v for k, v in METADATA.as_dict().items() if k != "tenant"})

Append = Callable[[int, int], Awaitable[None]]  # (writer, index) -> one append


def payload(writer: int, seq: int) -> dict[str, Any]:
    """A small, realistic event payload (about 270 bytes of compact JSON)."""
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
    client_cpu: float
    server_cpu: float | None

    @property
    def rate(self) -> float:
        return self.appends / self.seconds

    @property
    def client_us(self) -> float:
        return self.client_cpu / self.appends * 1e6

    @property
    def server_us(self) -> float | None:
        if self.server_cpu is None:
            return None
        return self.server_cpu / self.appends * 1e6


def streams(prefix: str, writers: int) -> dict[int, str]:
    tag = uuid.uuid4().hex[:8]
    return {w: f"{prefix}-{w}-{tag}" for w in range(writers)}


# -- drivers: N asyncio tasks or N threads, timed and CPU-metered -------------------


async def run_tasks(
    meter: CpuMeter, label: str, writers: int, per_writer: int, append: Append
) -> Run:
    """Run ``append(writer, i)``, i in 0..per_writer-1, in N concurrent tasks."""

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await append(w, i)

    snap = meter.snapshot()
    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    seconds = time.perf_counter() - start
    client, server = meter.since(snap)
    return Run(label, writers, writers * per_writer, seconds, client, server)


def run_threads(
    meter: CpuMeter,
    label: str,
    writers: int,
    per_writer: int,
    append: Callable[[int, int], None],
) -> Run:
    """Run ``append(writer, i)`` in N OS threads released together."""
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        barrier.wait()
        try:
            for i in range(per_writer):
                append(w, i)
        except BaseException as exc:  # re-raised after join
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    snap = meter.snapshot()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    client, server = meter.since(snap)
    if errors:
        raise errors[0]
    return Run(label, writers, writers * per_writer, seconds, client, server)


# -- Tandem ------------------------------------------------------------------------


def tandem_append(
    store: EventStore, stream_of: dict[int, str], appended: list[uuid.UUID]
) -> Append:
    async def append(w: int, i: int) -> None:
        event = NewEvent(EVENT_TYPE, payload(w, i))
        await store.append(stream_of[w], STREAM_TYPE, i, [event], METADATA)
        appended.append(event.id)

    return append


@dataclass
class TandemResult:
    run: Run
    read_rate: float | None = None
    check: str | None = None


async def bench_tandem(
    meter: CpuMeter, url: str, writers: int, per_writer: int, *, check_and_read: bool
) -> TandemResult:
    engine = create_engine(url, pool_size=writers)
    store = event_store_for(engine)
    try:
        await store.create_schema()
        appended: list[uuid.UUID] = []
        timed = streams("bench", writers)
        warm = tandem_append(store, streams("warm", writers), appended)
        await run_tasks(meter, "warmup", writers, WARMUP_PER_WRITER, warm)
        run = await run_tasks(
            meter, "tandem", writers, per_writer, tandem_append(store, timed, appended)
        )
        result = TandemResult(run)
        if check_and_read:
            result.check = await check_log(store, appended, timed, per_writer)
            result.read_rate = await tandem_read_rate(store, len(appended))
        return result
    finally:
        await engine.dispose()


async def read_all(store: EventStore) -> list[Any]:
    events: list[Any] = []
    position = LogPosition.START
    while True:
        page = await store.read_log(position, limit=READ_PAGE)
        if not page:
            return events
        events.extend(page)
        position = page[-1].position


async def check_log(
    store: EventStore,
    appended: list[uuid.UUID],
    timed: dict[int, str],
    per_writer: int,
) -> str:
    """The global log returns every appended event exactly once, streams in order."""
    events = await read_all(store)
    ids = [e.id for e in events]
    assert len(ids) == len(appended), f"log has {len(ids)}, appended {len(appended)}"
    assert len(set(ids)) == len(ids), "the log returned an event twice"
    assert set(ids) == set(appended), "the log misses appended events"
    last: dict[str, int] = {}
    for e in events:
        assert e.version == last.get(e.stream_id, 0) + 1, f"stream order broken: {e}"
        last[e.stream_id] = e.version
    assert all(last[s] == per_writer for s in timed.values())
    positions = [e.position for e in events]
    assert positions == sorted(positions), "log positions are not increasing"
    return (
        f"PASS - the global log returned all {len(ids)} appended events exactly "
        f"once ({len(set(ids))} distinct ids), every stream in version order"
    )


async def tandem_read_rate(store: EventStore, expected: int) -> float:
    total = 0
    start = time.perf_counter()
    for _ in range(READ_PASSES):
        n = len(await read_all(store))
        assert n == expected, (n, expected)
        total += n
    return total / (time.perf_counter() - start)


# -- the peer: eventsourcing ---------------------------------------------------------


@dataclass
class PeerResult:
    run: Run
    read_rate: float | None = None


def bench_peer(
    meter: CpuMeter, params: PgParams, writers: int, per_writer: int, *, read: bool
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
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()

        def make(ids: dict[int, uuid.UUID]) -> Callable[[int, int], None]:
            def append(w: int, i: int) -> None:
                state = dumps(payload(w, i)).encode()
                recorder.insert_events(
                    [StoredEvent(ids[w], i + 1, f"bench:{EVENT_TYPE}", state)]
                )

            return append

        warm = {w: uuid.uuid4() for w in range(writers)}
        run_threads(meter, "warmup", writers, WARMUP_PER_WRITER, make(warm))
        timed = {w: uuid.uuid4() for w in range(writers)}
        result = PeerResult(
            run_threads(meter, "peer", writers, per_writer, make(timed))
        )
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

RAW_INSERT_SQL = """
    INSERT INTO raw_events (event_id, stream_id, stream_type, version, event_type,
                            schema_version, tenant, payload, metadata, event_time)
    VALUES (:event_id, :stream_id, :stream_type, :version, :event_type,
            :schema_version, :tenant, CAST(:payload AS jsonb),
            CAST(:metadata AS jsonb), :event_time)
"""
RAW_INSERT = text(RAW_INSERT_SQL)
RAW_COLUMNS = [
    "event_id",
    "stream_id",
    "stream_type",
    "version",
    "event_type",
    "schema_version",
    "tenant",
    "payload",
    "metadata",
    "event_time",
]


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


def sa_raw_append(engine: AsyncEngine, stream_of: dict[int, str]) -> Append:
    async def append(w: int, i: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(RAW_INSERT, raw_params(stream_of[w], w, i))

    return append


async def bench_sa_text(
    meter: CpuMeter, url: str, writers: int, per_writer: int
) -> Run:
    """The raw INSERT through SQLAlchemy ``text()`` in ``engine.begin()`` (second line)."""
    engine = create_engine(url, pool_size=writers)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(RAW_TABLE))
        warm = sa_raw_append(engine, streams("warm", writers))
        await run_tasks(meter, "warmup", writers, WARMUP_PER_WRITER, warm)
        timed = sa_raw_append(engine, streams("bench", writers))
        return await run_tasks(meter, "sa_text", writers, per_writer, timed)
    finally:
        await engine.dispose()


async def driver_connect(url: str) -> Any:
    import asyncpg

    p = pg_params(url)
    return await asyncpg.connect(
        host=p.host, port=p.port, user=p.user, password=p.password, database=p.dbname
    )


@contextlib.asynccontextmanager
async def bare_driver(url: str, writers: int) -> AsyncIterator[list[Any]]:
    """One asyncpg connection per writer, each with the INSERT prepared on it."""
    conns = [await driver_connect(url) for _ in range(writers)]
    try:
        await conns[0].execute(RAW_TABLE)
        insert = positional(RAW_INSERT_SQL, RAW_COLUMNS)
        yield [(c, await c.prepare(insert)) for c in conns]
    finally:
        for c in conns:
            await c.close()


async def bench_driver(meter: CpuMeter, url: str, writers: int, per_writer: int) -> Run:
    """The limit: the bare driver, a prepared INSERT, one autocommit row per append."""
    async with bare_driver(url, writers) as prepared:

        def make(stream_of: dict[int, str]) -> Append:
            async def append(w: int, i: int) -> None:
                p = raw_params(stream_of[w], w, i)
                await prepared[w][1].fetch(*[p[c] for c in RAW_COLUMNS])

            return append

        await run_tasks(
            meter, "warmup", writers, WARMUP_PER_WRITER, make(streams("warm", writers))
        )
        return await run_tasks(
            meter, "driver", writers, per_writer, make(streams("bench", writers))
        )


async def bench_driver_events(
    meter: CpuMeter, url: str, writers: int, per_writer: int
) -> Run:
    """The bare driver's prepared INSERT of the same row into the store's own
    ``events`` table (its identity, transaction id and three indexes: stream and
    version, event id, log order), one autocommit row per append, with none of
    an append's guard: what the table alone leaves of the limit (a second line)."""
    engine = create_engine(url, pool_size=1)
    try:
        await event_store_for(engine).create_schema()
    finally:
        await engine.dispose()
    conns = [await driver_connect(url) for _ in range(writers)]
    try:
        insert = positional(RAW_INSERT_SQL.replace("raw_events", "events"), RAW_COLUMNS)
        prepared = [await c.prepare(insert) for c in conns]

        def make(stream_of: dict[int, str]) -> Append:
            async def append(w: int, i: int) -> None:
                p = raw_params(stream_of[w], w, i)
                await prepared[w].fetch(*[p[c] for c in RAW_COLUMNS])

            return append

        await run_tasks(
            meter, "warmup", writers, WARMUP_PER_WRITER, make(streams("warm", writers))
        )
        return await run_tasks(
            meter, "driver_events", writers, per_writer, make(streams("bench", writers))
        )
    finally:
        for c in conns:
            await c.close()


# -- batched appends: BATCH events in one transaction ---------------------------------

BATCH = 100
BATCH_WRITERS = 16


async def bench_tandem_batch(
    meter: CpuMeter, url: str, writers: int, batches: int
) -> tuple[Run, str]:
    """``store.append`` of BATCH events at once; Run counts events, not calls."""
    engine = create_engine(url, pool_size=writers)
    store = event_store_for(engine)
    try:
        await store.create_schema()
        appended: list[uuid.UUID] = []

        def make(stream_of: dict[int, str]) -> Append:
            async def append(w: int, b: int) -> None:
                events = [
                    NewEvent(EVENT_TYPE, payload(w, b * BATCH + k))
                    for k in range(BATCH)
                ]
                await store.append(
                    stream_of[w], STREAM_TYPE, b * BATCH, events, METADATA
                )
                appended.extend(e.id for e in events)

            return append

        await run_tasks(meter, "warmup", writers, 2, make(streams("warm", writers)))
        timed = streams("bench", writers)
        run = await run_tasks(meter, "tandem_batch", writers, batches, make(timed))
        check = await check_log(store, appended, timed, batches * BATCH)
        return _per_event(run), check
    finally:
        await engine.dispose()


async def bench_driver_batch(
    meter: CpuMeter, url: str, writers: int, batches: int
) -> Run:
    """The limit for a batch: ``executemany`` of the prepared INSERT in a transaction."""
    async with bare_driver(url, writers) as prepared:

        def make(stream_of: dict[int, str]) -> Append:
            async def append(w: int, b: int) -> None:
                rows = []
                for k in range(BATCH):
                    p = raw_params(stream_of[w], w, b * BATCH + k)
                    rows.append([p[c] for c in RAW_COLUMNS])
                conn, insert = prepared[w]
                async with conn.transaction():
                    await insert.executemany(rows)

            return append

        await run_tasks(meter, "warmup", writers, 2, make(streams("warm", writers)))
        run = await run_tasks(
            meter, "driver_batch", writers, batches, make(streams("bench", writers))
        )
        return _per_event(run)


def _per_event(run: Run) -> Run:
    return Run(
        run.contender,
        run.writers,
        run.appends * BATCH,
        run.seconds,
        run.client_cpu,
        run.server_cpu,
    )


# -- diagnostics: where does Tandem's time per append go? ------------------------------


def positional(sql: str, names: list[str]) -> str:
    """``:name`` parameters -> asyncpg's ``$n`` (longest names first)."""
    for name in sorted(names, key=len, reverse=True):
        sql = sql.replace(f":{name}", f"${names.index(name) + 1}")
    return sql


APPEND_NAMES = [
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


def append_args(
    stream: str, w: int, i: int, appended: list[uuid.UUID] | None = None
) -> list[Any]:
    """Tandem's APPEND parameters for one new event, in APPEND_NAMES order."""
    e = NewEvent(EVENT_TYPE, payload(w, i))
    if appended is not None:
        appended.append(e.id)
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


def no_ping_engine(url: str, writers: int, **kw: Any) -> AsyncEngine:
    """Same pool as ``chassis.db.create_engine`` but without ``pool_pre_ping``."""
    return create_async_engine(url, pool_size=writers, max_overflow=writers, **kw)


# make(streams, appended ids) -> append; the store reads the log back (None: raw).
Maker = Callable[[dict[int, str], list[uuid.UUID]], Append]
Setup = Callable[
    [str, int], contextlib.AbstractAsyncContextManager[tuple[Maker, EventStore | None]]
]


async def tandem_schema(engine: AsyncEngine) -> EventStore:
    store = event_store_for(engine)
    await store.create_schema()
    return store


async def raw_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(RAW_TABLE))


def variants() -> list[tuple[str, str, int, Setup]]:
    """(key, description, client-server round trips per append, setup)."""
    from chassis.eventstore.postgres import APPEND

    append_sql = positional(APPEND.text, APPEND_NAMES)
    raw_sql = positional(RAW_INSERT_SQL, RAW_COLUMNS)

    def tandem_on(factory: Callable[[str, int], AsyncEngine]) -> Setup:
        @contextlib.asynccontextmanager
        async def setup(url: str, writers: int) -> AsyncIterator[Any]:
            engine = factory(url, writers)
            store = await tandem_schema(engine)
            try:
                yield (lambda s, ids: tandem_append(store, s, ids)), store
            finally:
                await engine.dispose()

        return setup

    def tandem_autocommit_conn(factory: Callable[[str, int], AsyncEngine]) -> Setup:
        # What EventStore.append would do with this change: when the caller gives no
        # connection, run the single APPEND statement on an AUTOCOMMIT connection
        # (an implicit one-statement transaction) instead of BEGIN .. COMMIT.
        @contextlib.asynccontextmanager
        async def setup(url: str, writers: int) -> AsyncIterator[Any]:
            engine = factory(url, writers)
            store = await tandem_schema(engine)

            def make(stream_of: dict[int, str], ids: list[uuid.UUID]) -> Append:
                async def append(w: int, i: int) -> None:
                    event = NewEvent(EVENT_TYPE, payload(w, i))
                    async with engine.connect() as conn:
                        await conn.execution_options(isolation_level="AUTOCOMMIT")
                        await store.append(
                            stream_of[w],
                            STREAM_TYPE,
                            i,
                            [event],
                            METADATA,
                            connection=conn,
                        )
                    ids.append(event.id)

                return append

            try:
                yield make, store
            finally:
                await engine.dispose()

        return setup

    def sa_raw(factory: Callable[[str, int], AsyncEngine]) -> Setup:
        @contextlib.asynccontextmanager
        async def setup(url: str, writers: int) -> AsyncIterator[Any]:
            engine = factory(url, writers)
            await raw_schema(engine)
            try:
                yield (lambda s, _ids: sa_raw_append(engine, s)), None
            finally:
                await engine.dispose()

        return setup

    def driver_pooled(transaction: bool) -> Setup:
        # Keep SQLAlchemy's engine and pool, but run Tandem's APPEND on the asyncpg
        # connection underneath (``get_raw_connection``), one checkout per append.
        @contextlib.asynccontextmanager
        async def setup(url: str, writers: int) -> AsyncIterator[Any]:
            engine = no_ping_engine(url, writers)
            store = await tandem_schema(engine)

            def make(stream_of: dict[int, str], ids: list[uuid.UUID]) -> Append:
                async def append(w: int, i: int) -> None:
                    params = append_args(stream_of[w], w, i)
                    async with engine.connect() as sa_conn:
                        fairy = await sa_conn.get_raw_connection()
                        conn = fairy.driver_connection
                        if transaction:
                            async with conn.transaction():
                                rows = await conn.fetch(append_sql, *params)
                        else:
                            rows = await conn.fetch(append_sql, *params)
                    assert rows
                    ids.append(params[4][0])

                return append

            try:
                yield make, store
            finally:
                await engine.dispose()

        return setup

    def driver_dedicated(raw: bool) -> Setup:
        # One asyncpg connection per writer (taken from under SQLAlchemy and kept):
        # the driver-level ceiling for a one-statement append.
        @contextlib.asynccontextmanager
        async def setup(url: str, writers: int) -> AsyncIterator[Any]:
            engine = no_ping_engine(url, writers)
            store = await tandem_schema(engine)
            await raw_schema(engine)
            sa_conns = [await engine.connect() for _ in range(writers)]
            conns = [(await c.get_raw_connection()).driver_connection for c in sa_conns]

            def make(stream_of: dict[int, str], ids: list[uuid.UUID]) -> Append:
                async def append(w: int, i: int) -> None:
                    if raw:
                        p = raw_params(stream_of[w], w, i)
                        await conns[w].execute(raw_sql, *[p[c] for c in RAW_COLUMNS])
                    else:
                        args = append_args(stream_of[w], w, i, ids)
                        assert await conns[w].fetch(append_sql, *args)

                return append

            try:
                yield make, (None if raw else store)
            finally:
                for c in sa_conns:
                    await c.close()
                await engine.dispose()

        return setup

    return [
        (
            "tandem_shipped",
            "Tandem store.append, chassis create_engine (pre-ping on)",
            6,
            tandem_on(lambda u, n: create_engine(u, pool_size=n)),
        ),
        (
            "tandem_no_pre_ping",
            "Tandem store.append, same pool without pool_pre_ping",
            3,
            tandem_on(no_ping_engine),
        ),
        (
            "tandem_autocommit_pre_ping",
            "Tandem APPEND on an AUTOCOMMIT connection, pre-ping on",
            4,
            tandem_autocommit_conn(lambda u, n: create_engine(u, pool_size=n)),
        ),
        (
            "tandem_autocommit",
            "Tandem APPEND on an AUTOCOMMIT connection, no pre-ping",
            1,
            tandem_autocommit_conn(no_ping_engine),
        ),
        (
            "raw_sa_pre_ping",
            "raw INSERT via SQLAlchemy, chassis create_engine (pre-ping on)",
            6,
            sa_raw(lambda u, n: create_engine(u, pool_size=n)),
        ),
        (
            "raw_sa",
            "raw INSERT via SQLAlchemy, no pre-ping (= the raw contender)",
            3,
            sa_raw(no_ping_engine),
        ),
        (
            "raw_sa_autocommit",
            "raw INSERT via SQLAlchemy, AUTOCOMMIT engine, no pre-ping",
            1,
            sa_raw(lambda u, n: no_ping_engine(u, n, isolation_level="AUTOCOMMIT")),
        ),
        (
            "driver_pooled_tx",
            "APPEND on asyncpg conn from SA pool per append, BEGIN/COMMIT",
            3,
            driver_pooled(transaction=True),
        ),
        (
            "driver_pooled_autocommit",
            "APPEND on asyncpg conn from SA pool per append, one statement",
            1,
            driver_pooled(transaction=False),
        ),
        (
            "driver_dedicated_append",
            "APPEND on a dedicated asyncpg conn per writer, one statement",
            1,
            driver_dedicated(raw=False),
        ),
        (
            "driver_dedicated_raw",
            "raw INSERT on a dedicated asyncpg conn per writer, one statement",
            1,
            driver_dedicated(raw=True),
        ),
    ]


async def run_variant(
    meter: CpuMeter, server: Any, setup: Setup, writers: int, per_writer: int
) -> tuple[Run, bool | None]:
    """One timed run; for variants writing Tandem's table, the gap-free check too."""
    async with fresh_database(server, "bench_diag") as url:
        async with setup(url, writers) as (make, store):
            ids: list[uuid.UUID] = []
            warm = make(streams("warm", writers), ids)
            await run_tasks(meter, "warmup", writers, WARMUP_PER_WRITER, warm)
            timed_streams = streams("bench", writers)
            timed = make(timed_streams, ids)
            run = await run_tasks(meter, "variant", writers, per_writer, timed)
            checked = None
            if store is not None:
                await check_log(store, ids, timed_streams, per_writer)
                checked = True
            return run, checked


async def diagnose(
    meter: CpuMeter, server: Any, writers: int, per_writer: int, reps: int
) -> dict[str, Any]:
    """Each variant ``reps`` times, interleaved; the median run is reported."""
    table = variants()
    runs: dict[str, list[Run]] = {key: [] for key, *_ in table}
    checked: dict[str, bool | None] = {}
    print(
        f"\nDiagnostics: {len(table)} variants x {reps} rounds "
        f"({writers} writers x {per_writer} appends) ...",
        flush=True,
    )
    for _ in range(reps):
        for key, _desc, _rt, setup in table:
            run, checked[key] = await run_variant(
                meter, server, setup, writers, per_writer
            )
            runs[key].append(run)
    out: dict[str, Any] = {}
    print(
        f"\n{'variant (' + str(writers) + ' writers)':<66} {'trips':>5} "
        f"{'appends/s':>10} {'client us':>9} {'server us':>9} {'gap-free':>8}"
    )
    for key, desc, trips, _ in table:
        ordered = sorted(runs[key], key=lambda r: r.rate)
        med = ordered[len(ordered) // 2]
        rates = [round(r.rate) for r in runs[key]]
        server_us = med.server_us
        check = {True: "PASS", None: "n/a"}[checked[key]]
        print(
            f"{desc:<66} {trips:>5} {statistics.median(rates):>10.0f} "
            f"{med.client_us:>9.0f} {fmt_us(server_us):>9} {check:>8}"
        )
        out[key] = {
            "appends_per_s": round(statistics.median(rates), 1),
            "runs": rates,
            "round_trips": trips,
            "client_cpu_us": round(med.client_us, 1),
            "server_cpu_us": None if server_us is None else round(server_us, 1),
            "gap_free_check": check,
        }
    n = 20000
    start = time.perf_counter()
    for i in range(n):
        append_args("s", 0, i)
    build_us = (time.perf_counter() - start) / n * 1e6
    print(
        f"pure Python: NewEvent + APPEND parameters + JSON = {build_us:.1f} us/append"
    )
    out["param_build_us"] = round(build_us, 1)
    out["reads"] = await diagnose_reads(meter, server)
    return out


async def diagnose_reads(meter: CpuMeter, server: Any) -> dict[str, float]:
    """Split the global-log read: SQLAlchemy + mapping, driver + mapping, driver."""
    from chassis.eventstore.base import SELECT_COLUMNS, row_to_event
    from chassis.eventstore.postgres import APPEND, READ_LOG

    append_sql = positional(APPEND.text, APPEND_NAMES)
    read_sql = positional(READ_LOG.text, ["tx_id", "position", "limit"])
    # row_to_event reads attributes; asyncpg records are indexed by name.
    Row = namedtuple("Row", [c.strip() for c in SELECT_COLUMNS.split(",")])
    writers, per_writer = 16, 425
    out: dict[str, float] = {}
    async with fresh_database(server, "bench_diag") as url:
        engine = no_ping_engine(url, writers)
        store = await tandem_schema(engine)
        try:

            async def fill(w: int, i: int) -> None:
                async with engine.connect() as sa_conn:
                    conn = (await sa_conn.get_raw_connection()).driver_connection
                    await conn.fetch(append_sql, *append_args(f"r{w}", w, i))

            await run_tasks(meter, "fill", writers, per_writer, fill)
            expected = writers * per_writer

            async def via_store() -> int:
                return len(await read_all(store))

            async def via_driver(mapped: bool) -> int:
                n, pos = 0, LogPosition.START
                async with engine.connect() as sa_conn:
                    conn = (await sa_conn.get_raw_connection()).driver_connection
                    while True:
                        rows = await conn.fetch(
                            read_sql, pos.transaction, pos.sequence, READ_PAGE
                        )
                        if not rows:
                            return n
                        n += len(rows)
                        if mapped:
                            events = [row_to_event(Row(*r)) for r in rows]
                            pos = events[-1].position
                        else:
                            pos = LogPosition(rows[-1]["tx_id"], rows[-1]["position"])

            cases: list[tuple[str, str, Callable[[], Awaitable[int]]]] = [
                (
                    "store_read_log",
                    "store.read_log (SQLAlchemy + row_to_event)",
                    via_store,
                ),
                (
                    "driver_mapped",
                    "READ_LOG on the asyncpg conn + row_to_event",
                    lambda: via_driver(True),
                ),
                (
                    "driver_rows",
                    "READ_LOG on the asyncpg conn, rows only",
                    lambda: via_driver(False),
                ),
            ]
            print(f"\nGlobal-log read split ({expected} events, {READ_PASSES} passes):")
            for key, desc, fn in cases:
                await fn()  # warm up
                total, start = 0, time.perf_counter()
                for _ in range(READ_PASSES):
                    got = await fn()
                    assert got == expected, (got, expected)
                    total += got
                rate = total / (time.perf_counter() - start)
                out[key] = round(rate, 1)
                print(f"  {desc:<52} {rate:>10.0f} events/s")
        finally:
            await engine.dispose()
    return out


# -- main ----------------------------------------------------------------------------


def fmt_load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def fmt_us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


async def main(args: argparse.Namespace) -> None:
    per_writer = {1: args.per_writer_1, 16: args.per_writer_16}
    ensure_installed("eventsourcing.postgres", PEER_REQUIREMENT)
    peer_version = importlib.metadata.version("eventsourcing")
    import psycopg

    psycopg_impl = psycopg.pq.__impl__
    with postgres_server(durable=True) as server:
        settings = await durability(server.admin_url)
        meter = CpuMeter(server)
        print(
            f"Server settings: {settings} -> "
            f"{'durable (production-like)' if settings.durable else 'NOT durable'}"
        )
        print(
            f"Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"SQLAlchemy {importlib.metadata.version('sqlalchemy')} + asyncpg "
            f"{importlib.metadata.version('asyncpg')}; peer: "
            f"eventsourcing {peer_version} + psycopg "
            f"{importlib.metadata.version('psycopg')} ({psycopg_impl} implementation); "
            f"event loop: {type(asyncio.get_running_loop()).__module__}"
        )
        runs: dict[tuple[str, int], list[Run]] = {}
        reads: dict[str, list[float]] = {"tandem": [], "peer": []}
        checks: list[str] = []
        batch_checks: list[str] = []
        load_before = os.getloadavg()
        print(f"Load average before: {fmt_load(load_before)}", flush=True)
        for round_no in range(1, args.rounds + 1):
            for writers in WRITER_COUNTS:
                n = per_writer[writers]
                last = writers == max(WRITER_COUNTS)
                print(
                    f"\nround {round_no}/{args.rounds}: {writers} writer(s) x {n} "
                    "appends each ...",
                    flush=True,
                )
                async with fresh_database(server, "bench_tandem") as url:
                    t = await bench_tandem(meter, url, writers, n, check_and_read=last)
                runs.setdefault(("tandem", writers), []).append(t.run)
                progress(t.run)
                if t.check:
                    checks.append(t.check)
                    reads["tandem"].append(t.read_rate or 0.0)
                    print(f"  gap-free check after the {writers}-writer run: {t.check}")
                async with fresh_database(server, "bench_peer") as url:
                    p = await asyncio.to_thread(
                        bench_peer, meter, pg_params(url), writers, n, read=last
                    )
                runs.setdefault(("peer", writers), []).append(p.run)
                progress(p.run)
                if p.read_rate is not None:
                    reads["peer"].append(p.read_rate)
                async with fresh_database(server, "bench_driver") as url:
                    r = await bench_driver(meter, url, writers, n)
                runs.setdefault(("driver", writers), []).append(r)
                progress(r)
                async with fresh_database(server, "bench_sa_text") as url:
                    r = await bench_sa_text(meter, url, writers, n)
                runs.setdefault(("sa_text", writers), []).append(r)
                progress(r)
                if last:
                    async with fresh_database(server, "bench_driver_events") as url:
                        r = await bench_driver_events(meter, url, writers, n)
                    runs.setdefault(("driver_events", writers), []).append(r)
                    progress(r)
            print(
                f"round {round_no}/{args.rounds}: batches of {BATCH} events, "
                f"{BATCH_WRITERS} writers x {args.batches} batches each ...",
                flush=True,
            )
            async with fresh_database(server, "bench_tandem_batch") as url:
                tb, check = await bench_tandem_batch(
                    meter, url, BATCH_WRITERS, args.batches
                )
            runs.setdefault(("tandem_batch", BATCH_WRITERS), []).append(tb)
            progress(tb)
            batch_checks.append(check)
            async with fresh_database(server, "bench_driver_batch") as url:
                r = await bench_driver_batch(meter, url, BATCH_WRITERS, args.batches)
            runs.setdefault(("driver_batch", BATCH_WRITERS), []).append(r)
            progress(r)

        diag: dict[str, Any] = {}
        if args.diagnose:
            n = args.diagnose_writers
            diag = await diagnose(
                meter, server, n, per_writer.get(n, 6400 // n), args.rounds
            )

    median = {
        key: sorted(rs, key=lambda r: r.rate)[len(rs) // 2] for key, rs in runs.items()
    }
    rate = {key: run.rate for key, run in median.items()}
    read = {who: statistics.median(rates) for who, rates in reads.items()}
    print(
        "\nAppends (one event per transaction, each writer on its own stream); "
        f"median of {args.rounds} round(s)"
    )
    print(
        f"{'contender':<10} {'writers':>7} {'appends':>8} {'appends/s':>10} "
        f"{'client CPU us':>13} {'server CPU us':>13}   all rounds (appends/s)"
    )
    rows = [
        (c, w) for w in WRITER_COUNTS for c in ("tandem", "peer", "driver", "sa_text")
    ]
    rows.insert(rows.index(("sa_text", 16)) + 1, ("driver_events", 16))
    rows += [("tandem_batch", BATCH_WRITERS), ("driver_batch", BATCH_WRITERS)]
    for contender, writers in rows:
        if True:
            r = median[contender, writers]
            every = ", ".join(f"{x.rate:.0f}" for x in runs[contender, writers])
            print(
                f"{contender:<10} {writers:>7} {r.appends:>8} {r.rate:>10.0f} "
                f"{r.client_us:>13.0f} {fmt_us(r.server_us):>13}   {every}"
            )
    print(
        "(CPU columns: CPU time per append of this process / of the server; "
        f"batch rows count events, {BATCH} per transaction)"
    )
    print(
        f"\nGlobal log read (pages of {READ_PAGE}, {READ_PASSES} passes over the "
        f"{max(WRITER_COUNTS)}-writer database; median of {args.rounds})"
    )
    print(f"  tandem  store.read_log          {read['tandem']:>10.0f} events/s")
    print(f"  peer    select_notifications    {read['peer']:>10.0f} events/s")
    ratio = rate["tandem", 16] / rate["peer", 16]
    ratio_limit = rate["tandem", 16] / rate["driver", 16]
    ratio_sa = rate["tandem", 16] / rate["sa_text", 16]
    ratio_table = rate["driver_events", 16] / rate["driver", 16]
    ratio_to_table = rate["tandem", 16] / rate["driver_events", 16]
    ratio_batch = (
        rate["tandem_batch", BATCH_WRITERS] / rate["driver_batch", BATCH_WRITERS]
    )
    load_after = os.getloadavg()
    print(
        f"\nAt 16 writers: Tandem = {ratio:.2f}x the peer (goal >= 8), "
        f"{ratio_limit:.2f}x the bare driver (the limit; goal >= 0.7), "
        f"{ratio_sa:.2f}x the SQLAlchemy text() INSERT"
    )
    print(
        f"The same INSERT into the store's own table (its indexes; no append guard, "
        f"no store code) reaches {ratio_table:.2f}x the bare driver; Tandem = "
        f"{ratio_to_table:.2f}x that"
    )
    print(
        f"Batches of {BATCH} at {BATCH_WRITERS} writers: Tandem = {ratio_batch:.2f}x "
        "the bare driver's executemany (goal >= 0.5)"
    )
    passed = len(checks) == args.rounds and len(batch_checks) == args.rounds
    print(f"Gap-free check: {len(checks)}/{args.rounds} rounds - {checks[-1]}")
    print(f"Gap-free check (batches): {len(batch_checks)}/{args.rounds} rounds")
    print(
        f"Load average (1, 5, 15 min): before {fmt_load(load_before)}, after "
        f"{fmt_load(load_after)} on {os.cpu_count()} cores"
    )
    print(f"Durable commits (fsync + synchronous_commit on): {settings.durable}")
    result: dict[str, Any] = {
        f"{c}_appends_per_s_{w}": round(rate[c, w], 1)
        for c in ("tandem", "peer", "driver", "sa_text")
        for w in WRITER_COUNTS
    }
    result.update(
        ratio_16=round(ratio, 3),
        ratio_to_limit_16=round(ratio_limit, 3),
        ratio_to_sa_text_16=round(ratio_sa, 3),
        driver_events_appends_per_s_16=round(rate["driver_events", 16], 1),
        ratio_table_to_limit_16=round(ratio_table, 3),
        ratio_to_table_16=round(ratio_to_table, 3),
        tandem_batch_events_per_s=round(rate["tandem_batch", BATCH_WRITERS], 1),
        driver_batch_events_per_s=round(rate["driver_batch", BATCH_WRITERS], 1),
        ratio_batch_to_limit=round(ratio_batch, 3),
        batch_events=BATCH,
        batch_writers=BATCH_WRITERS,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in load_after],
        tandem_read_events_per_s=round(read["tandem"], 1),
        peer_read_events_per_s=round(read["peer"], 1),
        durable=settings.durable,
        server_settings=str(settings),
        gap_free_check_passed=passed,
        cpu_cores=os.cpu_count(),
        rounds=args.rounds,
        appends_per_writer={str(k): v for k, v in per_writer.items()},
        all_rounds_appends_per_s={
            f"{c}_{w}": [round(x.rate, 1) for x in rs] for (c, w), rs in runs.items()
        },
        cpu_us_per_append={
            f"{c}_{w}": {
                "client": round(r.client_us, 1),
                "server": None if r.server_us is None else round(r.server_us, 1),
            }
            for (c, w), r in median.items()
        },
    )
    result.update(
        peer_psycopg_impl=psycopg_impl,
        event_loop=type(asyncio.get_running_loop()).__module__,
    )
    if diag:
        result[f"diagnostics_{args.diagnose_writers}"] = diag
    print(json.dumps(result))


def progress(run: Run) -> None:
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
        "--batches", type=int, default=20, help=f"batches of {BATCH} per writer"
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also run variants that split Tandem's per-append cost",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of every configuration (and diagnostic variant); medians win",
    )
    parser.add_argument(
        "--diagnose-writers", type=int, default=16, help="writers in the diagnostics"
    )
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run the asyncio contenders on uvloop (what uvicorn uses)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
