"""A service's engine keeps the connections it opens and opens no more than its pool:
a burst of requests past the pool waits for a connection instead of starting (and
then throwing away) a server backend each."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

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
