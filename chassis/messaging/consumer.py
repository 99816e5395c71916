"""Consumer runner: a consumer group whose handlers apply each event exactly once.

For every message the runner opens one database transaction, records the event id in
``processed_events`` and runs the handler in that same transaction; the offset is
committed only after it commits. A redelivered event finds its id already recorded and
changes nothing. A handler that keeps failing is retried a bounded number of times,
then the message goes to the dead-letter topic with the error in its headers (and to
the ``dead_letters`` table, where operators see it), and the partition moves on.
A database outage is not the message's fault: the runner waits for the database
instead of dead-lettering.

With ``batch_transactions`` (for consumers whose handlers write only through the
connection they are given, such as insights), a polled batch is applied in ONE
transaction: one commit instead of one per event, which is what keeps a projection's lag
low under a steady stream. Any failure rolls the whole batch back and the runner applies
it again one message at a time, with the retries and dead-lettering above; the
``processed_events`` marks roll back with the effects, so nothing applies twice.
Handlers with effects outside the transaction (calls to other components that commit on
their own) must not use it. A consumer may also give a ``batch_handler``: the batch's
events are then marked applied in one statement and the fresh ones handed to it in one
call, in the order polled, instead of to their handlers one at a time (it must have the
same effects as those handlers applied in that order; insights groups them per table).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from opentelemetry import metrics
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite, sqlstate_is_outage
from chassis.envelope import Envelope, MalformedMessage, event_name
from chassis.errors import ConcurrencyConflict
from chassis.events import UnknownEventType, UnsupportedSchemaVersion
from chassis.messaging.tracing import consume_span
from chassis.messaging.transport import (
    REPLAY_FOR,
    InboundMessage,
    OutboundMessage,
    Subscriber,
    Transport,
    dead_letter_topic,
)
from chassis.redaction import described
from chassis.tables import create, dead_letters, processed_events
from chassis.telemetry import metrics_recorded, spans_recorded

log = logging.getLogger(__name__)
meter = metrics.get_meter("tandem.messaging")
consumer_lag_ms = meter.create_histogram(
    "tandem.consumer.lag", unit="ms", description="Event time → effect committed"
)
dead_lettered = meter.create_counter("tandem.consumer.dead_letters")
applied_counter = meter.create_counter("tandem.consumer.applied")
duplicates_counter = meter.create_counter("tandem.consumer.duplicates")

Handler = Callable[[Envelope, AsyncConnection], Awaitable[None]]
# Applies a batch's fresh events, in order, as its handlers would one by one.
BatchHandler = Callable[[Sequence[Envelope], AsyncConnection], Awaitable[None]]

# Errors retrying cannot fix: straight to the dead-letter topic.
PERMANENT = (MalformedMessage, UnknownEventType, UnsupportedSchemaVersion)


async def create_consumer_schema(engine: AsyncEngine) -> None:
    """Create the applied-events and dead-letter tables (idempotent)."""
    await create(engine, processed_events, dead_letters)


# The marks older than the retention, a batch at a time (short transactions: the
# consumer goes on marking meanwhile). PostgreSQL by row address, SQLite by rowid.
PRUNE_MARKS = text(
    "DELETE FROM processed_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
    "processed_events WHERE processed_at < now() - make_interval(days => :days) "
    "LIMIT :n))"
)
PRUNE_MARKS_SQLITE = text(
    "DELETE FROM processed_events WHERE rowid IN (SELECT rowid FROM processed_events "
    "WHERE processed_at < datetime('now', '-' || :days || ' days') LIMIT :n)"
)
PRUNE_BATCH = 5000


async def prune_marks(
    engine: AsyncEngine, days: int, *, batch: int = PRUNE_BATCH
) -> int:
    """Delete the ``processed_events`` marks older than ``days``; how many.

    A mark dedupes redeliveries: a crash between a batch's commit and its offsets'
    commit, the relay publishing again after a restart. Those come within minutes.
    A replayed dead letter is addressed to its own group (``REPLAY_FOR``), which
    has no mark of it, so the others need none either. What the retention gives up:
    a consumer group whose offsets an operator resets to further back than ``days``
    applies those events again, as it would any it had never seen."""
    statement = PRUNE_MARKS_SQLITE if is_sqlite(engine) else PRUNE_MARKS
    pruned = 0
    while True:
        async with engine.begin() as conn:
            gone = (await conn.execute(statement, {"days": days, "n": batch})).rowcount
        pruned += gone
        if gone < batch:
            return pruned


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (not a bad message)."""
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return True
    if sqlstate_is_outage(exc):  # the bare driver's own errors (the event store's)
        return True
    if type(exc).__name__ == "ConnectionDoesNotExistError":  # asyncpg, mid-query
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or sqlstate_is_outage(exc):
            return True
        orig = type(exc.orig).__name__ if exc.orig is not None else ""
        return isinstance(exc, (OperationalError, InterfaceError)) and any(
            word in orig for word in ("Connection", "CannotConnect", "AdminShutdown")
        )
    return False


MARK_MANY_APPLIED = text(
    "INSERT INTO processed_events (consumer, event_id) "
    "SELECT :c, e FROM unnest(CAST(:ids AS text[])) AS e "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
# The most records a consumer with a ``batch_handler`` applies in one transaction.
BATCH_HANDLER_RECORDS = 1000

MARK_APPLIED = text(
    "INSERT INTO processed_events (consumer, event_id) VALUES (:c, :e) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class ConsumerRunner:
    """One consumer group: poll, apply once, commit, dead-letter what cannot apply."""

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        engine: AsyncEngine,
        transport: Transport,
        handlers: Mapping[str, Handler],
        max_attempts: int = 3,
        retry_backoff_s: float = 0.05,
        poll_timeout_s: float = 0.5,
        batch_size: int = 200,
        commit_every_s: float = 0.5,
    ) -> None:
        self.name = name
        self.topics = list(topics)
        self.engine = engine
        self.transport = transport
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.poll_timeout_s = poll_timeout_s
        self.batch_size = batch_size
        self.commit_every_s = commit_every_s  # offsets, while running (``run``)
        self.dead_letter_topic = dead_letter_topic(name)
        # For consumers that keep every event (insights): types without a handler.
        self.fallback: Handler | None = None
        # Apply a polled batch in one transaction (see the module's docstring).
        self.batch_transactions = False
        # With ``batch_transactions``: the whole batch in one call (module docstring).
        self.batch_handler: BatchHandler | None = None
        self.batches_rolled_back = 0
        self.applied = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.replays_passed = 0  # dead letters replayed for other groups
        self._subscriber: Subscriber | None = None

    async def start(self) -> None:
        await create_consumer_schema(self.engine)
        await self.transport.ensure_topics([*self.topics, self.dead_letter_topic])
        self._subscriber = self.transport.subscriber(self.name, self.topics)
        await self._subscriber.start()

    async def stop(self) -> None:
        if self._subscriber is not None:
            subscriber, self._subscriber = self._subscriber, None
            await subscriber.stop()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll and apply until ``stop`` is set."""
        stop = stop or asyncio.Event()
        if self._subscriber is None:
            await self.start()
        # The offsets of applied batches are committed while the next one is
        # fetched and applied: only ever after their effects committed, in order (a
        # commit waits for the one before it), at most every ``commit_every_s``
        # (each commit is a broker request; under a steady stream batches come
        # every few tens of ms), and when the runner stops. A crash in between
        # redelivers what the ``processed_events`` marks already dedupe.
        committing: asyncio.Future[None] | None = None
        pending: dict[tuple[str, int], InboundMessage] = {}  # last one a partition
        committed_at = float("-inf")
        try:
            while not stop.is_set():
                batch = await self._poll_and_apply()
                for message in batch:
                    pending[(message.topic, message.partition)] = message
                now = time.monotonic()
                if pending and now - committed_at >= self.commit_every_s:
                    if committing is not None:
                        previous, committing = committing, None
                        await previous
                    done, pending = list(pending.values()), {}
                    committing = asyncio.ensure_future(self._commit(done))
                    committed_at = now
        finally:
            try:
                if committing is not None:
                    await committing
                if pending:
                    await self._commit(list(pending.values()))
            finally:
                await self.stop()

    async def poll_once(self) -> int:
        """Apply one batch and commit its offsets; returns how many it handled."""
        batch = await self._poll_and_apply()
        if batch:
            await self._commit(batch)
        return len(batch)

    async def _poll_and_apply(self) -> list[InboundMessage]:
        """Poll one batch and apply it (its effects committed); the batch."""
        assert self._subscriber is not None, "start() the runner first"
        # A batch handler's statements do not grow with the batch: take what the
        # fetcher holds, up to ``BATCH_HANDLER_RECORDS`` (a backlog drains in few,
        # large transactions; while keeping up, batches stay small by themselves).
        most = (
            max(self.batch_size, BATCH_HANDLER_RECORDS)
            if self.batch_transactions and self.batch_handler is not None
            else self.batch_size
        )
        batch = await self._subscriber.poll(self.poll_timeout_s, most)
        if not (
            self.batch_transactions and len(batch) > 1 and await self._apply_all(batch)
        ):
            for message in batch:
                await self.handle(message)
        return batch

    async def _commit(self, batch: list[InboundMessage]) -> None:
        assert self._subscriber is not None
        while True:
            try:
                await self._subscriber.commit(batch)
                return
            except Exception as exc:  # broker away: the effects are idempotent, retry
                log.warning("%s: offset commit failed (%s); retrying", self.name, exc)
                await asyncio.sleep(0.5)

    @property
    def subscriber(self) -> Subscriber | None:
        """The broker subscription while the runner runs (offset lag, say)."""
        return self._subscriber

    async def _apply_all(self, batch: list[InboundMessage]) -> bool:
        """Apply ``batch`` in one transaction; False (nothing applied) on any failure."""
        work: list[tuple[InboundMessage, Envelope, Handler]] = []
        for message in batch:
            if self._for_another(message):
                continue
            try:
                envelope = Envelope.from_kafka(message.headers, message.value)
            except MalformedMessage:
                return False  # the one-at-a-time path dead-letters it
            handler = self.handlers.get(envelope.type) or self.fallback
            if handler is not None:
                work.append((message, envelope, handler))
        applied: list[Envelope] = []
        duplicates = 0
        try:
            async with self.engine.begin() as conn:
                if self.batch_handler is not None:
                    duplicates = await self._apply_together(work, conn, applied)
                    work = []
                for message, envelope, handler in work:
                    with consume_span(message, envelope, self.name):
                        fresh = (
                            await conn.execute(
                                MARK_APPLIED, {"c": self.name, "e": envelope.id}
                            )
                        ).first()
                        if fresh is None:
                            duplicates += 1
                            continue
                        await handler(envelope, conn)
                        applied.append(envelope)
        except Exception as exc:
            self.batches_rolled_back += 1
            log.info(
                "%s: batch of %d rolled back (%s: %s); applying one at a time",
                self.name,
                len(batch),
                type(exc).__name__,
                exc,
            )
            return False
        for _ in range(duplicates):
            self._count_duplicate()
        self._count_applied_many(applied)
        return True

    async def _apply_together(
        self,
        work: list[tuple[InboundMessage, Envelope, Handler]],
        conn: AsyncConnection,
        applied: list[Envelope],
    ) -> int:
        """Mark ``work`` applied in one statement and hand the fresh events to the
        batch handler in one call; how many were duplicates."""
        assert self.batch_handler is not None
        if not work:
            return 0
        ids = [e.id for _, e, _ in work]
        if is_sqlite(conn.engine):
            values = ", ".join(f"(:c, :e{n})" for n in range(len(ids)))
            marked = await conn.execute(
                text(
                    "INSERT INTO processed_events (consumer, event_id) "
                    f"VALUES {values} ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"c": self.name, **{f"e{n}": i for n, i in enumerate(ids)}},
            )
        else:  # one statement text whatever the batch's size (prepared once)
            marked = await conn.execute(MARK_MANY_APPLIED, {"c": self.name, "ids": ids})
        fresh_ids = set(marked.scalars())
        fresh: list[Envelope] = []
        recorded = spans_recorded()  # asked once a batch, not once an event
        for message, envelope, _ in work:
            if envelope.id not in fresh_ids:
                continue
            fresh_ids.discard(envelope.id)  # a second copy in the batch is a duplicate
            if not recorded:  # no span to build (not even the empty one)
                fresh.append(envelope)
                continue
            with consume_span(message, envelope, self.name, recorded=recorded):
                fresh.append(envelope)
        await self.batch_handler(fresh, conn)
        applied.extend(fresh)
        return len(work) - len(fresh)

    def _count_duplicate(self) -> None:
        self.duplicates += 1
        duplicates_counter.add(1, {"consumer": self.name})

    def _count_applied_many(self, envelopes: Sequence[Envelope]) -> None:
        """``_count_applied`` of each, the counter added once per event type."""
        if not envelopes:
            return
        self.applied += len(envelopes)
        per_type: dict[str, int] = {}
        for envelope in envelopes:
            per_type[envelope.type] = per_type.get(envelope.type, 0) + 1
        # One ``record`` costs tens of µs even with no reader: none while no reader
        # would see it (``metrics_recorded``), as the HTTP duration histogram.
        if metrics_recorded():
            now = datetime.now(UTC)
            attributes = {"consumer": self.name}
            for envelope in envelopes:
                lag = (now - envelope.time).total_seconds() * 1000
                consumer_lag_ms.record(lag, attributes)
        for kind, count in per_type.items():
            applied_counter.add(count, {"consumer": self.name, "type": kind})

    def _count_applied(self, envelope: Envelope) -> None:
        self.applied += 1
        applied_counter.add(1, {"consumer": self.name, "type": envelope.type})
        if metrics_recorded():
            lag = (datetime.now(UTC) - envelope.time).total_seconds() * 1000
            consumer_lag_ms.record(lag, {"consumer": self.name})

    def _for_another(self, message: InboundMessage) -> bool:
        """A dead letter replayed for another consumer group: not this one's."""
        addressed = message.header(REPLAY_FOR)
        if addressed is None or addressed == self.name:
            return False
        self.replays_passed += 1
        return True

    async def handle(self, message: InboundMessage) -> None:
        """Apply one message exactly once, or dead-letter it."""
        if self._for_another(message):
            return
        try:
            envelope = Envelope.from_kafka(message.headers, message.value)
        except MalformedMessage as exc:
            await self._dead_letter(message, None, exc, attempts=1)
            return
        handler = self.handlers.get(envelope.type) or self.fallback
        if handler is None:
            return  # an event this consumer does not need
        attempt = 0
        error: BaseException | None = None
        while attempt < self.max_attempts:
            attempt += 1
            try:
                with consume_span(message, envelope, self.name):
                    await self._apply(envelope, handler)
                return
            except PERMANENT as exc:
                error = exc
                break
            except ConcurrencyConflict as exc:  # lost a race: the next attempt reloads
                error = exc
            except Exception as exc:
                if not database_unavailable(exc):
                    error = exc
                    log.warning(
                        "%s: %s failed (attempt %d): %s",
                        self.name,
                        envelope.type,
                        attempt,
                        described(exc),
                    )
                    await asyncio.sleep(self.retry_backoff_s * attempt)
                    continue
                # Database unreachable: wait for it, this message is not at fault.
                log.warning(
                    "%s: database unavailable (%s); waiting", self.name, described(exc)
                )
                attempt -= 1
                await asyncio.sleep(1.0)
        await self._dead_letter(message, envelope, error, attempts=attempt)

    async def _apply(self, envelope: Envelope, handler: Handler) -> None:
        async with self.engine.begin() as conn:
            fresh = (
                await conn.execute(MARK_APPLIED, {"c": self.name, "e": envelope.id})
            ).first()
            if fresh is None:
                self._count_duplicate()
                return
            await handler(envelope, conn)
        self._count_applied(envelope)

    async def _dead_letter(
        self,
        message: InboundMessage,
        envelope: Envelope | None,
        error: BaseException | None,
        *,
        attempts: int,
    ) -> None:
        reason = described(error)
        log.error(
            "%s: dead-lettering offset %s of %s: %s",
            self.name,
            message.offset,
            message.topic,
            reason,
        )
        headers = [
            *[(k, v) for k, v in message.headers if not k.startswith("x-tandem-")],
            ("x-tandem-error", reason.encode()[:4000]),
            ("x-tandem-error-type", type(error).__name__.encode() if error else b""),
            ("x-tandem-attempts", str(attempts).encode()),
            ("x-tandem-consumer", self.name.encode()),
            ("x-tandem-original-topic", message.topic.encode()),
            ("x-tandem-original-partition", str(message.partition).encode()),
            ("x-tandem-original-offset", str(message.offset).encode()),
        ]
        await self.transport.publish(
            [
                OutboundMessage(
                    topic=self.dead_letter_topic,
                    key=message.key or b"",
                    value=message.value or b"",
                    headers=headers,
                )
            ]
        )
        await self._record_dead_letter(message, envelope, reason, attempts)
        self.dead_letters += 1
        dead_lettered.add(1, {"consumer": self.name})

    async def _record_dead_letter(
        self,
        message: InboundMessage,
        envelope: Envelope | None,
        reason: str,
        attempts: int,
    ) -> None:
        raw_type = message.header("ce_type")
        row = {
            "id": str(uuid.uuid4()),
            "consumer": self.name,
            "topic": message.topic,
            "partition_no": message.partition,
            "offset_no": message.offset,
            "event_id": envelope.id if envelope else message.header("ce_id"),
            # The bare event name, as handlers and the relay's quarantine name it.
            "event_type": envelope.type
            if envelope
            else (event_name(raw_type) if raw_type else None),
            "error": reason,
            "attempts": attempts,
            "headers": json.dumps(
                [
                    [k, v.decode("utf-8", "replace") if v else None]
                    for k, v in message.headers
                ]
            ),
            "value": (message.value or b"").decode("utf-8", "replace"),
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO dead_letters (id, consumer, topic, partition_no, "
                        "offset_no, event_id, event_type, error, attempts, headers, "
                        "value) "
                        "VALUES (:id, :consumer, :topic, :partition_no, :offset_no, "
                        ":event_id, :event_type, :error, :attempts, :headers, :value)"
                    ),
                    row,
                )
        except (IntegrityError, DBAPIError):
            log.exception("%s: could not record dead letter in the database", self.name)
