"""Rotation plans, newest last per mentee (rebuildable from ``RotationPlanned``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.events import EventPayload, RecordedEvent
from contracts import matching as m


class RotationPlansProjection:
    """The plans, newest last per mentee (rebuildable from ``RotationPlanned``)."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, payload in events:
            if not isinstance(payload, m.RotationPlanned):
                continue
            await conn.execute(
                text(
                    "INSERT INTO rotation_plans (plan_id, tenant, mentee_id, cohort_id, "
                    "cycles, planned_at, seq) VALUES (:id, :t, :e, :c, :cycles, :at, "
                    ":seq) ON CONFLICT (plan_id) DO NOTHING"
                ),
                {
                    "id": payload.plan_id,
                    "t": recorded.tenant,
                    "e": payload.mentee_id,
                    "c": payload.cohort_id,
                    "cycles": json.dumps(
                        [c.model_dump(mode="json") for c in payload.cycles]
                    ),
                    "at": recorded.time.isoformat(),
                    "seq": recorded.position.sequence,
                },
            )


async def latest_plan(
    engine: AsyncEngine, tenant: str, mentee_id: str
) -> tuple[m.RotationPlanned, str] | None:
    """The mentee's latest plan and when it was made, or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT * FROM rotation_plans WHERE tenant = :t AND "
                    "mentee_id = :e ORDER BY seq DESC LIMIT 1"
                ),
                {"t": tenant, "e": mentee_id},
            )
        ).first()
    if row is None:
        return None
    planned = m.RotationPlanned(
        plan_id=row.plan_id,
        mentee_id=row.mentee_id,
        cohort_id=row.cohort_id,
        cycles=json.loads(row.cycles),
    )
    return planned, row.planned_at
