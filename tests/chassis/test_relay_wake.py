"""The relay wakes on appends from anywhere, it does not wait for its next poll.

On PostgreSQL an append made while the relay sleeps sends a notification (delivered
when its transaction commits) and the relay, listening, publishes at once; an append
made while the relay is awake sends none, so a busy relay costs writers nothing. The
relay's timed wait is only a safety net: here it is 30 s, and every event must arrive
in a small part of that, from another engine (another process's connections) that
cannot use the relay's in-process ``notify``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import create_engine
from chassis.events import EventMetadata, LogPosition, NewEvent
from chassis.eventstore import EventStore, event_store_for
from chassis.eventstore.postgres import RELAY_ASLEEP_KEY, WAKE_CHANNEL
from chassis.messaging import InProcessBus, Relay
from chassis.messaging.relay import HELD_BACK, _Listener
from tests.support.waiting import until

META = EventMetadata(tenant="acme")
SAFETY_NET_S = 30.0  # the relay's timed waits: far longer than any wake may take
WAKE_WITHIN_S = 5.0  # generous: "before the safety net could have fired"

ASLEEP = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND mode = 'ExclusiveLock' AND objsubid = 1 "
    "AND ((classid::bigint << 32) | objid::bigint) = :key"
)


def event(n: int) -> NewEvent:
    return NewEvent("ThingHappened", {"n": n})


async def relay_asleep(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        held = (await conn.execute(ASLEEP, {"key": RELAY_ASLEEP_KEY})).scalar_one()
    return bool(held)


@contextlib.asynccontextmanager
async def running_relay(store: EventStore) -> AsyncIterator[Relay]:
    relay = Relay(
        store,
        InProcessBus(),
        topic="tandem.test.v1",
        source="tandem/test",
        idle_wait_s=SAFETY_NET_S,
        safety_net_s=SAFETY_NET_S,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def stores(database_url):
    """The relay's store, and another engine's store on the same database."""
    mine, other = create_engine(database_url), create_engine(database_url)
    relay_store, writer_store = event_store_for(mine), event_store_for(other)
    await relay_store.create_schema()
    yield relay_store, writer_store
    await mine.dispose()
    await other.dispose()


async def published_soon(relay: Relay, count: int) -> float:
    started = time.monotonic()
    await until(
        lambda: relay.published >= count,
        f"{count} events published",
        WAKE_WITHIN_S,
        interval_s=0.01,
    )
    return time.monotonic() - started


async def test_an_append_from_another_engine_wakes_the_sleeping_relay(stores):
    relay_store, writer = stores
    await writer.append("s-1", "Thing", 0, [event(1)], META)
    async with running_relay(relay_store) as relay:
        await published_soon(relay, 1)  # the first round, at start
        for n in range(2, 5):
            await until(lambda: relay_asleep(relay_store.engine), "relay asleep", 10)
            await writer.append("s-1", "Thing", n - 1, [event(n)], META)
            took = await published_soon(relay, n)
            assert took < WAKE_WITHIN_S < SAFETY_NET_S


async def test_an_append_in_a_transaction_wakes_the_relay_when_it_commits(stores):
    relay_store, writer = stores
    async with running_relay(relay_store) as relay:
        await until(lambda: relay_asleep(relay_store.engine), "relay asleep", 10)
        async with writer.engine.begin() as conn:
            await writer.append("s-2", "Thing", 0, [event(1)], META, connection=conn)
            await writer.append("s-3", "Thing", 0, [event(2)], META, connection=conn)
            assert relay.published == 0  # nothing is committed yet
        await published_soon(relay, 2)
        assert relay.published == 2


async def listen(url: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    """A connection listening on the wake channel and a marker channel."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    heard: asyncio.Queue[str] = asyncio.Queue()
    for channel in (WAKE_CHANNEL, "test_marker"):
        await conn.add_listener(channel, lambda _c, _p, ch, _v: heard.put_nowait(ch))
    return conn, heard


async def test_appends_notify_only_while_the_relay_sleeps(stores, database_url):
    _, writer = stores
    conn, heard = await listen(database_url)
    try:
        # Nobody sleeps: an append is silent. Notifications arrive in commit order,
        # so the marker sent after it proves nothing came before.
        await writer.append("s-4", "Thing", 0, [event(1)], META)
        await conn.execute("SELECT pg_notify('test_marker', '')")
        assert await asyncio.wait_for(heard.get(), 10) == "test_marker"

        # A relay sleeps (holds the lock): the append, once committed, notifies.
        await conn.execute("SELECT pg_advisory_lock($1)", RELAY_ASLEEP_KEY)
        await writer.append("s-4", "Thing", 1, [event(2)], META)
        assert await asyncio.wait_for(heard.get(), 10) == WAKE_CHANNEL
    finally:
        await conn.close()


async def test_the_look_for_held_back_events_reads_the_log_index_not_the_table(
    stores, database_url
):
    """Asleep, the relay asks whether the log has events it does not return yet
    (committed behind an older open transaction). Those are the newest, at the
    log's end: asked as ``EXISTS``, the planner scanned the whole table for them
    on every sleep, a cost growing with the log. It must read the log's index."""
    _, writer = stores
    await writer.append("s-5", "Thing", 0, [event(n) for n in range(3000)], META)
    conn = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg", "postgresql")
    )
    try:
        last = await conn.fetchrow(
            "SELECT tx_id, position FROM events ORDER BY tx_id DESC, position DESC "
            "LIMIT 1"
        )
        listener = _Listener(conn, asyncio.Event())
        assert await listener.held_back(LogPosition.START)
        assert not await listener.held_back(LogPosition(last[0], last[1]))
        # The plan a long-lived connection keeps for it (generic), with the table's
        # statistics as a fresh log has them (never analysed).
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                f"EXPLAIN (ANALYZE, COSTS OFF) {HELD_BACK}", last[0], last[1]
            )
        )
    finally:
        await conn.close()
    assert "events_log_order" in plan and "Seq Scan" not in plan, plan
