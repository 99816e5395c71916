"""A service's engine keeps the connections it opens and opens no more than its pool:
a burst of requests past the pool waits for a connection instead of starting (and
then throwing away) a server backend each; the waiting requests are served in the
order they came."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as SATimeoutError

from chassis.db import create_engine


async def test_a_burst_past_the_pool_reuses_its_connections(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=3)
    backends: set[int] = set()

    async def request() -> None:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            backends.add(pid)
            await asyncio.sleep(0.02)  # held a while, as a request holds it

    try:
        await asyncio.gather(*(request() for _ in range(30)))
        await asyncio.gather(*(request() for _ in range(30)))
        assert len(backends) == 3  # every request answered, on the pool's three
        assert engine.pool.checkedin() == 3  # kept open, not closed after use
    finally:
        await engine.dispose()


async def test_waiting_requests_get_connections_in_the_order_they_came(
    database_url: str,
) -> None:
    """A connection given back goes to the request that waited longest, even when
    another request asks for one just as it is given back: here the request that
    gave it back, asking at once for its next statement, as a handler doing two
    reads does. With SQLAlchemy's own asyncio queue that request took it again, and
    the woken one went to the back of the line (under load, one call in a hundred
    waited ten times as long as the median)."""
    engine = create_engine(database_url, pool_size=1)
    served: list[str] = []

    async def request(name: str) -> None:
        async with engine.connect() as conn:
            served.append(name)
            await conn.execute(text("SELECT 1"))

    try:
        held = await engine.connect()
        await held.execute(text("SELECT 1"))
        waiting = []
        for name in ("first", "second", "third"):
            waiting.append(asyncio.create_task(request(name)))
            await asyncio.sleep(0.01)  # each one is waiting before the next comes
        assert served == []
        await held.close()  # given back: handed to "first" ...
        await request("again")  # ... before it runs: this one waits its turn
        await asyncio.gather(*waiting)
        assert served == ["first", "second", "third", "again"]
    finally:
        await engine.dispose()


async def test_a_request_waiting_past_the_pool_timeout_is_refused_not_lost(
    database_url: str,
) -> None:
    engine = create_engine(database_url, pool_size=1)
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]
    try:
        held = await engine.connect()
        try:
            with pytest.raises(SATimeoutError):
                await engine.connect()
        finally:
            await held.close()
        # The pool still serves: nothing was lost with the refused wait.
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert engine.pool.checkedin() == 1
    finally:
        await engine.dispose()
