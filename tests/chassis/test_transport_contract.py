"""One contract, two transports: the Kafka transport and the in-process bus (the
embedded mode's) keep the same promises the relay and the consumers rely on.

- everything published is delivered to every consumer group, with key, value and
  headers intact, in publication order for one key;
- a group resumes after what it committed: committed messages are not delivered to
  the group again, uncommitted ones are;
- ``poll`` answers empty when nothing comes in time; ``ping`` answers when up;
- an event the relay publishes is a CloudEvent in the Kafka binding's binary content
  mode, headers exactly the binding's; a message in the shape sent before the
  prefixed ``ce_type`` is still consumed, as the same envelope.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, EventPayload, EventRegistry, NewEvent
from chassis.eventstore import event_store_for
from chassis.messaging import (
    ConsumerRunner,
    InProcessBus,
    OutboundMessage,
    Relay,
    Transport,
)
from chassis.messaging.kafka import KafkaTransport
from chassis.messaging.transport import InboundMessage, Subscriber
from chassis.publication import Publication
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


# -- the CloudEvents Kafka protocol binding, binary content mode ------------------------

contracts = EventRegistry()


@contracts.register
class PersonRegistered(EventPayload):
    """v2 renamed ``grade`` to ``level``."""

    schema_version: ClassVar[int] = 2
    person_id: str
    level: int


@contracts.upcaster("PersonRegistered", 1)
def _grade_became_level(data: dict) -> dict:
    return {"person_id": data["person_id"], "level": data["grade"]}


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
# The CloudEvents attributes an event with an actor, a correlation and a trace
# context carries, each once, as ``ce_`` headers (no ``ce_datacontenttype``).
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_tenant",
    "ce_schemaversion",
    "ce_streamtype",
    "ce_streamversion",
    "ce_partitionkey",
    "ce_actor",
    "ce_correlationid",
    "ce_traceparent",
}
# Besides them: the data's content type, and the publish span's W3C trace context.
OTHER_HEADERS = {"content-type"}
TRACE_HEADERS = {"traceparent", "tracestate"}


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(sqlite_url)
    yield made
    await made.dispose()


async def test_a_published_event_carries_exactly_the_bindings_headers(
    transport: Transport, topic: str, engine: AsyncEngine
) -> None:
    store = event_store_for(engine)
    await store.create_schema()
    meta = EventMetadata(tenant="acme", actor="coordinator-1", traceparent=TRACEPARENT)
    (recorded,) = await store.append(
        "person-1",
        "Person",
        0,
        [NewEvent("PersonRegistered", {"person_id": "person-1", "grade": 7})],
        meta,
    )
    relay = Relay(
        store,
        transport,
        topic=topic,
        source="tandem/profiles",
        translate=Publication(contracts, "tandem/profiles"),
    )
    assert await relay.run_once() == 1

    subscriber = transport.subscriber(f"binding-{topic}", [topic])
    await subscriber.start()
    try:
        (message,) = await drain(subscriber, 1)
    finally:
        await subscriber.stop()

    names = [name for name, _ in message.headers]
    assert len(names) == len(set(names)), f"a header sent twice: {names}"
    assert {n for n in names if n.startswith("ce_")} == CE_HEADERS
    assert OTHER_HEADERS <= set(names) <= CE_HEADERS | OTHER_HEADERS | TRACE_HEADERS
    header = message.header
    assert header("content-type") == "application/json"  # the datacontenttype
    assert header("ce_specversion") == "1.0"
    assert header("ce_id") == str(recorded.id)
    assert header("ce_source") == "tandem/profiles"
    assert header("ce_type") == "org.tandem.profiles.PersonRegistered.v2"
    assert header("ce_schemaversion") == "2"
    assert RFC3339.fullmatch(header("ce_time") or ""), header("ce_time")
    assert header("ce_subject") == header("ce_partitionkey") == "person-1"
    assert message.key == b"person-1"
    assert (header("ce_tenant"), header("ce_actor")) == ("acme", "coordinator-1")
    assert (header("ce_streamtype"), header("ce_streamversion")) == ("Person", "1")
    assert header("ce_traceparent") == TRACEPARENT
    assert message.value is not None
    assert json.loads(message.value) == {"person_id": "person-1", "level": 7}

    got = Envelope.from_kafka(message.headers, message.value)
    assert (got.type, got.schema_version) == ("PersonRegistered", 2)
    assert got.time == recorded.time


def _old_shape(envelope: Envelope) -> OutboundMessage:
    """``envelope`` as the releases up to 0.1.0 sent it: a bare ``ce_type``, and the
    content type twice (``ce_datacontenttype`` and ``content-type``)."""
    attrs = {
        "specversion": "1.0",
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "subject": envelope.subject,
        "time": envelope.time.isoformat(),
        "datacontenttype": "application/json",
        "tenant": envelope.tenant,
        "schemaversion": str(envelope.schema_version),
        "streamtype": envelope.stream_type,
        "streamversion": str(envelope.stream_version),
        "partitionkey": envelope.subject,
        "actor": envelope.actor or "",
        "correlationid": envelope.correlation_id or "",
    }
    return OutboundMessage(
        topic="",
        key=envelope.kafka_key(),
        value=envelope.kafka_value(),
        headers=[
            *[(f"ce_{k}", v.encode()) for k, v in attrs.items()],
            ("content-type", b"application/json"),
        ],
    )


def registered(n: int, schema_version: int = 2) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="PersonRegistered",
        subject=f"person-{n}",
        time=NewEvent("x", {}).time,
        data={"person_id": f"person-{n}", "level": n},
        tenant="acme",
        schema_version=schema_version,
        stream_type="Person",
        stream_version=1,
        actor="coordinator-1",
        correlation_id=f"corr-{n}",
    )


async def test_a_message_in_the_old_shape_is_still_consumed_as_the_same_envelope(
    transport: Transport, topic: str, engine: AsyncEngine
) -> None:
    old, new = registered(1), registered(2)
    old_message = _old_shape(old)
    assert dict(old_message.headers)["ce_type"] == b"PersonRegistered"
    assert (
        await transport.publish(
            [
                OutboundMessage(
                    topic, old_message.key, old_message.value, old_message.headers
                ),
                OutboundMessage.of(topic, new),
            ]
        )
        == 2
    )

    seen: list[Envelope] = []

    async def on_registered(envelope: Envelope, conn: AsyncConnection) -> None:
        seen.append(envelope)

    runner = ConsumerRunner(
        name=f"legacy-{topic}",
        topics=[topic],
        engine=engine,
        transport=transport,
        handlers={"PersonRegistered": on_registered},  # keyed by the bare name
        poll_timeout_s=0.2,
    )
    await runner.start()
    try:

        async def both() -> bool:
            await runner.poll_once()
            return runner.applied >= 2

        await until(both, "both messages applied", timeout_s=60)
    finally:
        await runner.stop()
    assert runner.dead_letters == 0
    assert sorted(seen, key=lambda e: e.subject) == [old, new]
