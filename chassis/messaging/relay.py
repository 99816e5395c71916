"""The relay: the event store is the outbox, and this publishes it to the broker.

It follows the global log from its checkpoint, publishes each committed event (key =
stream id, so a stream stays on one partition, in order), and moves the checkpoint past
what the broker acknowledged. While the broker is down, appends keep succeeding and the
relay keeps retrying from its checkpoint; nothing acknowledged by the store is lost.
Only one relay per service publishes at a time (a PostgreSQL advisory lock).

The relay wakes, it does not poll. On PostgreSQL it listens for the notification an
append sends while the relay sleeps (``chassis.eventstore.postgres``, "Waking the
relay"), so an append from any process or connection is published at once; in one
process (SQLite, the embedded demo) the repositories wake it with ``notify``. The
timed wait (``safety_net_s`` while listening, ``idle_wait_s`` otherwise) is only a
safety net. Under load it does not sleep at all (``pump``): it reads again as soon as
a batch is sent, reads the next batch while the broker acknowledges the current one,
and writes its checkpoint behind the next send (at most every ``checkpoint_every_s``,
and when it stops pumping); it sleeps only when a read finds
nothing, so appends made meanwhile send no notification.

The relay never stalls on one event. An event that can never be published (its
message is larger than the broker takes, or translating it to its contract fails
``max_attempts`` times in a row for a reason other than a database outage) is moved
to the service's quarantine: a row in ``dead_letters`` (owner = the relay's name,
``partition_no`` -1, ``offset_no`` the event's log position, headers and value of the
message it would have been) and a notice on the service's dead-letter topic (headers
only: the value may be what the broker refused, or an internal event that must not
leave the service). The checkpoint moves past it and publishing goes on in order.
Operators inspect it and replay it after the fix (``/admin/dead-letters``, see
``dead_letters.py``): the replay reads the event from the store again, translates and
publishes it, late and out of its stream's order, which idempotent consumers accept.
A message refused for its size inside a batch is sent again on its own before its
event is quarantined, so a refusal never takes an innocent neighbour with it. When
the broker (not the producer) refuses one, messages sent after it in the same round
may have landed already and are sent again: at least once, as everywhere on the bus.

Metrics (attribute ``topic``): ``tandem.relay.lag``, a histogram of the ms from an
event's time (when the service recorded it) to the broker's acknowledgement;
``tandem.relay.backlog``, a gauge of the committed events after the checkpoint, not yet
published (sampled at most every ``backlog_every_s``, also while the broker is down);
``tandem.relay.published``, a counter; ``tandem.relay.quarantined``, a counter of the
events set aside (attribute ``reason``: ``too_large`` or ``untranslatable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from opentelemetry import metrics
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.errors import Conflict, NotFound, ServiceUnavailable
from chassis.events import LogPosition, RecordedEvent
from chassis.eventstore import EventStore
from chassis.eventstore.postgres import (
    RELAY_ASLEEP_KEY,
    WAKE_CHANNEL,
    PostgresEventStore,
)
from chassis.messaging.consumer import database_unavailable
from chassis.messaging.tracing import publish_span
from chassis.messaging.transport import MessageTooLarge, OutboundMessage, Transport
from chassis.redaction import described
from chassis.telemetry import metrics_recorded, spans_recorded

log = logging.getLogger(__name__)
meter = metrics.get_meter("tandem.messaging")
relay_lag_ms = meter.create_histogram(
    "tandem.relay.lag",
    unit="ms",
    description="Event recorded → acknowledged by the broker",
)
relay_published = meter.create_counter(
    "tandem.relay.published", description="Events published"
)
relay_backlog = meter.create_gauge(
    "tandem.relay.backlog",
    unit="{event}",
    description="Events recorded after the relay's checkpoint, not yet published",
)
relay_quarantined = meter.create_counter(
    "tandem.relay.quarantined",
    unit="{event}",
    description="Events that could not be published, set aside in the quarantine",
)
# Row comparison in log order (transaction, position); SQLite's rows all have tx 0.
COUNT_AFTER = text("SELECT count(*) FROM events WHERE (tx_id, position) > (:tx, :pos)")

# What a stored event becomes on the topic: itself by default, other envelopes, or
# nothing (an internal event). May be async (to decrypt what it publishes, say).
Translate = Callable[
    [RecordedEvent], Sequence[Envelope] | Awaitable[Sequence[Envelope]]
]
QUARANTINE = text(
    "INSERT INTO dead_letters (id, consumer, topic, partition_no, offset_no, "
    "event_id, event_type, error, attempts, headers, value) "
    "VALUES (:id, :consumer, :topic, -1, :offset_no, :event_id, :event_type, "
    ":error, :attempts, :headers, :value) ON CONFLICT (id) DO NOTHING"
)
_QUARANTINE_IDS = uuid.UUID("5d0c51b6-8f57-4c43-9a53-5c0b0f3f1e77")
# Committed events an older transaction still holds back (the log's horizon) wake
# nobody when it ends: the relay looks again after this, doubling up to its idle wait.
HELD_BACK_FIRST_WAIT_S = 0.005


class Unpublishable(Conflict):
    """A quarantined event still cannot be published: fix the cause, then replay."""

    code = "EventUnpublishable"
    title = "Event still cannot be published"


class _Refused(Exception):
    """One event cannot be published; ``reason`` is the metric's attribute."""

    def __init__(
        self, reason: str, error: BaseException, messages: Sequence[OutboundMessage]
    ) -> None:
        super().__init__(described(error))
        self.reason, self.error, self.messages = reason, error, messages


class CheckpointStore:
    """How far a log follower (relay or catch-up projection) has got, by name."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, name: str) -> LogPosition:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT tx_id, position FROM log_checkpoints WHERE name = :n"),
                    {"n": name},
                )
            ).first()
        return (
            LogPosition(int(row.tx_id), int(row.position)) if row else LogPosition.START
        )

    async def save(
        self,
        name: str,
        position: LogPosition,
        *,
        connection: AsyncConnection | None = None,
    ) -> None:
        stmt = text(
            "INSERT INTO log_checkpoints (name, tx_id, position) "
            "VALUES (:n, :tx, :pos) "
            "ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, "
            "position = excluded.position, updated_at = CURRENT_TIMESTAMP"
        )
        params = {"n": name, "tx": position.transaction, "pos": position.sequence}
        if connection is not None:
            await connection.execute(stmt, params)
            return
        async with self.engine.begin() as conn:
            await conn.execute(stmt, params)


def _lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(name.encode()).digest()[:8], "big", signed=True
    )


class Relay:
    """Publishes one service's committed events to its topic, in log order."""

    def __init__(
        self,
        store: EventStore,
        transport: Transport,
        *,
        topic: str,
        source: str,
        name: str | None = None,
        translate: Translate | None = None,
        batch_size: int = 500,
        idle_wait_s: float = 0.25,
        safety_net_s: float = 5.0,
        max_backoff_s: float = 5.0,
        backlog_every_s: float = 5.0,
        quarantine_topic: str | None = None,
        max_attempts: int = 3,
        checkpoint_every_s: float = 0.1,
        linger_s: float = 0.02,
    ) -> None:
        self.store = store
        self.transport = transport
        self.topic = topic
        self.source = source
        self.name = name or f"relay:{topic}"
        self.translate = translate or (lambda e: [Envelope.from_recorded(e, source)])
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s  # without a listener (SQLite, in-process)
        self.safety_net_s = safety_net_s  # while listening for appends' notifications
        self.max_backoff_s = max_backoff_s
        self.backlog_every_s = backlog_every_s
        self.backlog: int | None = None  # last sampled (None: not yet)
        self._backlog_at = float("-inf")
        self.checkpoints = CheckpointStore(store.engine)
        self.position: LogPosition | None = None
        self.published = 0
        self.last_error: str | None = None
        # The service's dead-letter topic (``tandem.<service>.dlt`` from the runtime).
        self.quarantine_topic = quarantine_topic or f"{topic}.dlt"
        self.max_attempts = max_attempts
        self.quarantined = 0
        self._failures: dict[uuid.UUID, int] = {}  # failed translations in a row
        self._quarantine_ready = False
        self._wake = asyncio.Event()
        # Read ahead and save behind while publishing (PostgreSQL's pooled driver
        # connections; SQLite has one writer and gains nothing).
        self._pipelined = isinstance(store, PostgresEventStore)
        self._leader_driver: Any = None  # the leadership connection (PostgreSQL)
        self._held_wait_s = HELD_BACK_FIRST_WAIT_S
        # While pumping, the checkpoint is written at most this often (and always
        # when a pump ends): under load it follows a batch every few ms otherwise.
        self.checkpoint_every_s = checkpoint_every_s
        # While pumping, a batch that is not full waits this long after the last
        # send began (``_linger``): fewer, fuller sends under a steady stream.
        self.linger_s = linger_s
        self._saved_at = float("-inf")

    def notify(self) -> None:
        """Wake the relay now (after a local append) rather than at its next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish the next batch after the checkpoint; returns how many it moved.

        Moved counts the published events and the quarantined ones.
        """
        if self.position is None:
            self.position = await self.checkpoints.load(self.name)
        events = await self.store.read_log(self.position, self.batch_size)
        if not events:
            self._set_backlog(0)  # nothing committed is left to publish
            return 0
        done, error = await self._publish_batch(events)
        if done:  # even when a later part failed: never publish twice
            await self._advance(events[:done])
        if error is not None:
            raise error
        await self.sample_backlog()
        return done

    async def pump(self, stop: asyncio.Event | None = None) -> int:
        """Publish batch after batch while the log has some; returns how many moved.

        Pipelined (PostgreSQL): the next batch is read while the broker acknowledges
        the current one, and the checkpoint's write (one statement, its commit not
        waiting for the flush) goes on while the next batch is sent. Batches are still
        sent one after another, each only once the one before it is acknowledged
        whole, so a broker that fails stops the relay at the first event it did not
        take, in log order, exactly as one batch at a time; checkpoints are written in
        order and never past what the broker acknowledged, at most every
        ``checkpoint_every_s`` while pumping and always when the pump returns (a
        relay that crashes in between leaves an older checkpoint: whoever takes over
        publishes those events again, which consumers dedupe). Under load the relay stays
        here, awake, and appends need not wake it; it returns when a read finds
        nothing (then it sleeps), when the broker took only part of a batch, or when
        ``stop`` is set.
        """
        if self.position is None:
            self.position = await self.checkpoints.load(self.name)
        events = await self.store.read_log(self.position, self.batch_size)
        if not events:
            self._set_backlog(0)  # nothing committed is left to publish
            return 0
        ahead: asyncio.Future[list[RecordedEvent]] | None = None
        saving: asyncio.Future[None] | None = None
        unsaved = False  # acknowledged events past the last checkpoint written
        total = 0
        sent_at = float("-inf")  # the first batch goes at once
        try:
            while True:
                if self._pipelined and len(events) < self.batch_size:
                    events = await self._linger(events, sent_at, stop)
                if not events:
                    break
                if self._pipelined:
                    ahead = asyncio.ensure_future(
                        self.store.read_log(events[-1].position, self.batch_size)
                    )
                sent_at = time.monotonic()
                done, error = await self._publish_batch(events)
                if done:
                    self.position = events[done - 1].position
                    unsaved = True
                    total += done
                    now = time.monotonic()
                    if (
                        not self._pipelined
                        or now - self._saved_at >= self.checkpoint_every_s
                    ):
                        if saving is not None:  # checkpoints in order
                            previous, saving = saving, None
                            await previous
                        saving = asyncio.ensure_future(self._save(self.position))
                        self._saved_at, unsaved = now, False
                        if not self._pipelined:
                            previous, saving = saving, None
                            await previous
                if error is not None:
                    raise error
                if done < len(events) or (stop is not None and stop.is_set()):
                    break  # the broker took part of it: the run loop retries
                self._check_leadership()
                await self.sample_backlog()  # throttled: at most every few seconds
                if ahead is not None:
                    reading, ahead = ahead, None
                    events = await reading
                else:
                    events = await self.store.read_log(self.position, self.batch_size)
        finally:
            if ahead is not None:  # read for nothing: let it finish, drop it
                with contextlib.suppress(Exception):
                    await ahead
            if saving is not None:
                await saving
            if unsaved and self.position is not None:  # before it sleeps or stops
                await self._save(self.position)
                self._saved_at = time.monotonic()
        await self.sample_backlog()
        return total

    async def _linger(
        self,
        events: list[RecordedEvent],
        sent_at: float,
        stop: asyncio.Event | None,
    ) -> list[RecordedEvent]:
        """A batch that is not full waits until ``linger_s`` after the last send
        began, then takes what was committed meanwhile: under a steady stream the
        relay sends a batch every ``linger_s`` or so rather than a few events every
        few ms (each send is a produce request the broker pays for, and a fetch,
        and an offset commit, downstream). The first batch after a sleep goes at
        once, and a full one never waits."""
        wait = self.linger_s - (time.monotonic() - sent_at)
        if wait <= 0 or (stop is not None and stop.is_set()):
            return events
        if stop is None:
            await asyncio.sleep(wait)
        else:
            await _wait(stop, wait)
        after = events[-1].position if events else self.position
        if after is None:
            return events
        more = await self.store.read_log(after, self.batch_size - len(events))
        return events + more if events else more

    async def _publish_batch(
        self, events: list[RecordedEvent]
    ) -> tuple[int, BaseException | None]:
        """Publish ``events`` in order; how many moved, and the error that stopped
        the rest (to raise once what moved is saved), if any."""
        done = 0
        try:
            while done < len(events):
                moved, error = await self._publish_from(events, done)
                done += moved
                if error is not None:
                    return done, error
                if not moved:
                    break
        except BaseException as exc:  # saved first, raised after
            return done, exc
        return done, None

    async def _save(self, position: LogPosition) -> None:
        if isinstance(self.store, PostgresEventStore):
            await self.store.save_checkpoint(self.name, position)
        else:
            await self.checkpoints.save(self.name, position)

    def _check_leadership(self) -> None:
        """Raise when the leadership connection is gone (and with it the lock)."""
        if self._leader_driver is not None and self._leader_driver.is_closed():
            raise ConnectionError("the relay's leadership connection was lost")

    async def _publish_from(
        self, events: list[RecordedEvent], start: int
    ) -> tuple[int, Exception | None]:
        """Publish events from ``start`` up to the first one that cannot be
        published now, and quarantine it if it never can be.

        Returns how many events moved on, and the error that stopped the rest for
        now (a translation to retry later), if any.
        """
        messages: list[OutboundMessage] = []
        owners: list[int] = []  # index of the event each message came from
        refused: _Refused | None = None
        error: Exception | None = None
        end = len(events)
        recorded = spans_recorded()  # asked once a batch, not once an event
        for i in range(start, len(events)):
            try:
                batch = await self._messages(events[i], recorded)
            except _Refused as exc:
                refused, end = exc, i
                break
            except Exception as exc:
                error, end = exc, i
                break
            messages.extend(batch)
            owners.extend([i] * len(batch))
        if messages:
            try:
                acknowledged = await self.transport.publish(messages)
            except MessageTooLarge as exc:
                return await self._isolate(events, start, messages, owners, exc), None
            if acknowledged < len(messages):
                # Only events whose every message was acknowledged count as done.
                end, refused, error = owners[acknowledged], None, None
        self._published(events[start:end])
        if refused is None:
            return end - start, error
        await self._quarantine(events[end], refused)
        return end - start + 1, None

    async def _isolate(
        self,
        events: list[RecordedEvent],
        start: int,
        messages: list[OutboundMessage],
        owners: list[int],
        error: MessageTooLarge,
    ) -> int:
        """The first message was refused for its size: its event alone decides."""
        first = owners[0]
        self._published(events[start:first])  # before it: events without messages
        alone = [m for m, owner in zip(messages, owners, strict=True) if owner == first]
        if len(alone) < len(messages):
            try:
                acknowledged = await self.transport.publish(alone)
            except MessageTooLarge as again:
                error = again
            else:
                if acknowledged < len(alone):
                    return first - start
                self._published(events[first : first + 1])
                return first - start + 1
        await self._quarantine(events[first], _Refused("too_large", error, alone))
        return first - start + 1

    async def _messages(
        self, event: RecordedEvent, recorded: bool | None = None
    ) -> list[OutboundMessage]:
        """The messages ``event`` becomes; ``_Refused`` when it never can be sent
        (``recorded``: whether spans are recorded, asked once for the batch)."""
        try:
            envelopes = await self._translate(event)
        except Exception as exc:
            if database_unavailable(exc):
                raise  # not the event's fault: the run loop retries
            failures = self._failures.get(event.id, 0) + 1
            self._failures[event.id] = failures
            if failures < self.max_attempts:
                raise
            raw = Envelope.from_recorded(event, self.source)
            raise _Refused(
                "untranslatable", exc, [OutboundMessage.of(self.topic, raw)]
            ) from exc
        self._failures.pop(event.id, None)
        messages: list[OutboundMessage] = []
        for envelope in envelopes:
            with publish_span(envelope, self.topic, recorded=recorded) as (
                _span,
                trace_headers,
            ):
                messages.append(OutboundMessage.of(self.topic, envelope, trace_headers))
        for message in messages:
            if not self.transport.fits(message):
                size = len(message.value) + len(message.key)
                raise _Refused(
                    "too_large",
                    MessageTooLarge(
                        f"a message of about {size} bytes is larger than the broker "
                        "accepts"
                    ),
                    messages,
                )
        return messages

    async def _translate(self, event: RecordedEvent) -> Sequence[Envelope]:
        envelopes = self.translate(event)
        if not isinstance(envelopes, list | tuple) and inspect.isawaitable(envelopes):
            envelopes = await envelopes
        return envelopes

    async def _advance(self, events: Sequence[RecordedEvent]) -> None:
        self.position = events[-1].position
        await self._save(self.position)

    def _published(self, events: Sequence[RecordedEvent]) -> None:
        if not events:
            return
        attributes = {"topic": self.topic}
        # One lag measurement per event, while a reader takes them (as the HTTP
        # durations: a ``record`` costs several µs of CPU even with none); the
        # events of one command share their moment, and so their lag.
        if metrics_recorded():
            now = datetime.now(UTC)
            moment, lag = None, 0.0
            for event in events:
                if event.time != moment:
                    moment = event.time
                    lag = max(0.0, (now - moment).total_seconds() * 1000)
                relay_lag_ms.record(lag, attributes)
        relay_published.add(len(events), attributes)
        self.published += len(events)

    def quarantine_id(self, event: RecordedEvent) -> str:
        """The quarantine row of ``event`` (the same on every attempt: no doubles)."""
        return str(uuid.uuid5(_QUARANTINE_IDS, f"{self.name}:{event.id}"))

    async def _quarantine(self, event: RecordedEvent, refused: _Refused) -> None:
        """Set ``event`` aside: a dead-letter row, a notice, a count."""
        reason = str(refused)[:4000]
        log.error(
            "relay %s: quarantining event %s (%s at %s): %s",
            self.name,
            event.id,
            event.event_type,
            event.position,
            reason,
        )
        message = refused.messages[0] if refused.messages else None
        headers = list(message.headers) if message else []
        async with self.store.engine.begin() as conn:
            await conn.execute(
                QUARANTINE,
                {
                    "id": self.quarantine_id(event),
                    "consumer": self.name,
                    "topic": self.topic,
                    "offset_no": event.position.sequence,
                    "event_id": str(event.id),
                    "event_type": event.event_type,
                    "error": reason,
                    "attempts": self._failures.pop(event.id, 1),
                    "headers": json.dumps(
                        [[k, v.decode("utf-8", "replace")] for k, v in headers]
                    ),
                    "value": message.value.decode("utf-8", "replace")
                    if message
                    else None,
                },
            )
        if not self._quarantine_ready:
            await self.transport.ensure_topics([self.quarantine_topic])
            self._quarantine_ready = True
        notice = [
            *[(k, v) for k, v in headers if k.startswith("ce_")],
            ("x-tandem-error", reason.encode()),
            ("x-tandem-error-type", type(refused.error).__name__.encode()),
            ("x-tandem-relay", self.name.encode()),
            ("x-tandem-quarantine-id", self.quarantine_id(event).encode()),
            ("x-tandem-original-topic", self.topic.encode()),
            ("x-tandem-log-position", str(event.position.sequence).encode()),
        ]
        await self.transport.publish(
            [
                OutboundMessage(
                    topic=self.quarantine_topic,
                    key=event.stream_id.encode(),
                    value=b"",
                    headers=notice,
                )
            ]
        )
        self.quarantined += 1
        relay_quarantined.add(1, {"topic": self.topic, "reason": refused.reason})

    async def replay_messages(self, event_id: str) -> list[OutboundMessage]:
        """The messages a quarantined event becomes now (after the fix), checked.

        Raises ``NotFound`` when the store has no such event and ``Unpublishable``
        when it still cannot be translated or sent.
        """
        event = await self.store.read_event(event_id)
        if event is None:
            raise NotFound(f"the store holds no event {event_id}")
        try:
            envelopes = await self._translate(event)
        except Exception as exc:
            if database_unavailable(exc):
                raise ServiceUnavailable("the database is unavailable") from exc
            raise Unpublishable(
                f"the event still cannot be translated ({described(exc)})"
            ) from exc
        messages = [OutboundMessage.of(self.topic, e) for e in envelopes]
        if not all(self.transport.fits(m) for m in messages):
            raise Unpublishable("the event is still larger than the broker accepts")
        return messages

    async def publish_replay(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish a replayed event's messages, all of them or a typed error."""
        if not messages:
            return
        try:
            acknowledged = await self.transport.publish(messages)
        except MessageTooLarge as exc:
            raise Unpublishable(f"the broker still refuses it: {exc}") from exc
        except Exception as exc:
            raise ServiceUnavailable(
                f"the broker did not take the message ({type(exc).__name__}); "
                "retry shortly"
            ) from exc
        if acknowledged < len(messages):
            raise ServiceUnavailable("the broker took only part of it; retry shortly")

    async def sample_backlog(self, *, force: bool = False) -> int | None:
        """Count the events not yet published (at most every ``backlog_every_s``).

        The count grows with the backlog, hence the throttle; a failure (database
        away) keeps the last figure.
        """
        if not force and time.monotonic() - self._backlog_at < self.backlog_every_s:
            return self.backlog
        try:
            position = self.position or await self.checkpoints.load(self.name)
            async with self.store.engine.connect() as conn:
                count = (
                    await conn.execute(
                        COUNT_AFTER,
                        {"tx": position.transaction, "pos": position.sequence},
                    )
                ).scalar_one()
        except Exception as exc:
            log.debug("relay %s: backlog not sampled (%s)", self.name, exc)
            return self.backlog
        self._set_backlog(int(count))
        return self.backlog

    def _set_backlog(self, count: int) -> None:
        self.backlog = count
        self._backlog_at = time.monotonic()
        relay_backlog.set(count, {"topic": self.topic})

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set: publish, wait for work, back off on errors."""
        stop = stop or asyncio.Event()
        backoff = 0.1
        while not stop.is_set():
            try:
                async with self._leadership() as leader:
                    if not leader:
                        await _wait(stop, self.max_backoff_s)
                        continue
                    self._leader_driver = (
                        leader.listener.driver if leader.listener else None
                    )
                    while not stop.is_set():
                        moved = await self.pump(stop)
                        self.last_error = None
                        backoff = 0.1
                        if moved:
                            self._held_wait_s = HELD_BACK_FIRST_WAIT_S
                        else:
                            await self._idle(stop, leader)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the checkpoint
                self.last_error = described(exc)
                log.warning("relay %s paused: %s", self.name, self.last_error)
                self.position = None  # reload: a failed save must not skip ahead
                await self.sample_backlog()  # it grows while the broker is away
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            finally:
                self._leader_driver = None

    async def _idle(self, stop: asyncio.Event, leader: _Leader) -> None:
        """Wait for the next append: woken by it, or by the safety net's timeout."""
        self._wake.clear()
        if leader.listener is None:
            await _wait_any(stop, self._wake, self.idle_wait_s)
            return
        if not await leader.listener.doze():
            # A writer kept its transaction open: the log waits for it anyway.
            await _wait_any(stop, self._wake, self.idle_wait_s)
            return
        try:
            # Every append that did not ask to wake us has committed: if one is
            # there, rise and publish it awake (while the relay holds this lock
            # every append notifies, and notifying serialises their commits);
            # every later append sends a notification.
            if self.position is None:
                self.position = await self.checkpoints.load(self.name)
            if await self.store.read_log(self.position, 1):
                self._held_wait_s = HELD_BACK_FIRST_WAIT_S
                return
            # Committed events an older transaction still holds back (the log's
            # horizon) wake nobody when it ends: look again soon, then less often.
            held = await leader.listener.held_back(self.position or LogPosition.START)
            if held:
                wait = self._held_wait_s
                self._held_wait_s = min(wait * 2, self.idle_wait_s)
            else:
                wait, self._held_wait_s = self.safety_net_s, HELD_BACK_FIRST_WAIT_S
            await _wait_any(stop, self._wake, wait)
        finally:
            await leader.listener.rise()

    def _leadership(self) -> _Leadership:
        return _Leadership(self.store.engine, _lock_key(self.name), self._wake)


# The first event after a log position, in the log's order (``_Listener.held_back``).
HELD_BACK = (
    "SELECT 1 FROM events WHERE (tx_id, position) > ($1::bigint, $2::bigint) "
    "ORDER BY tx_id, position LIMIT 1"
)


class _Listener:
    """The leader's connection listening for appends' notifications (PostgreSQL)."""

    LOCK_TIMEOUT_MS = 1000  # how long to wait for writers still holding the lock

    def __init__(self, driver: Any, wake: asyncio.Event) -> None:
        self.driver, self.wake = driver, wake

    def _woken(self, *_: object) -> None:
        self.wake.set()

    async def start(self) -> None:
        await self.driver.add_listener(WAKE_CHANNEL, self._woken)
        self.driver.add_termination_listener(self._woken)

    async def stop(self) -> None:
        self.driver.remove_termination_listener(self._woken)
        await self.driver.remove_listener(WAKE_CHANNEL, self._woken)

    async def doze(self) -> bool:
        """Take the "relay asleep" lock once every writer holding it has committed.

        False when a writer held it longer than ``LOCK_TIMEOUT_MS``.
        """
        try:
            await self.driver.execute(
                "SELECT pg_advisory_lock($1) FROM (SELECT set_config("
                f"'lock_timeout', '{self.LOCK_TIMEOUT_MS}', true)) AS local_timeout",
                RELAY_ASLEEP_KEY,
            )
        except asyncpg.LockNotAvailableError:
            return False
        return True

    async def held_back(self, after: LogPosition) -> bool:
        """True when the log has rows after ``after`` that it does not return yet.

        The first such row in the log's order, not ``EXISTS``: the planner takes the
        rows an ``EXISTS`` looks for to be spread through the table and scans it
        from the start, but they are the newest, all at its end (measured: a
        sequential scan of 40,000 events, 4 ms a call, growing with the log; by
        the log's index, 0.02 ms)."""
        return (
            await self.driver.fetchval(
                HELD_BACK,
                after.transaction,
                after.sequence,
            )
            is not None
        )

    async def rise(self) -> None:
        await self.driver.execute("SELECT pg_advisory_unlock($1)", RELAY_ASLEEP_KEY)


@dataclass
class _Leader:
    """Whether this relay leads, and (on PostgreSQL) how it hears of appends."""

    leads: bool
    listener: _Listener | None = None

    def __bool__(self) -> bool:
        return self.leads


class _Leadership:
    """Holds a session advisory lock while the relay publishes (PostgreSQL only),
    and listens on that connection for appends' notifications."""

    def __init__(self, engine: AsyncEngine, key: int, wake: asyncio.Event) -> None:
        self.engine, self.key, self.wake = engine, key, wake
        self._conn: AsyncConnection | None = None
        self._listener: _Listener | None = None

    async def __aenter__(self) -> _Leader:
        if is_sqlite(self.engine):
            return _Leader(True)
        self._conn = await self.engine.connect()
        got = (
            await self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            )
        ).scalar_one()
        await self._conn.commit()
        if not got:
            return _Leader(False)
        driver = (await self._conn.get_raw_connection()).driver_connection
        listener = _Listener(driver, self.wake)
        await listener.start()
        self._listener = listener
        return _Leader(True, listener)

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            listener, self._listener = self._listener, None
            try:
                if listener is not None:
                    await listener.stop()
                await conn.execute(text("SELECT pg_advisory_unlock_all()"))
                await conn.commit()
            except Exception:  # the connection is gone; so are its lock and listener
                await conn.invalidate()
            finally:
                await conn.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(
            waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for w in waiters:
            w.cancel()
