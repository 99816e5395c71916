"""Relay and consumer runner on the real Kafka broker and PostgreSQL.

Redelivery changes nothing, a poison message is dead-lettered without blocking its
partition, a broker outage loses and doubles nothing, and one trace runs from the
request through the append, the publish and the consumer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, NewEvent
from chassis.eventstore import event_store_for
from chassis.messaging import ConsumerRunner, OutboundMessage, Relay
from chassis.messaging.kafka import KafkaTransport
from chassis.telemetry import current_traceparent, setup_telemetry
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
META = EventMetadata(tenant="acme", actor="coordinator-1")


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout_s: float = 60
) -> None:
    await until(condition, "the condition", timeout_s)


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE effects (event_id TEXT NOT NULL, n INTEGER NOT NULL)")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
async def store(engine):
    store = event_store_for(engine)
    await store.create_schema()
    return store


@pytest.fixture
async def transport(kafka_bootstrap):
    transport = KafkaTransport(kafka_bootstrap)
    yield transport
    await transport.stop()


@pytest.fixture
def topic() -> str:
    return f"test.messaging.{uuid.uuid4().hex[:8]}"


async def record_effect(envelope: Envelope, conn: AsyncConnection) -> None:
    if envelope.data.get("poison"):
        raise ValueError("cannot apply a poisoned thing")
    await conn.execute(
        text("INSERT INTO effects (event_id, n) VALUES (:e, :n)"),
        {"e": envelope.id, "n": envelope.data["n"]},
    )


async def effects(engine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT event_id, n FROM effects"))).all()
    return [(r.event_id, r.n) for r in rows]


def runner_for(engine, transport, topic, name=None) -> ConsumerRunner:
    return ConsumerRunner(
        name=name or f"test-{uuid.uuid4().hex[:6]}",
        topics=[topic],
        engine=engine,
        transport=transport,
        handlers={"ThingHappened": record_effect},
        retry_backoff_s=0.01,
        poll_timeout_s=0.2,
    )


def message(topic: str, n: int, *, stream: str = "s-1", **data) -> OutboundMessage:
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type="ThingHappened",
        subject=stream,
        time=NewEvent("x", {}).time,
        data={"n": n, **data},
        tenant="acme",
    )
    return OutboundMessage.of(topic, envelope)


async def test_the_same_message_delivered_twice_has_one_effect(
    engine, transport, topic
):
    await transport.ensure_topics([topic])
    first = message(topic, 1)
    # A producer retry that wrote the message twice …
    await transport.publish([first, first, message(topic, 2)])

    # … and a consumer that applied everything but died before committing its offsets.
    crashed = runner_for(engine, transport, topic, name="test-redelivery")
    await crashed.start()
    handled = []
    await eventually(lambda: _poll_without_commit(crashed, handled, 3))
    await crashed.stop()

    again = runner_for(engine, transport, topic, name="test-redelivery")
    await again.start()
    await eventually(lambda: _poll(again, lambda: again.duplicates >= 3))
    await again.stop()

    assert sorted(n for _, n in await effects(engine)) == [1, 2]
    assert crashed.applied + again.applied == 2
    assert crashed.duplicates + again.duplicates == 4


async def _poll_without_commit(
    runner: ConsumerRunner, handled: list, count: int
) -> bool:
    batch = await runner._subscriber.poll(0.2, 100)
    for m in batch:
        await runner.handle(m)
    handled.extend(batch)
    return len(handled) >= count


async def _poll(runner: ConsumerRunner, done: Callable[[], bool]) -> bool:
    await runner.poll_once()
    return done()


async def test_poison_message_is_dead_lettered_and_the_partition_flows(
    engine, transport, topic, kafka_bootstrap
):
    await transport.ensure_topics([topic])
    poison = message(topic, 1, poison=True)
    garbage = OutboundMessage(topic=topic, key=b"s-1", value=b"{not json", headers=[])
    await transport.publish([poison, garbage, message(topic, 2)])

    runner = runner_for(engine, transport, topic)
    await runner.start()
    await eventually(lambda: _poll(runner, lambda: runner.applied >= 1))
    await runner.stop()

    assert [n for _, n in await effects(engine)] == [2]
    assert runner.dead_letters == 2
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT error, attempts, event_type FROM dead_letters")
            )
        ).all()
    by_type = {r.event_type: r for r in rows}
    assert "ValueError: cannot apply a poisoned thing" in by_type["ThingHappened"].error
    assert by_type["ThingHappened"].attempts == runner.max_attempts
    assert any("MalformedMessage" in r.error and r.attempts == 1 for r in rows)

    dead = await read_topic(kafka_bootstrap, runner.dead_letter_topic, 2)
    headers = dict(dead[0].headers)
    assert headers["x-tandem-error"].startswith(b"ValueError")
    assert headers["x-tandem-original-topic"] == topic.encode()
    assert (
        headers["ce_id"].decode()
        == Envelope.from_kafka(poison.headers, poison.value).id
    )


async def test_a_batch_in_one_transaction_falls_back_to_one_at_a_time_on_a_poison(
    engine, transport, topic
):
    """Batched: one commit per polled batch; a poison in it costs nothing else."""
    await transport.ensure_topics([topic])
    good = [message(topic, n) for n in range(1, 21)]
    poison = message(topic, 99, poison=True)
    await transport.publish([*good[:10], poison, *good[10:]])
    await transport.publish(good[:5])  # redelivered copies: no second effect

    runner = runner_for(engine, transport, topic)
    runner.batch_transactions = True
    await runner.start()
    await eventually(
        lambda: _poll(runner, lambda: runner.applied + runner.duplicates >= 25)
    )
    await runner.stop()

    assert sorted(n for _, n in await effects(engine)) == list(range(1, 21))
    assert runner.applied == 20 and runner.duplicates == 5
    assert runner.dead_letters == 1
    assert runner.batches_rolled_back >= 1  # the poisoned batch went one at a time


class CountingTransport(KafkaTransport):
    """The real transport, counting the relay's attempts to publish."""

    attempts = 0

    async def publish(self, messages):  # type: ignore[no-untyped-def]
        self.attempts += 1
        return await super().publish(messages)


async def test_broker_outage_loses_and_doubles_nothing(store, kafka_broker, topic):
    transport = CountingTransport(kafka_broker.bootstrap_servers)
    await transport.ensure_topics([topic])
    relay = Relay(
        store,
        transport,
        topic=topic,
        source="tandem/test",
        idle_wait_s=0.05,
        max_backoff_s=1.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for i in range(10):
            await store.append(
                f"s-{i % 3}",
                "Thing",
                i // 3,
                [NewEvent("ThingHappened", {"n": i})],
                META,
            )
        await eventually(lambda: _true(relay.published >= 10))

        kafka_broker.stop()
        tried = transport.attempts
        # Writes keep succeeding while the broker is down.
        for i in range(10, 40):
            await store.append(
                f"s-{i % 3}",
                "Thing",
                i // 3,
                [NewEvent("ThingHappened", {"n": i})],
                META,
            )
        # The relay tries against the dead broker and acknowledges nothing.
        await eventually(lambda: _true(transport.attempts > tried))
        assert relay.published == 10
        kafka_broker.start()

        await eventually(lambda: _true(relay.published >= 40), timeout_s=120)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await transport.stop()

    received = await read_topic(kafka_broker.bootstrap_servers, topic, 40)
    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in received]
    counts = Counter(e.data["n"] for e in envelopes)
    print(
        f"\nbroker outage: appended=40 received={len(envelopes)} distinct={len(counts)}"
    )
    assert sorted(counts) == list(range(40)), "every event arrived"
    assert max(counts.values()) == 1, "no event arrived twice"
    for stream in ("s-0", "s-1", "s-2"):
        versions = [e.stream_version for e in envelopes if e.subject == stream]
        assert versions == sorted(versions)


async def _true(value: bool) -> bool:
    return value


async def test_one_trace_spans_request_append_publish_and_consume(
    store, transport, topic
):
    exporter = InMemorySpanExporter()
    handle = setup_telemetry("tandem-test", span_exporter=exporter)
    try:
        await transport.ensure_topics([topic])
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("POST /things") as request_span:
            meta = EventMetadata(tenant="acme", traceparent=current_traceparent())
            await store.append(
                "traced", "Thing", 0, [NewEvent("ThingHappened", {"n": 7})], meta
            )
        relay = Relay(store, transport, topic=topic, source="tandem/test")
        assert await relay.run_once() == 1

        runner = runner_for(store.engine, transport, topic)
        await runner.start()
        await eventually(lambda: _poll(runner, lambda: runner.applied >= 1))
        await runner.stop()
    finally:
        handle.shutdown()

    spans = {s.name: s for s in exporter.get_finished_spans()}
    trace_id = request_span.get_span_context().trace_id
    publish, consume = spans["publish ThingHappened"], spans["consume ThingHappened"]
    assert publish.context.trace_id == trace_id
    assert consume.context.trace_id == trace_id
    assert publish.parent.span_id == request_span.get_span_context().span_id
    assert consume.parent.span_id == publish.context.span_id


async def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 60):
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    out = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
        for records in (await consumer.getmany(timeout_ms=500)).values():
            out.extend(records)  # anything after the expected count is a duplicate
    finally:
        await consumer.stop()
    return out
