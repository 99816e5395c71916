"""The relay: the event store is the outbox, and this publishes it to the broker.

It follows the global log from its checkpoint, publishes each committed event (key =
stream id, so a stream stays on one partition, in order), and moves the checkpoint past
what the broker acknowledged. While the broker is down, appends keep succeeding and the
relay keeps retrying from its checkpoint; nothing acknowledged by the store is lost.
Only one relay per service publishes at a time (a PostgreSQL advisory lock).

Metrics (attribute ``topic``): ``tandem.relay.lag``, a histogram of the ms from an
event's time (when the service recorded it) to the broker's acknowledgement;
``tandem.relay.backlog``, a gauge of the committed events after the checkpoint, not yet
published (sampled at most every ``backlog_every_s``, also while the broker is down);
``tandem.relay.published``, a counter.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from opentelemetry import metrics
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.events import LogPosition, RecordedEvent
from chassis.eventstore import EventStore
from chassis.messaging.tracing import publish_span
from chassis.messaging.transport import OutboundMessage, Transport

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
# Row comparison in log order (transaction, position); SQLite's rows all have tx 0.
COUNT_AFTER = text("SELECT count(*) FROM events WHERE (tx_id, position) > (:tx, :pos)")

# What a stored event becomes on the topic: itself by default, other envelopes, or
# nothing (an internal event). May be async (to decrypt what it publishes, say).
Translate = Callable[
    [RecordedEvent], Sequence[Envelope] | Awaitable[Sequence[Envelope]]
]


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
        max_backoff_s: float = 5.0,
        backlog_every_s: float = 5.0,
    ) -> None:
        self.store = store
        self.transport = transport
        self.topic = topic
        self.source = source
        self.name = name or f"relay:{topic}"
        self.translate = translate or (lambda e: [Envelope.from_recorded(e, source)])
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s
        self.max_backoff_s = max_backoff_s
        self.backlog_every_s = backlog_every_s
        self.backlog: int | None = None  # last sampled (None: not yet)
        self._backlog_at = float("-inf")
        self.checkpoints = CheckpointStore(store.engine)
        self.position: LogPosition | None = None
        self.published = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the relay now (after a local append) rather than at its next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish the next batch after the checkpoint; returns how many it moved."""
        if self.position is None:
            self.position = await self.checkpoints.load(self.name)
        events = await self.store.read_log(self.position, self.batch_size)
        if not events:
            self._set_backlog(0)  # nothing committed is left to publish
            return 0
        messages: list[OutboundMessage] = []
        owners: list[int] = []  # index of the event each message came from
        for i, event in enumerate(events):
            envelopes = self.translate(event)
            if inspect.isawaitable(envelopes):
                envelopes = await envelopes
            for envelope in envelopes:
                with publish_span(envelope, self.topic) as (_span, trace_headers):
                    messages.append(
                        OutboundMessage.of(self.topic, envelope, trace_headers)
                    )
                owners.append(i)
        acknowledged = await self.transport.publish(messages) if messages else 0
        if acknowledged == len(messages):
            done = len(events)
        else:  # only events whose every message was acknowledged count as done
            done = owners[acknowledged] if acknowledged < len(owners) else len(events)
        if done:
            self.position = events[done - 1].position
            await self.checkpoints.save(self.name, self.position)
            now = datetime.now(UTC)
            attributes = {"topic": self.topic}
            for event in events[:done]:
                lag = max(0.0, (now - event.time).total_seconds() * 1000)
                relay_lag_ms.record(lag, attributes)
            relay_published.add(done, attributes)
            self.published += done
        await self.sample_backlog()
        return done

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
                    while not stop.is_set():
                        moved = await self.run_once()
                        self.last_error = None
                        backoff = 0.1
                        if moved < self.batch_size:
                            self._wake.clear()
                            await _wait_any(stop, self._wake, self.idle_wait_s)
            except asyncio.CancelledError:
                raise
            except (
                Exception
            ) as exc:  # broker or database away: keep the checkpoint, retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("relay %s paused: %s", self.name, self.last_error)
                self.position = None  # reload: a failed save must not skip ahead
                await self.sample_backlog()  # it grows while the broker is away
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _leadership(self) -> _Leadership:
        return _Leadership(self.store.engine, _lock_key(self.name))


class _Leadership:
    """Holds a session advisory lock while the relay publishes (PostgreSQL only)."""

    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self.engine, self.key = engine, key
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> bool:
        if is_sqlite(self.engine):
            return True
        self._conn = await self.engine.connect()
        got = (
            await self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            )
        ).scalar_one()
        await self._conn.commit()
        return bool(got)

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.execute(text("SELECT pg_advisory_unlock_all()"))
                await conn.commit()
            except Exception:  # the connection is gone; so is its lock
                pass
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
