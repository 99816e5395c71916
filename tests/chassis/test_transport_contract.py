"""One contract, two transports: the Kafka transport and the in-process bus (the
embedded mode's) keep the same promises the relay and the consumers rely on.

- everything published is delivered to every consumer group, with key, value and
  headers intact, in publication order for one key;
- a group resumes after what it committed: committed messages are not delivered to
  the group again, uncommitted ones are;
- ``poll`` answers empty when nothing comes in time; ``ping`` answers when up.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from chassis.messaging import InProcessBus, OutboundMessage, Transport
from chassis.messaging.kafka import KafkaTransport
from chassis.messaging.transport import InboundMessage, Subscriber
from tests.support.waiting import until


@pytest.fixture(params=[pytest.param("kafka", marks=pytest.mark.kafka), "in-process"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    made: Transport
    if request.param == "kafka":
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        made = KafkaTransport(bootstrap)
    else:
        made = InProcessBus()
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture
async def topic(transport: Transport) -> str:
    name = f"contract.{uuid.uuid4().hex[:8]}"
    await transport.ensure_topics([name], partitions=3)
    return name


def messages(topic: str, keys: list[str]) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            topic=topic,
            key=key.encode(),
            value=f'{{"n": {n}}}'.encode(),
            headers=[("ce_type", b"ThingHappened"), ("n", str(n).encode())],
        )
        for n, key in enumerate(keys)
    ]


async def drain(
    subscriber: Subscriber, count: int, *, commit: bool = False
) -> list[InboundMessage]:
    got: list[InboundMessage] = []

    async def enough() -> bool:
        batch = await subscriber.poll(0.2, 100)
        if commit and batch:
            await subscriber.commit(batch)
        got.extend(batch)
        return len(got) >= count

    await until(enough, f"{count} messages", timeout_s=60)
    return got


async def test_every_group_gets_everything_in_order_per_key(
    transport: Transport, topic: str
) -> None:
    keys = ["a", "b", "c", "a", "b", "a", "c", "a"]
    assert await transport.publish(messages(topic, keys)) == len(keys)
    for group in ("g1", "g2"):
        subscriber = transport.subscriber(f"{group}-{topic}", [topic])
        await subscriber.start()
        try:
            got = await drain(subscriber, len(keys))
        finally:
            await subscriber.stop()
        assert len(got) == len(keys)
        for key in set(keys):
            numbers = [int(m.header("n") or -1) for m in got if m.key == key.encode()]
            assert numbers == [n for n, k in enumerate(keys) if k == key]
        first = next(m for m in got if m.header("n") == "0")
        assert first.value == b'{"n": 0}' and first.header("ce_type") == "ThingHappened"
        assert first.topic == topic


async def test_a_group_resumes_after_what_it_committed(
    transport: Transport, topic: str
) -> None:
    group = f"resume-{topic}"
    await transport.publish(messages(topic, ["k"] * 4))
    first = transport.subscriber(group, [topic])
    await first.start()
    try:
        done = await drain(first, 4, commit=True)
    finally:
        await first.stop()
    assert [m.header("n") for m in done] == ["0", "1", "2", "3"]

    await transport.publish(messages(topic, ["k"] * 6)[4:])
    second = transport.subscriber(group, [topic])
    await second.start()
    try:
        rest = await drain(second, 2)  # read, not committed
    finally:
        await second.stop()
    assert [m.header("n") for m in rest] == ["4", "5"]

    third = transport.subscriber(group, [topic])
    await third.start()
    try:
        again = await drain(third, 2)
    finally:
        await third.stop()
    assert [m.header("n") for m in again] == ["4", "5"]  # uncommitted: delivered again


async def test_poll_answers_empty_in_time_and_ping_answers(
    transport: Transport, topic: str
) -> None:
    subscriber = transport.subscriber(f"idle-{topic}", [topic])
    await subscriber.start()
    try:
        assert await subscriber.poll(0.3, 10) == []
    finally:
        await subscriber.stop()
    await transport.ping()
