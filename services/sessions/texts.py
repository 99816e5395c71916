"""Free text people write (contract terms, notes, reflections, comments), kept out of
the events: an event refers to a text by id, so erasing a person deletes their texts
while the event history stays whole (and never held the words)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite


async def create_schema(engine: AsyncEngine) -> None:
    stamp = "TEXT" if is_sqlite(engine) else "TIMESTAMPTZ"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"""
                CREATE TABLE IF NOT EXISTS private_texts (
                    text_id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    author_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    created_at {stamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
                )
                """
            )
        )
        await conn.execute(
            text(
                "CREATE INDEX IF NOT EXISTS private_texts_author ON private_texts (author_id)"
            )
        )


async def put(conn: AsyncConnection, tenant: str, author_id: str, body: str) -> str:
    text_id = str(uuid.uuid4())
    await conn.execute(
        text(
            "INSERT INTO private_texts (text_id, tenant, author_id, body) "
            "VALUES (:i, :t, :a, :b)"
        ),
        {"i": text_id, "t": tenant, "a": author_id, "b": body},
    )
    return text_id


async def get(conn: AsyncConnection, text_id: str | None) -> str | None:
    """The text, or None when it was erased (or never written)."""
    if text_id is None:
        return None
    row = (
        await conn.execute(
            text("SELECT body FROM private_texts WHERE text_id = :i"), {"i": text_id}
        )
    ).first()
    return row.body if row else None


async def erase_author(conn: AsyncConnection, person_id: str) -> int:
    """Delete everything a person wrote (their erasure)."""
    result = await conn.execute(
        text("DELETE FROM private_texts WHERE author_id = :p"), {"p": person_id}
    )
    return result.rowcount or 0
