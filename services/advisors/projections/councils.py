"""``councils``, ``council_members`` and ``council_recommendations``: which councils
exist, who sits on them and where each recommendation lives; kept from the councils'
own events in the transaction that records them, read by ``application/councils.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent

# The ``councils`` values in ``tables.councils``' column order.
PROJECTED = {
    "CouncilChartered": "INSERT INTO councils VALUES (:council_id, :tenant, :name, "
    ":purpose, :cadence_weeks, :publish_decisions, :at)",
    "CouncilMemberAdded": "INSERT INTO council_members VALUES "
    "(:council_id, :member_id, :tenant, :kind)",
    "CouncilMemberRemoved": "DELETE FROM council_members "
    "WHERE council_id = :council_id AND member_id = :member_id",
    "RecommendationMade": "INSERT INTO council_recommendations VALUES "
    "(:recommendation_id, :council_id, :tenant)",
}


class CouncilProjection:
    """Which councils exist, who sits on them, where each recommendation lives."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            sql = PROJECTED.get(recorded.event_type)
            if sql is not None:
                row = p.model_dump(mode="json") | {"tenant": recorded.tenant}
                await conn.execute(text(sql), row | {"at": recorded.time.isoformat()})


async def council_of(
    conn: AsyncConnection, tenant: str, recommendation_id: str
) -> str | None:
    """The council a recommendation of ``tenant`` was made in."""
    found = await conn.scalar(
        text(
            "SELECT council_id FROM council_recommendations "
            "WHERE recommendation_id = :r AND tenant = :t"
        ),
        {"r": recommendation_id, "t": tenant},
    )
    return None if found is None else str(found)


async def councils_of(
    conn: AsyncConnection, tenant: str, member: str | None
) -> list[dict[str, Any]]:
    """The tenant's councils, oldest first; when ``member`` is given, those they sit
    on and those that publish their decisions (any member of the tenant reads
    those)."""
    sql = "SELECT c.* FROM councils c WHERE c.tenant = :t"
    if member is not None:
        sql += (
            " AND (c.publish_decisions OR EXISTS (SELECT 1 FROM council_members m "
            "WHERE m.council_id = c.council_id AND m.member_id = :s))"
        )
    rows = await conn.execute(
        text(sql + " ORDER BY c.chartered_at, c.council_id"),
        {"t": tenant, "s": member},
    )
    return [dict(row._mapping) for row in rows]
