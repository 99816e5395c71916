"""The hostile suite's "nothing changed" check catches every kind of write."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.db import create_engine
from tests.hostile.state import StateReader, changed_tables

pytestmark = pytest.mark.postgres


async def test_an_insert_an_update_and_a_delete_each_change_the_snapshot(
    database_url,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for ddl in (
                "CREATE TABLE events (position bigserial, tenant text, metadata jsonb)",
                "CREATE TABLE people (tenant text, name text)",
                "CREATE TABLE answers (survey text, answer int)",  # no tenant column
                "CREATE TABLE processed_events (consumer text, event_id text)",
                "INSERT INTO people VALUES ('home', 'Ada'), ('home', 'Grace')",
            ):
                await conn.execute(text(ddl))
        reader = StateReader(engine, ["home", "foreign"])

        async def after(sql: str) -> list[str]:
            before = await reader.snapshot()
            async with engine.begin() as conn:
                await conn.execute(text(sql))
            return changed_tables(before, await reader.snapshot())

        assert await after("UPDATE people SET name = 'Ada' WHERE name = 'Ada'") == [
            "people (2→2 rows)"
        ]
        assert await after("DELETE FROM people WHERE name = 'Grace'") == [
            "people (2→1 rows)"
        ]
        assert await after("INSERT INTO answers VALUES ('s', 1)") == [
            "answers (0→1 rows)"
        ]
        assert await after(
            "INSERT INTO events (tenant, metadata) VALUES ('home', '{}')"
        ) == ["events (0→1 rows)"]
        # Another organisation's rows and the consumers' bookkeeping are not ours.
        assert await after("INSERT INTO people VALUES ('elsewhere', 'Eve')") == []
        assert await after("INSERT INTO processed_events VALUES ('c', 'e')") == []
        # A write that rolls back leaves nothing.
        before = await reader.snapshot()
        async with engine.connect() as conn:
            await conn.execute(text("DELETE FROM people"))
            await conn.rollback()
        assert await reader.snapshot() == before
    finally:
        await engine.dispose()
