"""Every table of the notifications database is erased or says why it need not be."""

from __future__ import annotations

from sqlalchemy import text

from services.notifications.main import ERASED_FROM, NOTHING_PERSONAL


async def test_every_table_has_an_eraser_or_a_reason(notifications):
    app, _client = notifications
    async with app.state.runtime.engine.connect() as conn:
        tables = {
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = current_schema()"
                )
            )
        }
    assert tables == set(ERASED_FROM) | set(NOTHING_PERSONAL)
    assert not set(ERASED_FROM) & set(NOTHING_PERSONAL)
