"""An in-process bus with Kafka's shape, for the embedded one-process demo only.

Each topic is one in-memory partition; each consumer group keeps its own committed
offset and re-reads from it after a restart of its subscriber, like a Kafka group.
Nothing survives the process: the demo's relay checkpoint lives with its SQLite data,
and the consumers' effects are idempotent, so a restart is still consistent.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from chassis.messaging.transport import (
    InboundMessage,
    OutboundMessage,
    Subscriber,
    Transport,
)


class InProcessBus(Transport):
    def __init__(self) -> None:
        self._logs: dict[str, list[InboundMessage]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, messages: Sequence[OutboundMessage]) -> int:
        async with self._changed:
            for m in messages:
                log = self._logs[m.topic]
                log.append(
                    InboundMessage(
                        topic=m.topic,
                        partition=0,
                        offset=len(log),
                        key=m.key,
                        value=m.value,
                        headers=list(m.headers),
                    )
                )
            self._changed.notify_all()
        return len(messages)

    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber:
        return InProcessSubscriber(self, group, list(topics))

    async def ensure_topics(self, topics: Sequence[str], partitions: int = 3) -> None:
        for topic in topics:
            self._logs.setdefault(topic, [])

    async def ping(self) -> None:
        return None

    def messages(self, topic: str) -> list[InboundMessage]:
        """Everything published to a topic (operators' view of a dead-letter topic)."""
        return list(self._logs.get(topic, ()))


class InProcessSubscriber(Subscriber):
    def __init__(self, bus: InProcessBus, group: str, topics: list[str]) -> None:
        self.bus, self.group, self.topics = bus, group, topics
        self._fetched: dict[str, int] = {}

    async def start(self) -> None:
        self._fetched = {t: self.bus._committed[(self.group, t)] for t in self.topics}

    async def stop(self) -> None:
        return None

    def _pending(self, max_records: int) -> list[InboundMessage]:
        out: list[InboundMessage] = []
        for topic in self.topics:
            log = self.bus._logs.get(topic, [])
            start = self._fetched.get(topic, 0)
            take = log[start : start + max_records - len(out)]
            self._fetched[topic] = start + len(take)
            out.extend(take)
        return out

    async def poll(self, timeout_s: float, max_records: int) -> list[InboundMessage]:
        async with self.bus._changed:
            batch = self._pending(max_records)
            if batch:
                return batch
            try:
                await asyncio.wait_for(self.bus._changed.wait(), timeout_s)
            except TimeoutError:
                return []
            return self._pending(max_records)

    async def commit(self, messages: Sequence[InboundMessage]) -> None:
        for m in messages:
            key = (self.group, m.topic)
            self.bus._committed[key] = max(self.bus._committed[key], m.offset + 1)
