"""The global log never passes an event that commits late (DESIGN.md, "Event store").

Sixteen writers append concurrently to many streams while a few of them hold their
transactions open until everyone else has committed, so commit order differs from
position order. The log reader, and the relay publishing to the real Kafka broker, must
each deliver every event exactly once and keep every stream's order. A naive reader that
only remembers the highest position seen is shown to lose events in the same scenario.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict

import pytest
from sqlalchemy import text

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.messaging import Relay
from chassis.messaging.kafka import KafkaTransport
from tests.support.waiting import until

WRITERS = 16
STREAMS_PER_WRITER = 3
EVENTS_PER_STREAM = 8
HOLDERS = {3, 7, 11}  # writers whose every transaction stays open until released
META = EventMetadata(tenant="acme")


async def writer(store: EventStore, w: int, release: asyncio.Event, held: list) -> None:
    def event(s: int, v: int) -> NewEvent:
        return NewEvent("ThingHappened", {"w": w, "s": s, "v": v})

    first = 0
    if w in HOLDERS:
        # One transaction appends each stream's first event and stays open until the
        # other writers are done, so it commits long after later positions did.
        async with store.engine.begin() as conn:
            for s in range(STREAMS_PER_WRITER):
                e = event(s, 1)
                await store.append(f"w{w}-s{s}", "Thing", 0, [e], META, connection=conn)
                held.append(e.id)
            await release.wait()
        first = 1
    for v in range(first, EVENTS_PER_STREAM):
        for s in range(STREAMS_PER_WRITER):
            await store.append(f"w{w}-s{s}", "Thing", v, [event(s, v + 1)], META)
            await asyncio.sleep(0)


async def run_scenario(store: EventStore, during_hold=None) -> set[uuid.UUID]:
    """Run all writers; ``during_hold`` runs once every non-holder has committed."""
    release, held = asyncio.Event(), []
    holders = [asyncio.create_task(writer(store, w, release, held)) for w in HOLDERS]
    others = [
        writer(store, w, release, held) for w in range(WRITERS) if w not in HOLDERS
    ]
    await asyncio.gather(*others)
    await until(
        lambda: len(held) >= len(HOLDERS) * STREAMS_PER_WRITER,
        "every holder's first events appended",
        60,
        interval_s=0.01,
    )
    if during_hold is not None:
        await during_hold()
    release.set()
    await asyncio.gather(*holders)
    return set(held)


def assert_per_stream_order(events: list[tuple[str, int]]) -> None:
    versions: dict[str, list[int]] = defaultdict(list)
    for stream, version in events:
        versions[stream].append(version)
    assert len(versions) == WRITERS * STREAMS_PER_WRITER
    for stream, seen in versions.items():
        assert seen == list(range(1, EVENTS_PER_STREAM + 1)), stream


TOTAL = WRITERS * STREAMS_PER_WRITER * EVENTS_PER_STREAM


@pytest.fixture
async def store(database_url):
    engine = create_engine(database_url, pool_size=WRITERS + 4)
    store = event_store_for(engine)
    await store.create_schema()
    yield store
    await engine.dispose()


async def test_log_reader_delivers_late_commits_exactly_once_in_stream_order(store):
    delivered = []
    position = LogPosition.START
    naive_seen: set[int] = set()
    naive_last = 0

    async def naive_read() -> None:
        nonlocal naive_last
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT position FROM events WHERE position > :p "
                        "ORDER BY position"
                    ),
                    {"p": naive_last},
                )
            ).all()
        for row in rows:
            naive_seen.add(row.position)
            naive_last = max(naive_last, row.position)

    async def follow(stop: asyncio.Event) -> None:
        nonlocal position
        while True:
            batch = await store.read_log(position, limit=50)
            delivered.extend(batch)
            if batch:
                position = batch[-1].position
            elif stop.is_set():
                return
            else:
                await asyncio.sleep(0.005)

    stop = asyncio.Event()
    follower = asyncio.create_task(follow(stop))
    held = await run_scenario(store, during_hold=naive_read)
    await naive_read()
    stop.set()
    await asyncio.wait_for(follower, timeout=30)

    ids = Counter(e.id for e in delivered)
    assert len(ids) == TOTAL and max(ids.values()) == 1, "every event exactly once"
    assert_per_stream_order([(e.stream_id, e.version) for e in delivered])
    assert held <= set(ids)

    # The scenario really produced late commits: a reader that only remembers the
    # highest position it saw skipped the held transactions' events for good.
    assert len(naive_seen) < TOTAL


@pytest.mark.kafka
async def test_relay_publishes_late_commits_exactly_once_in_stream_order(
    store, kafka_bootstrap
):
    topic = f"test.gapfree.{uuid.uuid4().hex[:8]}"
    transport = KafkaTransport(kafka_bootstrap)
    await transport.ensure_topics([topic], partitions=3)
    relay = Relay(store, transport, topic=topic, source="tandem/test", idle_wait_s=0.02)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    try:
        await run_scenario(store)
        await until(
            lambda: relay.published >= TOTAL,
            "every event published",
            60,
            interval_s=0.05,
        )
    finally:
        stop.set()
        await asyncio.wait_for(relay_task, timeout=30)
        await transport.stop()

    received = await consume_all(kafka_bootstrap, topic, TOTAL)
    ids = Counter(env.id for env in received)
    assert len(ids) == TOTAL and max(ids.values()) == 1, "every event exactly once"
    assert_per_stream_order([(env.subject, env.stream_version) for env in received])
    assert all(env.tenant == "acme" for env in received)


async def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60):
    """Read a topic from the start until ``expected`` messages (or the deadline)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[Envelope] = []

    async def read() -> None:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            out.extend(Envelope.from_kafka(r.headers, r.value) for r in records)

    async def enough() -> bool:
        await read()  # waits up to 500 ms for records: no pause needed in between
        return len(out) >= expected

    try:
        await until(enough, f"{expected} messages on {topic}", timeout_s, interval_s=0)
        # Read a little longer to catch any duplicate that would follow (a window on
        # purpose: a duplicate is something that did not happen).
        await read()
    finally:
        await consumer.stop()
    return out
