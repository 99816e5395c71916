"""Kafka transport (aiokafka): idempotent producer, manual-commit consumer groups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    TopicAlreadyExistsError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from chassis.messaging.transport import (
    InboundMessage,
    MessageTooLarge,
    OutboundMessage,
    Subscriber,
    Transport,
)

log = logging.getLogger(__name__)


# The producer's ``max_request_size`` (aiokafka's default): a larger record is
# refused before it is sent. Brokers take up to ``message.max.bytes`` (1,048,588 by
# default); a topic or broker set lower refuses with MESSAGE_TOO_LARGE instead.
MAX_REQUEST_BYTES = 1024 * 1024

# The most bytes of one partition's records sent in one request. aiokafka keeps ONE
# produce request in flight per broker (``Sender``: the node is ignored until its
# request returns) carrying at most one batch per partition; with its default
# (16 KiB) a relay's batch of 500 events of about 1 KiB went out as a dozen requests
# per partition, one round trip after another. 256 KiB sends such a batch in one
# request per partition. A topic's ``max.message.bytes`` must not be below it (Kafka's
# default is 1 MiB): the broker would refuse the whole batch, and the relay would
# isolate its messages one round at a time.
MAX_BATCH_BYTES = 256 * 1024


class KafkaTransport(Transport):
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "tandem",
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.max_request_bytes = max_request_bytes
        self.max_batch_bytes = max_batch_bytes
        self._producer: AIOKafkaProducer | None = None

    def fits(self, message: OutboundMessage) -> bool:
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            message.key, message.value, list(message.headers)
        )
        return bool(size <= self.max_request_bytes)

    async def start(self) -> None:
        await self._ensure_producer()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                # Retries never duplicate or reorder a partition.
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
                max_batch_size=self.max_batch_bytes,
                request_timeout_ms=15_000,
                retry_backoff_ms=200,
                max_request_size=self.max_request_bytes,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def publish(self, messages: Sequence[OutboundMessage]) -> int:
        """Send ``messages``; how many, from the first, the broker acknowledged.

        Records are written straight into one record batch per partition (more when
        a partition's records exceed ``max_batch_bytes``), each batch submitted
        closed (no linger) and acknowledged as a whole: one future per batch
        instead of one ``send`` and one future per message (measured: about half
        the producer's CPU per message). Partitions are chosen by the producer's
        own partitioner (the key's hash, as ``send`` does), so a stream stays on
        its partition, and within it records keep their order. A message larger
        than ``max_request_bytes`` stops the batch there: what comes before it is
        sent, and it is refused (``MessageTooLarge`` when it is the first).
        """
        if not messages:
            return 0
        producer = await self._ensure_producer()
        batches: list[tuple[str, int, Any]] = []  # (topic, partition, builder)
        owner: list[int] = []  # index in ``batches`` of each message's batch
        open_: dict[tuple[str, int], int] = {}  # the partition's open batch
        refused: BaseException | None = None
        try:
            partitions: dict[str, None] = {}
            for m in messages:
                if m.topic not in partitions:
                    await producer.partitions_for(m.topic)  # metadata known
                    partitions[m.topic] = None
            for m in messages:
                headers = list(m.headers)
                if (
                    DefaultRecordBatchBuilder.estimate_size_in_bytes(
                        m.key, m.value, headers
                    )
                    > self.max_request_bytes
                ):
                    raise MessageSizeTooLargeError(
                        f"a message of about {len(m.value) + len(m.key)} bytes is "
                        "larger than the maximum request size"
                    )
                partition = producer._partition(
                    m.topic, None, m.key, m.value, m.key, m.value
                )
                where = (m.topic, partition)
                n = open_.get(where)
                if n is None or (
                    batches[n][2].append(
                        timestamp=None, key=m.key, value=m.value, headers=headers
                    )
                    is None
                ):
                    builder = producer.create_batch()
                    if (
                        builder.append(
                            timestamp=None, key=m.key, value=m.value, headers=headers
                        )
                        is None
                    ):  # an empty batch takes any record; defensive
                        raise MessageSizeTooLargeError("the record fits no batch")
                    n = open_[where] = len(batches)
                    batches.append((m.topic, partition, builder))
                owner.append(n)
        except MessageSizeTooLargeError as exc:
            if not owner:
                raise MessageTooLarge(str(exc)) from exc
            refused = exc  # publish what came before it; it comes first next time
        except KafkaError:  # no metadata (broker away): nothing was submitted
            await self._reset()
            raise
        # Submit every partition's first batch before any second one: a partition's
        # next batch waits until the one before it is drained.
        order = sorted(range(len(batches)), key=lambda n: _rank(batches, n))
        futures: dict[int, asyncio.Future[Any]] = {}
        try:
            for n in order:
                topic, partition, builder = batches[n]
                builder.close()
                futures[n] = await producer.send_batch(
                    builder, topic, partition=partition
                )
        except KafkaError:
            if not futures:
                await self._reset()
                raise
        done = await asyncio.gather(*futures.values(), return_exceptions=True)
        results: dict[int, Any] = dict(zip(futures, done, strict=True))
        acknowledged = 0
        for n in owner:
            result = results.get(n, _NOT_SENT)
            if isinstance(result, BaseException):
                refused = result if _too_large(result) else None
                break
            acknowledged += 1
        if acknowledged < len(owner) or (
            acknowledged < len(messages) and refused is None
        ):
            # Start over with a fresh producer session: the failed tail is re-sent.
            await self._reset()
        if acknowledged == 0:
            if refused is not None:
                raise MessageTooLarge(str(refused)) from refused
            first = next((r for r in done if isinstance(r, BaseException)), None)
            raise (
                first if isinstance(first, Exception) else KafkaError("publish failed")
            )
        return acknowledged

    async def _reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except (TimeoutError, KafkaError, OSError):
                log.warning("producer did not stop cleanly", exc_info=True)

    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber:
        return KafkaSubscriber(
            self.bootstrap_servers, group, list(topics), self.client_id
        )

    async def ensure_topics(self, topics: Sequence[str], partitions: int = 3) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                try:
                    await admin.create_topics(
                        [
                            NewTopic(t, num_partitions=partitions, replication_factor=1)
                            for t in missing
                        ]
                    )
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()

    async def ping(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, request_timeout_ms=2_000
        )
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()


# How long the broker may hold a fetch that has no data yet. aiokafka's default (500 ms)
# is a latency floor, not only an idle wait: while records of a partition sit in the
# consumer's buffer, the fetcher sends the node a request WITHOUT that partition and
# will not send another until it returns; if the node's other partitions stay empty,
# the broker holds it the full wait, and a new record on the buffered partition waits
# with it (aiokafka ``Fetcher._get_actions_per_node``). With keyed events spread over
# several partitions and topics that is most of the time: lags gathered at 0.5-1 s.
# 50 ms bounds that added wait; an idle consumer costs about 20 small fetches/s.
FETCH_MAX_WAIT_MS = 50


class KafkaSubscriber(Subscriber):
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        client_id: str,
        *,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,  # offsets are committed after the effect
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_s: float, max_records: int) -> list[InboundMessage]:
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        out: list[InboundMessage] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    InboundMessage(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=r.offset,
                        key=r.key,
                        value=r.value,
                        headers=list(r.headers or ()),
                        timestamp_ms=r.timestamp,
                    )
                )
        return out

    async def commit(self, messages: Sequence[InboundMessage]) -> None:
        """Commit past ``messages``, for the partitions this member still holds: a
        partition taken away by a rebalance is redelivered to its new owner from
        its last commit (applied events are deduplicated), and committing it here
        would only fail, again and again."""
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
        held = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in held}
        if offsets:
            await self._consumer.commit(offsets)

    async def lag(self) -> int:
        """Messages behind the partitions' high watermarks (consumer lag)."""
        total = 0
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                total += max(0, high - await self._consumer.position(tp))
        return total


_NOT_SENT = KafkaError("the batch was not submitted")


def _rank(batches: list[tuple[str, int, Any]], n: int) -> tuple[int, int]:
    """Submission order: a batch's rank within its partition, then its index."""
    topic, partition, _ = batches[n]
    earlier = sum(1 for t, p, _ in batches[:n] if t == topic and p == partition)
    return earlier, n


def _too_large(error: BaseException) -> bool:
    return isinstance(error, MessageSizeTooLargeError)
