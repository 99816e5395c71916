"""Events from the broker, fanned out to GraphQL subscriptions.

One consumer per gateway process reads the services' topics from their end (no
consumer group: every replica sees every event and commits nothing; a subscription
is live news, not a work queue) and hands each event to the subscriptions of its
tenant whose filter accepts it. A subscriber that cannot keep up loses its oldest
events rather than slowing everyone else down.

In the embedded mode the in-process bus stands in for Kafka; events already on the
bus when the hub starts are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chassis.envelope import Envelope, MalformedMessage
from chassis.messaging import topic_for
from chassis.messaging.transport import InboundMessage, Transport

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)

TOPICS = tuple(topic_for(s) for s in ("profiles", "matching", "sessions", "insights"))


@dataclass(eq=False)
class _Listener:
    tenant: str
    accepts: Callable[[Envelope], bool]
    queue: asyncio.Queue[Envelope] = field(
        default_factory=lambda: asyncio.Queue(maxsize=256)
    )


class EventHub:
    def __init__(
        self,
        *,
        bootstrap_servers: str | None = None,
        transport: Transport | None = None,
        topics: tuple[str, ...] = TOPICS,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._transport = transport
        self._topics = topics
        self._listeners: set[_Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()
        self.delivered = 0

    async def start(self) -> None:
        if self._bootstrap:
            await self._start_kafka()
            self._task = asyncio.create_task(self._run_kafka(), name="gateway-hub")
        elif self._transport is not None:
            self._task = asyncio.create_task(self._run_bus(), name="gateway-hub")
        self.ready.set()

    async def _start_kafka(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from chassis.messaging.kafka import KafkaTransport

        await KafkaTransport(self._bootstrap or "").ensure_topics(list(self._topics))
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        partitions = []
        for topic in self._topics:
            for p in await _partitions(consumer, topic):
                partitions.append(TopicPartition(topic, p))
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:  # fix each position now: later events are all seen
            await consumer.position(tp)
        self._consumer = consumer

    async def _run_kafka(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker may be away; keep trying
                log.warning("gateway hub: fetch failed", exc_info=True)
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for r in records:
                    self._dispatch_raw(list(r.headers or ()), r.value)

    async def _run_bus(self) -> None:
        assert self._transport is not None
        started = datetime.now(UTC)
        sub = self._transport.subscriber("gateway-hub", list(self._topics))
        await sub.start()
        try:
            while True:
                messages: list[InboundMessage] = await sub.poll(1.0, 500)
                for m in messages:
                    env = self._decode(m.headers, m.value)
                    if env is not None and env.time >= started:
                        self._dispatch(env)
                if messages:
                    await sub.commit(messages)
        finally:
            await sub.stop()

    def _decode(
        self, headers: Sequence[tuple[str, bytes]], value: bytes | None
    ) -> Envelope | None:
        try:
            return Envelope.from_kafka(headers, value)
        except MalformedMessage:
            return None

    def _dispatch_raw(
        self, headers: Sequence[tuple[str, bytes]], value: bytes | None
    ) -> None:
        env = self._decode(headers, value)
        if env is not None:
            self._dispatch(env)

    def _dispatch(self, env: Envelope) -> None:
        for listener in list(self._listeners):
            if listener.tenant != env.tenant:
                continue
            try:
                if not listener.accepts(env):
                    continue
            except Exception:
                log.exception("subscription filter failed")
                continue
            if listener.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    listener.queue.get_nowait()
            listener.queue.put_nowait(env)
            self.delivered += 1

    @asynccontextmanager
    async def listen(
        self, tenant: str, accepts: Callable[[Envelope], bool]
    ) -> AsyncIterator[asyncio.Queue[Envelope]]:
        """Events of ``tenant`` that ``accepts`` keeps, while the block runs."""
        listener = _Listener(tenant, accepts)
        self._listeners.add(listener)
        try:
            yield listener.queue
        finally:
            self._listeners.discard(listener)

    @property
    def listener_count(self) -> int:
        """Subscriptions listening now (operators and tests read it)."""
        return len(self._listeners)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")
