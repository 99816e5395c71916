"""An embedded (SQLite) data folder kept across an upgrade still opens.

The embedded demo has no migrations: its tables are created where missing. A table
that gained a column since the folder was written gets it added (nullable, or with
a server default); a new required column is a clear error naming ``--reset``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from chassis.tables import add_missing_columns

pytestmark = pytest.mark.unit


def schema(*extra: Column) -> MetaData:
    metadata = MetaData()
    Table("things", metadata, Column("id", Text, primary_key=True), *extra)
    return metadata


async def test_a_new_nullable_column_is_added_and_old_rows_keep_their_values(
    tmp_path: Path,
):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    try:
        old = schema()
        async with engine.begin() as conn:
            await conn.run_sync(old.create_all)
            await conn.execute(text("INSERT INTO things (id) VALUES ('a')"))
        new = schema(
            Column("note", Text, nullable=True),
            Column("count", Integer, nullable=False, server_default="0"),
        )
        async with engine.begin() as conn:
            await conn.run_sync(new.create_all)
            added = await conn.run_sync(lambda sync: add_missing_columns(sync, new))
            again = await conn.run_sync(lambda sync: add_missing_columns(sync, new))
            columns = await conn.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("things")]
            )
            row = (await conn.execute(text("SELECT * FROM things"))).mappings().one()
        assert added == ["things.note", "things.count"]
        assert again == []
        assert columns == ["id", "note", "count"]
        assert dict(row) == {"id": "a", "note": None, "count": 0}
    finally:
        await engine.dispose()


async def test_a_new_required_column_is_a_clear_error(tmp_path: Path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(schema().create_all)
        new = schema(Column("must", Text, nullable=False))
        with pytest.raises(RuntimeError, match="--reset"):
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: add_missing_columns(sync, new))
    finally:
        await engine.dispose()
