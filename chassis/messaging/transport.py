"""The publish/subscribe interface that Kafka and the in-process bus both implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from chassis.envelope import Envelope, Headers


class MessageTooLarge(Exception):
    """The broker refuses a message for its size: sending it again cannot help."""


@dataclass(frozen=True)
class OutboundMessage:
    topic: str
    key: bytes
    value: bytes
    headers: Headers = field(default_factory=list)

    @classmethod
    def of(
        cls,
        topic: str,
        envelope: Envelope,
        extra_headers: Sequence[tuple[str, bytes]] = (),
    ) -> OutboundMessage:
        return cls(
            topic=topic,
            key=envelope.kafka_key(),
            value=envelope.kafka_value(),
            headers=[*envelope.kafka_headers(), *extra_headers],
        )


@dataclass(frozen=True)
class InboundMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    timestamp_ms: int | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", errors="replace")
        return None


class Subscriber(ABC):
    """One consumer-group member reading some topics."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def poll(self, timeout_s: float, max_records: int) -> list[InboundMessage]:
        """The next messages, partition order kept; empty when none came in time."""

    @abstractmethod
    async def commit(self, messages: Sequence[InboundMessage]) -> None:
        """Record that these messages (and all before them per partition) are done."""


class Transport(ABC):
    """A message broker as the chassis sees it."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def publish(self, messages: Sequence[OutboundMessage]) -> int:
        """Publish in order; returns how many leading messages were acknowledged.

        Returns ``len(messages)`` when all were; raises only when none was, with
        ``MessageTooLarge`` when the first message was refused for its size.
        """

    def fits(self, message: OutboundMessage) -> bool:
        """False when ``message`` is larger than this broker would ever accept."""
        return True

    @abstractmethod
    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber: ...

    @abstractmethod
    async def ensure_topics(
        self, topics: Sequence[str], partitions: int = 3
    ) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Readiness probe: raise if the broker cannot be reached."""


def topic_for(service: str) -> str:
    """The integration topic of a producing service: ``tandem.<service>.v1``."""
    return f"tandem.{service}.v1"


# A replayed dead letter names the consumer group it is replayed for: the topic's
# other groups applied the message already (or hold a letter of their own), and let
# it pass. So replaying stays harmless to them after their ``processed_events`` marks
# of the event were pruned (``chassis.messaging.consumer.prune_marks``).
REPLAY_FOR = "x-tandem-replay-for"


def dead_letter_topic(consumer: str) -> str:
    """The dead-letter topic of a consumer group: ``tandem.<service>.dlt`` for the
    group ``tandem.<service>`` (a group named otherwise gets ``tandem.<group>.dlt``)."""
    return f"tandem.{consumer.removeprefix('tandem.')}.dlt"
