"""Waking a dispatcher when a transaction that queued work for it commits.

On PostgreSQL the queuing transaction sends a ``NOTIFY`` on the dispatcher's channel
(``notify``), which PostgreSQL delivers at commit to every replica's dispatcher
``LISTEN``ing on a connection of its own (``listen``). On SQLite (the embedded demo,
one process) ``notify`` marks the connection, and the engine's ``commit`` event wakes
the dispatcher in this process: SQLite's transactions are ``BEGIN IMMEDIATE``
(``chassis.db``), so the dispatcher's own claim waits for that commit to end and
sees the rows. A rollback wakes nobody. Without a listener (the connection could not
be had) the dispatcher falls back on its timed wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite

log = logging.getLogger(__name__)


class Waker:
    """One dispatcher's wake-up: ``notify`` in a queuing transaction, ``wait`` in
    the dispatcher."""

    def __init__(self, engine: AsyncEngine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self.event = asyncio.Event()
        self._notify = text(f"SELECT pg_notify('{channel}', '')")
        self._mark = f"tandem.wake.{channel}"
        self._listener: tuple[AsyncConnection, Any] | None = None
        self.closed = False
        self.sqlite = is_sqlite(engine)
        if self.sqlite:
            event.listen(engine.sync_engine, "commit", self._committed)
            event.listen(engine.sync_engine, "rollback", self._rolled_back)

    async def notify(self, conn: AsyncConnection) -> None:
        """Wake the dispatchers when ``conn``'s transaction commits."""
        if self.sqlite:
            conn.sync_connection.info[self._mark] = True  # type: ignore[union-attr]
        else:
            await conn.execute(self._notify)

    def _committed(self, conn: Connection) -> None:
        if conn.info.pop(self._mark, False):
            self.event.set()

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(self._mark, None)

    def clear(self) -> None:
        self.event.clear()

    async def wait(self, seconds: float) -> None:
        """Until woken, or ``seconds`` at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), seconds)

    async def listen(self) -> None:
        """Be woken by other connections' notifications (PostgreSQL): a connection
        of its own, ``LISTEN``ing; taken again if it was lost."""
        if self.closed or self.sqlite:
            return
        if self._listener is not None:
            if not self._listener[1].is_closed():
                return
            with contextlib.suppress(Exception):
                await self._listener[0].invalidate()
            self._listener = None
        conn: AsyncConnection | None = None
        try:
            conn = await self.engine.connect()
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.add_listener(self.channel, self._heard)
        except Exception as exc:
            log.warning("%s: polling, not listening (%s)", self.channel, exc)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            return
        self._listener = (conn, driver)

    def _heard(self, *_: object) -> None:
        self.event.set()

    async def close(self) -> None:
        """Stop listening, and wake the dispatcher so that it ends (the service
        stops)."""
        self.closed = True
        self.event.set()
        if self._listener is not None:
            conn, _ = self._listener
            self._listener = None
            with contextlib.suppress(Exception):
                await conn.invalidate()
        if self.sqlite:
            with contextlib.suppress(Exception):
                event.remove(self.engine.sync_engine, "commit", self._committed)
                event.remove(self.engine.sync_engine, "rollback", self._rolled_back)
