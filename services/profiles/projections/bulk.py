"""Many rows into one table in one go: what a bulk write (an HRIS import) inserts.

PostgreSQL: ``COPY`` on the transaction's own driver connection (binary, no per-row
statement or parameter processing), so the rows commit or roll back with everything
else the transaction wrote. SQLite (the embedded mode): one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite


async def insert_rows(
    conn: AsyncConnection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``rows`` (values in the order of ``columns``) inserted into ``table``."""
    if not rows:
        return
    if is_sqlite(conn.engine):
        marks = ", ".join(f":c{n}" for n in range(len(columns)))
        await conn.execute(
            text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"),
            [{f"c{n}": v for n, v in enumerate(row)} for row in rows],
        )
        return
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as exc:
        # As SQLAlchemy reports it for a statement: a unique index refused a row.
        raise IntegrityError(f"COPY {table}", None, exc) from exc
