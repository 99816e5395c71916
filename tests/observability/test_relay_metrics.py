"""The relay's lag and backlog, read the way an exporter reads them.

Real PostgreSQL and Kafka; an ``InMemoryMetricReader`` stands where the OTLP exporter
would. The relay publishes in batches of two, so the backlog can be seen shrinking.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from chassis.db import create_engine
from chassis.events import EventMetadata, NewEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.messaging import Relay
from chassis.messaging.kafka import KafkaTransport
from chassis.telemetry import setup_telemetry
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
META = EventMetadata(tenant="acme", actor="coordinator-1")


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    handle = setup_telemetry("relay-metrics-test", metric_reader=reader)
    yield reader
    handle.shutdown()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(database_url)
    store = event_store_for(engine)
    await store.create_schema()
    yield store
    await engine.dispose()


@pytest.fixture
async def transport(kafka_bootstrap: str) -> AsyncIterator[KafkaTransport]:
    transport = KafkaTransport(kafka_bootstrap)
    yield transport
    await transport.stop()


def points(reader: InMemoryMetricReader, name: str, topic: str) -> list[Any]:
    """The data points of metric ``name`` for ``topic`` (one collection)."""
    data = reader.get_metrics_data()
    found: list[Any] = []
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [
                        p
                        for p in metric.data.data_points
                        if p.attributes.get("topic") == topic
                    ]
    return found


async def test_relay_exports_its_lag_and_a_backlog_that_drains(
    reader: InMemoryMetricReader, store: EventStore, transport: KafkaTransport
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await transport.ensure_topics([topic])
    for n in range(5):
        await store.append(
            f"thing-{n}", "Thing", 0, [NewEvent("ThingHappened", {"n": n})], META
        )
    relay = Relay(
        store,
        transport,
        topic=topic,
        source="tandem/test",
        batch_size=2,
        backlog_every_s=0,
    )

    assert await relay.run_once() == 2
    [backlog] = points(reader, "tandem.relay.backlog", topic)
    assert backlog.value == 3, "three events recorded but not yet published"

    assert await relay.run_once() == 2
    assert await relay.run_once() == 1
    assert await relay.run_once() == 0
    [backlog] = points(reader, "tandem.relay.backlog", topic)
    assert backlog.value == 0
    assert relay.backlog == 0

    [lag] = points(reader, "tandem.relay.lag", topic)
    assert lag.count == 5, "one lag per published event"
    assert lag.min >= 0
    [published] = points(reader, "tandem.relay.published", topic)
    assert published.value == 5


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_backlog_is_exported_while_the_broker_is_unreachable(
    reader: InMemoryMetricReader, store: EventStore
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    for n in range(3):
        await store.append(
            f"thing-{n}", "Thing", 0, [NewEvent("ThingHappened", {"n": n})], META
        )
    # A real Kafka client pointed at a port where no broker listens.
    nowhere = KafkaTransport(f"127.0.0.1:{closed_port()}")
    relay = Relay(store, nowhere, topic=topic, source="tandem/test", backlog_every_s=0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await until(
            lambda: relay.backlog == 3, "a backlog of three", 60, interval_s=0.05
        )
        assert relay.last_error is not None, "it was waiting for the broker"
        [backlog] = points(reader, "tandem.relay.backlog", topic)
        assert backlog.value == 3, "all three wait for the broker"
        assert points(reader, "tandem.relay.lag", topic) == []
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        await nowhere.stop()
