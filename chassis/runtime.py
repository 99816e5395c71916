"""One service's moving parts, composed once: database, event store, relay, consumers.

A service's ``main.py`` builds a ``ServiceRuntime`` from its settings and hands its
lifespan and readiness checks to the HTTP app factory; tests and the embedded launcher
build the same thing with other parts (an SQLite URL, the in-process bus).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import Scrubber, create_engine, is_sqlite, ping
from chassis.eventstore import EventStore, event_store_for
from chassis.messaging import (
    ConsumerRunner,
    Handler,
    InProcessBus,
    Relay,
    Transport,
    create_consumer_schema,
    dead_letter_topic,
    kafka_transport,
    topic_for,
)
from chassis.messaging.consumer import prune_marks
from chassis.messaging.relay import Translate
from chassis.migrations import migrate_on_start
from chassis.settings import ServiceSettings
from chassis.tables import add_missing_columns

log = logging.getLogger(__name__)
MARKS_JOB, MARKS_PRUNED_S = "processed-marks-retention", 3600.0  # hourly


class ServiceRuntime:
    """Owns a service's engine, store, relay and consumer group, and runs them."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        consumes: Sequence[str] = (),
        handlers: Mapping[str, Handler] | None = None,
        translate: Translate | None = None,
        transport: Transport | None = None,
        engine: AsyncEngine | None = None,
        setup: Callable[[AsyncEngine], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.engine = engine or create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        # Clears the embedded database's log after an erasure (chassis.db.Scrubber).
        self.scrubber = Scrubber(self.engine)
        self.store: EventStore = event_store_for(
            self.engine, max_event_bytes=settings.max_event_bytes
        )
        if transport is None:
            servers = settings.kafka_bootstrap_servers
            transport = (
                kafka_transport(servers, self.name) if servers else InProcessBus()
            )
        self.transport = transport
        self.topic = topic_for(self.name)
        self.relay = Relay(
            self.store,
            self.transport,
            topic=self.topic,
            source=f"tandem/{self.name}",
            translate=translate,
            # One quarantine per service: its consumer group's dead-letter topic.
            quarantine_topic=dead_letter_topic(f"tandem.{self.name}"),
        )
        # A service that consumes topics has a consumer group.
        self.consumer: ConsumerRunner | None = None
        self.tables: MetaData | None = None
        self._setups: list[Callable[[AsyncEngine], Awaitable[None]]] = []
        self._background: list[tuple[str, Callable[[], Awaitable[None]], float]] = []
        self.mount(consumes=consumes, handlers=handlers or {}, translate=translate)
        if setup is not None:
            self._setups.append(setup)
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def mount(
        self,
        *,
        consumes: Sequence[str] = (),
        handlers: Mapping[str, Handler] | None = None,
        translate: Translate | None = None,
        tables: MetaData | None = None,
        setup: Sequence[Callable[[AsyncEngine], Awaitable[None]]] = (),
    ) -> None:
        """Give the runtime a service's moving parts (``chassis.service.serve`` does,
        from the service's ``ServicePart``), before ``start``."""
        if translate is not None:
            self.relay.translate = translate
        if consumes:
            self.consumer = ConsumerRunner(
                name=f"tandem.{self.name}",
                topics=list(consumes),
                engine=self.engine,
                transport=self.transport,
                handlers=dict(handlers or {}),
            )
            if not any(name == MARKS_JOB for name, _, _ in self._background):
                self.every(MARKS_JOB, self.prune_marks, MARKS_PRUNED_S)
        if tables is not None:
            self.tables = tables
        self._setups.extend(setup)

    async def prepare(self) -> None:
        """Migrate, then create the store's and the consumers' tables and the service's.

        On PostgreSQL the service's Alembic revisions run first (``migrate_on_start``),
        under an advisory lock so replicas starting together take turns. The
        idempotent DDL after them is then a no-op safety net; SQLite (the embedded
        demo) has no migrations and relies on it alone.
        """
        if self.settings.migrate_on_start:
            await migrate_on_start(self.engine, self.name)
        await self.store.create_schema()
        await create_consumer_schema(self.engine)
        if self.tables is not None:
            tables = self.tables
            async with self.engine.begin() as conn:
                await conn.run_sync(lambda sync: tables.create_all(sync))
                if is_sqlite(self.engine):
                    added = await conn.run_sync(
                        lambda sync: add_missing_columns(sync, tables)
                    )
                    if added:
                        log.info("%s: added columns %s", self.name, added)
        for setup in self._setups:
            await setup(self.engine)

    async def start(self) -> None:
        await self.prepare()
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._supervise("relay", self._run_relay))]
        if self.consumer is not None:
            self._tasks.append(
                asyncio.create_task(self._supervise("consumer", self._consume))
            )
        for name, job, every_s in self._background:
            loop = self._every(job, every_s)
            self._tasks.append(asyncio.create_task(self._supervise(name, loop)))

    def every(
        self, name: str, job: Callable[[], Awaitable[None]], seconds: float
    ) -> None:
        """Run ``job`` every ``seconds`` while the service runs (expiry sweeps, say)."""
        self._background.append((name, job, seconds))

    async def prune_marks(self) -> None:
        """The consumer's marks past their retention, deleted (``prune_marks``)."""
        pruned = await prune_marks(self.engine, self.settings.processed_retention_days)
        if pruned:
            log.info("%s: %d processed-event marks pruned", self.name, pruned)

    def _every(
        self, job: Callable[[], Awaitable[None]], seconds: float
    ) -> Callable[[], Awaitable[None]]:
        async def loop() -> None:
            while not self._stop.is_set():
                await job()
                try:
                    await asyncio.wait_for(self._stop.wait(), seconds)
                except TimeoutError:
                    pass

        return loop

    async def stop(self) -> None:
        for hook in self.on_stop:  # the service's own background work goes first
            await hook()
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self._tasks = []
        await self.transport.stop()
        await self.scrubber.wait()
        await self.engine.dispose()

    async def _run_relay(self) -> None:
        await self.transport.ensure_topics([self.topic], self.settings.topic_partitions)
        await self.relay.run(self._stop)

    async def _consume(self) -> None:
        assert self.consumer is not None
        await self.consumer.run(self._stop)

    async def _supervise(self, what: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a background loop alive: a broker that is away now may come back."""
        backoff = 0.5
        while not self._stop.is_set():
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "%s %s stopped (%s); restarting in %.1fs",
                    self.name,
                    what,
                    exc,
                    backoff,
                )
                try:
                    await asyncio.wait_for(self._stop.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 10)

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {"database": lambda: ping(self.engine), "broker": self.transport.ping}

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
