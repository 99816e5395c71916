"""The event store on PostgreSQL (SQLAlchemy 2 async over asyncpg).

Gap-free global log without serialising writers
-----------------------------------------------
Positions come from an identity column, assigned at insert time, so concurrent
transactions commit out of position order: a reader that simply remembered "the highest
position I saw" would pass over an event whose transaction committed after a later one.
The usual cure is a table lock that serialises every writer (what the ``eventsourcing``
library does); it caps throughput at one writer.

Instead every row records the id of the transaction that wrote it (``tx_id``, from
``pg_current_xact_id()``), and the log is read in ``(tx_id, position)`` order, but only
up to the oldest transaction still running (the ``xmin`` of the reader's own snapshot).
Every transaction below that horizon has finished, so its rows are either all visible or
rolled back, and any future row gets a larger ``tx_id``: nothing can ever appear behind
a reader's position. A transaction held open delays readers; it never makes them skip.

Waking the relay
----------------
A relay with nothing to publish sleeps holding the advisory lock ``RELAY_ASLEEP_KEY``
(exclusive) while it listens on ``WAKE_CHANNEL``. Every append tries to take that
lock shared for its transaction: it gets it while the relay is awake (and then
notifies nobody), and fails while the relay sleeps or is about to, and then sends a
notification, delivered when its transaction commits. The relay takes the lock only
after every writer holding it shared has committed, and reads the log once more before
it sleeps, so an append that did not notify is never left behind. A notification
makes PostgreSQL serialise the commits that send one, so writers send it only while
the relay sleeps: under load the relay is busy and appends stay silent (coalesced).

Reading back what this process appended
----------------------------------------
The relay runs in the process that appends (one per service), and it reads the log
right after a command committed: an HRIS import appends a thousand events a chunk and
the relay would read every one back, payload and metadata decoded again from JSON. So
the store keeps the events it appended lately (``RECENT_EVENTS``, by log position,
each until it is read once) and, while it holds any, reads the log in two steps: the positions first (the same
statement, the same horizon, from the log-order index alone), then, in one more
statement by position, only the rows it does not hold. An event held is the one the
append recorded - the same id, stream, version, type, data, metadata and time; its
position, ``(tx_id, position)`` as the insert returned it, is never given to another
row, even when that transaction rolled back (an identity and a transaction id are
never reused), so an event of a rolled-back append can never be read, from memory or
otherwise. Which events the log holds and in what order is decided by the database
alone, as before; the memory only spares the decoding. Events are immutable facts:
nobody changes an event's data once it is appended.

Per-stream order survives the (tx_id, position) ordering because an append also checks
that the stream's head was written by a transaction no newer than its own. That only
fails when a transaction took its id long before it appended to a stream that someone
else has appended to meanwhile: it gets a ``ConcurrencyConflict`` and retries fresh.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.errors import ConcurrencyConflict, Conflict
from chassis.events import EventMetadata, LogPosition, NewEvent, RecordedEvent
from chassis.eventstore.base import (
    SELECT_COLUMNS,
    EventStore,
    conflict_from_head,
    row_to_event,
)
from chassis.tables import create, events, log_checkpoints

# The relay's wake-up call (see "Waking the relay" above); both are per database.
WAKE_CHANNEL = "tandem_events"
RELAY_ASLEEP_KEY = 0x7A6E_6465_6D5F_7A7A  # a constant advisory-lock key

APPEND_SQL = f"""
    WITH head AS (
        SELECT version, tenant, tx_id FROM events
        WHERE stream_id = :stream_id ORDER BY version DESC LIMIT 1
    ), me AS (
        SELECT pg_current_xact_id()::text::bigint AS tx,
               CASE WHEN pg_try_advisory_xact_lock_shared({RELAY_ASLEEP_KEY}) THEN 0
                    ELSE (SELECT 1 FROM pg_notify('{WAKE_CHANNEL}', '')) END AS woke
    )
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type,
                        schema_version, tenant, payload, metadata, event_time, tx_id)
    SELECT e.event_id, :stream_id, :stream_type, :expected + e.ord, e.event_type,
           e.schema_version, :tenant, e.payload::jsonb, e.metadata::jsonb,
           e.event_time, me.tx
    FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]),
                CAST(:schema_versions AS int[]), CAST(:payloads AS text[]),
                CAST(:metas AS text[]), CAST(:times AS timestamptz[]))
         WITH ORDINALITY AS e(event_id, event_type, schema_version, payload,
                              metadata, event_time, ord),
         me
    WHERE coalesce((SELECT version FROM head), 0) = :expected
      AND coalesce((SELECT tenant FROM head), :tenant) = :tenant
      AND coalesce((SELECT tx_id FROM head), 0) <= me.tx
      AND me.woke IS NOT NULL
    ORDER BY e.ord
    RETURNING position, tx_id, version
"""
APPEND = text(APPEND_SQL)

# The same for exactly one event (most appends): plain parameters instead of arrays
# to encode and ``unnest``, less work for the client and the server alike.
APPEND_ONE_SQL = f"""
    WITH head AS (
        SELECT version, tenant, tx_id FROM events
        WHERE stream_id = :stream_id ORDER BY version DESC LIMIT 1
    ), me AS (
        SELECT pg_current_xact_id()::text::bigint AS tx,
               CASE WHEN pg_try_advisory_xact_lock_shared({RELAY_ASLEEP_KEY}) THEN 0
                    ELSE (SELECT 1 FROM pg_notify('{WAKE_CHANNEL}', '')) END AS woke
    )
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type,
                        schema_version, tenant, payload, metadata, event_time, tx_id)
    SELECT CAST(:event_id AS uuid), :stream_id, :stream_type, :expected + 1,
           :event_type, CAST(:schema_version AS int), :tenant,
           CAST(:payload AS text)::jsonb, CAST(:meta AS text)::jsonb,
           CAST(:event_time AS timestamptz), me.tx
    FROM me
    WHERE coalesce((SELECT version FROM head), 0) = :expected
      AND coalesce((SELECT tenant FROM head), :tenant) = :tenant
      AND coalesce((SELECT tx_id FROM head), 0) <= me.tx
      AND me.woke IS NOT NULL
    RETURNING position, tx_id, version
"""

HEAD_SQL = (
    "SELECT version, tenant, tx_id FROM events WHERE stream_id = :stream_id "
    "ORDER BY version DESC LIMIT 1"
)
HEAD = text(HEAD_SQL)


READ_LOG_SQL = f"""
    SELECT {SELECT_COLUMNS} FROM events
    WHERE (tx_id, position) > (:tx_id, :position)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ORDER BY tx_id, position
    LIMIT :limit
"""
READ_LOG = text(READ_LOG_SQL)


def positional(sql: str) -> tuple[str, list[str]]:
    """Turn ``:name`` parameters into asyncpg's ``$n`` (same name, same number)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)\b", number, sql), names


# A log follower's checkpoint, in one autocommit statement whose commit does not wait
# for the WAL flush (``synchronous_commit`` off for this transaction only): it is
# visible to every session at once (a relay taking over reads it), and a server
# crash can only take it back to an earlier position, from which the follower
# publishes again what consumers already dedupe (at least once). The events
# themselves stay as durable as their appends made them.
SAVE_CHECKPOINT_SQL = """
    INSERT INTO log_checkpoints (name, tx_id, position)
    SELECT $1, $2, $3
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quick_commit
    ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id,
        position = excluded.position, updated_at = CURRENT_TIMESTAMP
"""

# The log's next positions only (``READ_LOG``'s rows, from the log-order index), and
# the rows at some of them: the two steps of a read while the store holds events it
# appended (see "Reading back what this process appended").
READ_LOG_POSITIONS_SQL = """
    SELECT tx_id, position FROM events
    WHERE (tx_id, position) > ($1, $2)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ORDER BY tx_id, position
    LIMIT $3
"""
READ_AT_SQL = f"SELECT {SELECT_COLUMNS} FROM events WHERE position = ANY($1::bigint[])"
# How many appended events the store holds for reading back (a few chunks of an
# import; the relay reads them within milliseconds of their commit).
RECENT_EVENTS = 5_000

DRIVER_APPEND, APPEND_PARAMS = positional(APPEND_SQL)
DRIVER_APPEND_ONE, APPEND_ONE_PARAMS = positional(APPEND_ONE_SQL)
DRIVER_HEAD, _ = positional(HEAD_SQL)
DRIVER_READ_LOG, READ_LOG_PARAMS = positional(READ_LOG_SQL)


# Connection options of SQLAlchemy's asyncpg dialect that asyncpg does not take.
_DIALECT_ONLY = ("async_fallback", "async_creator_fn", "prepared_statement_name_func")


class DriverPool:
    """Bare asyncpg connections for the store's one-statement appends and log reads.

    The hot path needs neither SQLAlchemy's pool nor its connection objects: taking
    a connection here is a list pop, giving it back a list push (no reset query: the
    statements are single autocommit ones, so nothing is left open). The connections
    come from the engine's URL, as SQLAlchemy's dialect reads it; there are at most
    ``size``, opened on demand, and closed when the engine is disposed.
    """

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        _, params = engine.dialect.create_connect_args(engine.url)
        params = dict(params)
        for key in _DIALECT_ONLY:
            params.pop(key, None)
        cache = params.pop("prepared_statement_cache_size", None)
        if cache is not None:
            params["statement_cache_size"] = int(cache)
        self._params = params
        self._size = size
        self._idle: list[asyncpg.Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        event.listen(engine.sync_engine, "engine_disposed", self._disposed)

    def _for_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # Connections belong to the loop they were opened on: start afresh.
            self._idle, self._loop = [], loop
            self._slots = asyncio.Semaphore(self._size)
        return self._slots

    async def acquire(self) -> asyncpg.Connection:
        slots = self._for_this_loop()
        await slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
            return await asyncpg.connect(**self._params)
        except BaseException:
            slots.release()
            raise

    def release(self, conn: asyncpg.Connection, *, reusable: bool = True) -> None:
        """Give ``conn`` back; one whose state is unknown is closed, not reused."""
        if reusable and not conn.is_closed() and not conn.is_in_transaction():
            self._idle.append(conn)
        else:
            conn.terminate()
        if self._slots is not None and self._loop is asyncio.get_running_loop():
            self._slots.release()

    def _disposed(self, _engine: Any) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.terminate()


class PostgresEventStore(EventStore):
    def __init__(self, engine: AsyncEngine, **options: Any) -> None:
        super().__init__(engine, **options)
        size = getattr(engine.pool, "size", lambda: 5)()
        self.driver = DriverPool(engine, size)
        # The events appended lately by position, oldest first (``remember``).
        # (An OrderedDict: letting the oldest go is O(1); a dict would scan past
        # the slots of every event let go before, at each append.)
        self._recent: OrderedDict[int, RecordedEvent] = OrderedDict()

    def remember(self, recorded: Sequence[RecordedEvent]) -> None:
        """Hold events this store just appended, to be read back from memory once
        (see "Reading back what this process appended"); the oldest are let go past
        ``RECENT_EVENTS``. Whether their transaction commits does not matter."""
        recent = self._recent
        for one in recorded:
            # A time given in another zone (or none) reads back in UTC: read it back.
            if one.time.tzinfo is UTC:
                recent[one.position.sequence] = one
        while len(recent) > RECENT_EVENTS:
            recent.popitem(last=False)

    async def create_schema(self) -> None:
        await create(self.engine, events, log_checkpoints)

    async def _append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        params = _append_params(
            stream_id, stream_type, expected_version, events, metadata, self
        )
        try:
            rows = (await conn.execute(APPEND, params)).all()
        except IntegrityError as exc:
            raise _conflict(exc.orig, stream_id, expected_version) from exc
        if not rows:
            head = (await conn.execute(HEAD, {"stream_id": stream_id})).first()
            raise _refusal(stream_id, expected_version, metadata, head)
        recorded = _recorded(stream_id, stream_type, events, metadata, rows)
        self.remember(recorded)
        return recorded

    async def _append_standalone(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        # The hot path: one autocommit statement on the pooled driver connection. The
        # statement is its own transaction, so it is as atomic as BEGIN/…/COMMIT and
        # costs one round trip instead of three (measured in bench/README.md).
        if len(events) == 1:
            sql, args = (
                DRIVER_APPEND_ONE,
                _append_one_args(
                    stream_id, stream_type, expected_version, events[0], metadata, self
                ),
            )
        else:
            sql, args = (
                DRIVER_APPEND,
                _append_args(
                    stream_id, stream_type, expected_version, events, metadata, self
                ),
            )
        driver = await self.driver.acquire()
        reusable = False  # state unknown after anything but a server's answer
        try:
            rows = await driver.fetch(sql, *args)
            if not rows:
                head = await driver.fetchrow(DRIVER_HEAD, stream_id)
                reusable = True
                raise _refusal(stream_id, expected_version, metadata, head)
            reusable = True
        except asyncpg.UniqueViolationError as exc:
            reusable = True
            raise _conflict(exc, stream_id, expected_version) from exc
        except asyncpg.PostgresError:
            reusable = True
            raise
        finally:
            self.driver.release(driver, reusable=reusable)
        recorded = _recorded(stream_id, stream_type, events, metadata, rows)
        self.remember(recorded)
        return recorded

    async def read_log(
        self, after: LogPosition = LogPosition.START, limit: int = 500
    ) -> list[RecordedEvent]:
        params = {
            "tx_id": after.transaction,
            "position": after.sequence,
            "limit": limit,
        }
        driver = await self.driver.acquire()
        reusable = False
        try:
            if self._recent:
                held = await self._read_held(driver, after, limit)
                if held is not None:
                    reusable = True
                    return held
            rows = await driver.fetch(
                DRIVER_READ_LOG, *[params[n] for n in READ_LOG_PARAMS]
            )
            reusable = True
        except asyncpg.PostgresError:
            reusable = True
            raise
        finally:
            self.driver.release(driver, reusable=reusable)
        return [row_to_event(r) for r in rows]

    async def _read_held(
        self, driver: asyncpg.Connection, after: LogPosition, limit: int
    ) -> list[RecordedEvent] | None:
        """``read_log`` while the store holds events it appended: the positions,
        then the rows of those it does not hold (one statement more, only when
        some are missing). None when a row went missing in between (the caller
        reads the log in one statement instead)."""
        positions = await driver.fetch(
            READ_LOG_POSITIONS_SQL, after.transaction, after.sequence, limit
        )
        recent = self._recent
        found: list[RecordedEvent | None] = []
        missing: list[int] = []
        for tx_id, sequence in positions:
            one = recent.pop(sequence, None)  # read back once, then let go
            if one is None or one.position.transaction != tx_id:
                one = None
                missing.append(sequence)
            found.append(one)
        if not missing:
            return [one for one in found if one is not None]  # all of them
        rows = {r["position"]: r for r in await driver.fetch(READ_AT_SQL, missing)}
        if len(rows) != len(missing):
            return None
        return [
            one if one is not None else row_to_event(rows[sequence])
            for one, (_, sequence) in zip(found, positions, strict=True)
        ]

    async def save_checkpoint(self, name: str, position: LogPosition) -> None:
        """Record a log follower's position: one round trip, no flush awaited
        (``SAVE_CHECKPOINT_SQL``)."""
        driver = await self.driver.acquire()
        reusable = False
        try:
            await driver.execute(
                SAVE_CHECKPOINT_SQL, name, position.transaction, position.sequence
            )
            reusable = True
        except asyncpg.PostgresError:
            reusable = True
            raise
        finally:
            self.driver.release(driver, reusable=reusable)


def _mapping(row: Any) -> Any:
    """Column access by name for SQLAlchemy rows and driver records alike."""
    return row._mapping if hasattr(row, "_mapping") else row


def _append_args(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    metadata: EventMetadata,
    store: EventStore,
) -> list[Any]:
    """``_append_params`` in the driver statement's ``$n`` order."""
    params = _append_params(
        stream_id, stream_type, expected_version, events, metadata, store
    )
    return [params[n] for n in APPEND_PARAMS]


def _append_one_args(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    event: NewEvent,
    metadata: EventMetadata,
    store: EventStore,
) -> list[Any]:
    """``APPEND_ONE``'s parameters in the driver statement's ``$n`` order."""
    payloads, meta = store.serialise((event,), metadata)
    params = {
        "stream_id": stream_id,
        "stream_type": stream_type,
        "expected": expected_version,
        "tenant": metadata.tenant,
        "event_id": event.id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "payload": payloads[0],
        "meta": meta,
        "event_time": event.time,
    }
    return [params[n] for n in APPEND_ONE_PARAMS]


def _append_params(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    metadata: EventMetadata,
    store: EventStore,
) -> dict[str, Any]:
    payloads, meta = store.serialise(events, metadata)
    return {
        "stream_id": stream_id,
        "stream_type": stream_type,
        "expected": expected_version,
        "tenant": metadata.tenant,
        "ids": [e.id for e in events],
        "types": [e.event_type for e in events],
        "schema_versions": [e.schema_version for e in events],
        "payloads": payloads,
        "metas": [meta] * len(events),
        "times": [e.time for e in events],
    }


def _conflict(error: Any, stream_id: str, expected_version: int) -> Exception:
    """A unique violation: a duplicate event id, or a writer that got there first."""
    constraint = getattr(error, "constraint_name", None) or str(error)
    if "events_event_id" in constraint:
        return Conflict("an event with this id is already recorded")
    return ConcurrencyConflict(stream_id, expected_version)


def _refusal(
    stream_id: str, expected_version: int, metadata: EventMetadata, head: Any
) -> Exception:
    """Why the guarded insert wrote nothing, from the stream's head row."""
    head = _mapping(head)
    if head is not None and head["tenant"] == metadata.tenant:
        if head["version"] == expected_version:
            # The head was written by a newer transaction than ours: retry afresh.
            return ConcurrencyConflict(stream_id, expected_version, head["version"])
    return conflict_from_head(stream_id, expected_version, metadata.tenant, head)


def _recorded(
    stream_id: str,
    stream_type: str,
    events: Sequence[NewEvent],
    metadata: EventMetadata,
    rows: Sequence[Any],
) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            id=e.id,
            stream_id=stream_id,
            stream_type=stream_type,
            version=_mapping(row)["version"],
            event_type=e.event_type,
            schema_version=e.schema_version,
            data=e.data,
            metadata=metadata,
            time=e.time,
            position=LogPosition(
                int(_mapping(row)["tx_id"]), int(_mapping(row)["position"])
            ),
        )
        for e, row in zip(events, rows, strict=True)
    ]
