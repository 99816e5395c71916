"""The relay pipelines its batches and keeps every guarantee while it does.

Under load the relay publishes batch after batch without sleeping (``Relay.pump``):
it reads the next batch while the broker acknowledges the current one and writes its
checkpoint (one statement, no flush awaited) behind the next send. Batches are still
sent one after another, each once the one before it is acknowledged, so a broker
failing mid-way stops it at the first event it did not take: the checkpoint never
passes what was acknowledged, nothing is lost, and a stream's events stay in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.messaging import CheckpointStore, InProcessBus, Relay
from chassis.messaging.transport import OutboundMessage

pytestmark = pytest.mark.postgres
META = EventMetadata(tenant="acme")
TOPIC = "tandem.test.v1"
STREAMS = 5


class FailingBus(InProcessBus):
    """Acknowledges its first ``limit`` messages, then none (the broker went away)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.sent = 0

    async def publish(self, messages: Sequence[OutboundMessage]) -> int:
        room = max(0, self.limit - self.sent)
        if room == 0:
            raise ConnectionError("the broker is away")
        taken = await super().publish(list(messages)[:room])
        self.sent += taken
        return taken


@pytest.fixture
async def store(database_url):
    engine = create_engine(database_url)
    store = event_store_for(engine)
    await store.create_schema()
    yield store
    await engine.dispose()


async def append_many(
    store: EventStore, count: int, start: int = 0
) -> list[LogPosition]:
    positions = []
    for n in range(start, start + count):
        recorded = await store.append(
            f"s-{n % STREAMS}",
            "Thing",
            n // STREAMS,
            [NewEvent("ThingHappened", {"n": n})],
            META,
        )
        positions.append(recorded[0].position)
    return positions


def received(bus: InProcessBus) -> list[Envelope]:
    return [Envelope.from_kafka(m.headers, m.value) for m in bus.messages(TOPIC)]


def relay_for(store: EventStore, bus: InProcessBus, batch_size: int = 4) -> Relay:
    return Relay(store, bus, topic=TOPIC, source="tandem/test", batch_size=batch_size)


async def saved(database_url: str, name: str) -> LogPosition:
    """The checkpoint as another engine (a relay taking over) reads it."""
    engine = create_engine(database_url)
    try:
        return await CheckpointStore(engine).load(name)
    finally:
        await engine.dispose()


async def test_batch_after_batch_in_log_order_and_the_checkpoint_follows(
    store, database_url
):
    positions = await append_many(store, 23)
    bus = InProcessBus()
    relay = relay_for(store, bus)

    assert await relay.pump() == 23  # six batches of at most 4, without sleeping
    assert [e.data["n"] for e in received(bus)] == list(range(23))
    assert await saved(database_url, relay.name) == positions[-1]
    assert await relay.pump() == 0  # nothing left: the run loop would sleep now

    more = await append_many(store, 5, start=23)
    assert await relay.pump() == 5
    assert await saved(database_url, relay.name) == more[-1]
    for stream in range(STREAMS):
        versions = [
            e.stream_version for e in received(bus) if e.subject == f"s-{stream}"
        ]
        assert versions == sorted(versions) == list(range(1, len(versions) + 1))


async def test_a_broker_failing_mid_pump_loses_and_doubles_nothing(store, database_url):
    positions = await append_many(store, 20)
    failing = FailingBus(limit=10)  # acknowledges 2.5 batches of 4, then fails
    relay = relay_for(store, failing)

    with pytest.raises(ConnectionError):
        await relay.pump()
    assert [e.data["n"] for e in received(failing)] == list(range(10))
    # Never past what was acknowledged, never behind it either.
    assert await saved(database_url, relay.name) == positions[9]

    # The relay that takes over (or this one, reloaded) goes on from there.
    bus = InProcessBus()
    again = relay_for(store, bus)
    assert await again.pump() == 10
    assert [e.data["n"] for e in received(bus)] == list(range(10, 20))
    assert await saved(database_url, again.name) == positions[-1]


async def test_the_checkpoint_write_leaves_its_connection_as_it_found_it(
    store, database_url
):
    """One statement on a pooled connection; its commit does not wait for the
    flush (``synchronous_commit`` off for that transaction only), and the
    connection goes back to the pool with its own setting."""
    conn = await store.driver.acquire()
    await conn.execute("SET synchronous_commit TO on")
    store.driver.release(conn)

    await store.save_checkpoint("relay:x", LogPosition(7, 42))

    again = await store.driver.acquire()
    try:
        assert again is conn
        assert await again.fetchval("SHOW synchronous_commit") == "on"
    finally:
        store.driver.release(again)
    assert await saved(database_url, "relay:x") == LogPosition(7, 42)


async def test_while_pumping_the_checkpoint_is_written_now_and_then_and_at_the_end(
    store, database_url
):
    """Under load the checkpoint is not written after every batch (at most every
    ``checkpoint_every_s``), but a pump never ends with it behind what the broker
    acknowledged: whether the log ran dry or the broker failed."""
    positions = await append_many(store, 23)
    relay = Relay(
        store,
        InProcessBus(),
        topic=TOPIC,
        source="tandem/test",
        batch_size=4,
        checkpoint_every_s=3600,
    )
    written: list[LogPosition] = []
    save = relay._save

    async def counted(position: LogPosition) -> None:
        written.append(position)
        await save(position)

    relay._save = counted
    assert await relay.pump() == 23  # six batches
    assert written == [positions[3], positions[-1]]  # the first batch's, the last
    assert await saved(database_url, relay.name) == positions[-1]

    more = await append_many(store, 12, start=23)
    failing = FailingBus(limit=6)  # a batch and a half, then the broker is away
    relay.transport = failing
    written.clear()
    with pytest.raises(ConnectionError):
        await relay.pump()
    assert written == [more[5]]  # only at the end: never past what was taken
    assert await saved(database_url, relay.name) == more[5]
