"""Every event insights consumes, kept as a fact: the history its read models are
computed from (rebuild = recompute from facts; "as of" = facts up to a date).

Facts are stored once per event id (redelivery changes nothing) and indexed by the
people they mention. A fact holds no personal free text, and an erased person's facts
are deleted or pseudonymised (the rule is in ``erasure.py``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from services.insights.domain.erasure import is_erased

PERSON_KEYS = (
    "person_id",
    "mentor_id",
    "mentee_id",
    "advisor_id",
    "host_id",
    "owner_id",
)
FactHandler = Callable[[Envelope, AsyncConnection], Awaitable[None]]


async def create_schema(engine: AsyncEngine) -> None:
    stamp = "TEXT" if is_sqlite(engine) else "TIMESTAMPTZ"
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264400)"))
        await conn.execute(
            text(
                f"""
                CREATE TABLE IF NOT EXISTS facts (
                    event_id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    source TEXT NOT NULL,
                    type TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    occurred_at {stamp} NOT NULL,
                    data TEXT NOT NULL
                )
                """
            )
        )
        await conn.execute(
            text(
                "CREATE INDEX IF NOT EXISTS facts_type ON facts (tenant, type, occurred_at)"
            )
        )
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS fact_people (event_id TEXT NOT NULL, "
                "person_id TEXT NOT NULL, PRIMARY KEY (event_id, person_id))"
            )
        )
        await conn.execute(
            text(
                "CREATE INDEX IF NOT EXISTS fact_people_person ON fact_people (person_id)"
            )
        )


def people_in(data: dict[str, Any]) -> set[str]:
    """The person ids an event mentions (top-level id fields)."""
    return {str(data[k]) for k in PERSON_KEYS if data.get(k) and not is_erased(data[k])}


async def record(env: Envelope, conn: AsyncConnection) -> None:
    """Keep the event as a fact (the consumer runner already made this exactly once)."""
    stamp: Any = env.time.isoformat() if is_sqlite(conn.engine) else env.time
    await conn.execute(
        text(
            "INSERT INTO facts (event_id, tenant, source, type, subject, occurred_at, data) "
            "VALUES (:i, :t, :s, :y, :sub, :at, :d) ON CONFLICT (event_id) DO NOTHING"
        ),
        {
            "i": env.id,
            "t": env.tenant,
            "s": env.source,
            "y": env.type,
            "sub": env.subject,
            "at": stamp,
            "d": json.dumps(env.data, separators=(",", ":")),
        },
    )
    for person in people_in(env.data):
        await conn.execute(
            text(
                "INSERT INTO fact_people (event_id, person_id) VALUES (:i, :p) "
                "ON CONFLICT DO NOTHING"
            ),
            {"i": env.id, "p": person},
        )


async def replay(
    conn: AsyncConnection, tenant: str | None, until: datetime | None = None
) -> list[Envelope]:
    """Facts in the order they happened, optionally up to a moment ("as of")."""
    where, params = [], {}
    if tenant:
        where.append("tenant = :t")
        params["t"] = tenant
    if until is not None:
        where.append("occurred_at <= :until")
        params["until"] = until.isoformat() if is_sqlite(conn.engine) else until
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = await conn.execute(
        text(f"SELECT * FROM facts {clause} ORDER BY occurred_at, event_id"), params
    )
    return [
        Envelope(
            id=r.event_id,
            source=r.source,
            type=r.type,
            subject=r.subject,
            time=r.occurred_at
            if isinstance(r.occurred_at, datetime)
            else datetime.fromisoformat(r.occurred_at),
            data=json.loads(r.data),
            tenant=r.tenant,
        )
        for r in rows
    ]
