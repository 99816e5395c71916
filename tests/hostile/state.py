"""What a service holds, read cheaply enough to compare before and after each request.

A snapshot is, per table of the service's database, the row count and the newest
writing transaction among its rows (``max(xmin)``; of the two organisations the suite
uses, where a table has a ``tenant`` column), plus the event store's count and highest
global position. A committed insert or update leaves a row written by a transaction
newer than any before it, a delete lowers the count: equal snapshots mean nothing was
stored, changed or deleted. (Hashing the rows instead costs more with every 1 MB value
a service wrongly stored, and tells nothing more.) The consumers' and the relay's own
bookkeeping (applied event ids, log checkpoints, dead letters, migrations) is left
out: it moves when other services' events arrive, not because of a request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import services
from tests.support.waiting import TimedOut, until

BOOKKEEPING = {"processed_events", "log_checkpoints", "dead_letters"}
SERVICES_DIR = str(Path(services.__file__).resolve().parent)

Snapshot = dict[str, tuple[int, str | None]]


class StateReader:
    """Reads ``Snapshot``s of one service's database for the given tenants."""

    def __init__(self, engine: AsyncEngine, tenants: Sequence[str]) -> None:
        self.engine = engine
        self.tenants = list(tenants)
        self._query: str | None = None

    async def _build(self) -> str:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT table_name, bool_or(column_name = 'tenant') "
                        "FROM information_schema.columns "
                        "WHERE table_schema = current_schema() "
                        "GROUP BY table_name ORDER BY table_name"
                    )
                )
            ).all()
        parts = [
            "SELECT 'events' AS t, count(*) AS n, max(position)::text AS d "
            "FROM events WHERE tenant = ANY(:tenants)"
        ]
        for table, has_tenant in rows:
            if table in BOOKKEEPING or table.startswith("alembic_version"):
                continue
            where = " WHERE x.tenant = ANY(:tenants)" if has_tenant else ""
            if table == "events":
                continue
            parts.append(
                f"SELECT '{table}', count(*), max(x.xmin::text::bigint)::text"
                f' FROM "{table}" x{where}'
            )
        return " UNION ALL ".join(parts)

    async def snapshot(self) -> Snapshot:
        if self._query is None:
            self._query = await self._build()
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(text(self._query), {"tenants": self.tenants})
            ).all()
        return {row[0]: (row[1], row[2]) for row in rows}

    async def events_of_request(self, request_id: str) -> int:
        """Events recorded with this request's id as their correlation id."""
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM events "
                        "WHERE metadata->>'correlation_id' = :r"
                    ),
                    {"r": request_id},
                )
            ).scalar_one()


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables whose rows differ, with their row counts before → after."""
    out = []
    for table in sorted(set(before) | set(after)):
        if before.get(table) != after.get(table):
            n0 = before.get(table, (0, None))[0]
            n1 = after.get(table, (0, None))[0]
            out.append(f"{table} ({n0}→{n1} rows)")
    return out


def service_work() -> list[asyncio.Task]:
    """Background tasks a request started in the service's own code (a matching
    round, an import, a rebuild) that are still running."""
    current = asyncio.current_task()
    busy = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and code.co_filename.startswith(SERVICES_DIR):
            busy.append(task)
    return busy


async def settle(timeout_s: float = 60) -> None:
    """Wait until no background work started by a request is running (at most
    ``timeout_s``: what still runs then is left to the state comparison)."""
    with contextlib.suppress(TimedOut):
        await until(
            lambda: not service_work(), "background work", timeout_s, interval_s=0.02
        )


async def caught_up(app: FastAPI, reader: StateReader, timeout_s: float = 90) -> None:
    """Wait until the service's consumer has read every message on its topics and
    applied it: assigned partitions, no lag, and the state still for a while.

    Best effort, each step at most ``timeout_s``: a consumer that cannot report its
    lag is waited for, then the state's stillness decides."""
    consumer = app.state.runtime.consumer

    async def no_lag() -> bool:
        if consumer is None:
            return True
        subscriber = consumer.subscriber
        if subscriber is None or not hasattr(subscriber, "lag"):
            return False
        inner = getattr(subscriber, "_consumer", None)
        if inner is not None:
            assigned = inner.assignment()
            if not assigned or any(inner.highwater(tp) is None for tp in assigned):
                return False
        return await subscriber.lag() == 0

    with contextlib.suppress(TimedOut):
        await until(no_lag, "no consumer lag", timeout_s)
    await settle()
    # Still: three snapshots in a row, 0.3 s apart, equal to the one before.
    last: object = None
    still = -1  # the first snapshot has nothing to compare with

    async def unchanged() -> bool:
        nonlocal last, still
        now = await reader.snapshot()
        still = still + 1 if still >= 0 and now == last else 0
        last = now
        return still >= 3

    with contextlib.suppress(TimedOut):
        await until(unchanged, "the state to stay still", timeout_s, interval_s=0.3)
