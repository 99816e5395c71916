"""``risks``: the programme's risk register, kept from the risks' own events in the
transaction that records them, read by ``application/risks.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent
from services.advisors.domain.risk import RiskMitigationUpdated


class RiskProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            at = recorded.time.isoformat()
            row: dict[str, Any] = {"id": recorded.stream_id, "at": at}
            kind = recorded.event_type
            if kind == "RiskRaised":
                row |= p.model_dump(
                    include={"title", "category", "likelihood", "impact", "owner_id"}
                )
                row |= {"tenant": recorded.tenant, "m": getattr(p, "mitigation", "")}
                sql = (
                    "INSERT INTO risks VALUES (:id, :tenant, :title, :category, "
                    ":likelihood, :impact, :owner_id, :m, 'open', :at, :at)"
                )
            elif kind == "RiskReassessed":
                row |= p.model_dump(include={"likelihood", "impact"})
                sql = "UPDATE risks SET likelihood = :likelihood, impact = :impact"
            elif isinstance(p, RiskMitigationUpdated):
                row |= {"m": p.mitigation, "s": str(p.status)}
                sql = "UPDATE risks SET mitigation = :m, status = :s"
            elif kind == "RiskClosed":
                sql = "UPDATE risks SET status = 'closed'"
            else:
                continue
            if sql.startswith("UPDATE"):
                sql += ", updated_at = :at WHERE risk_id = :id"
            await conn.execute(text(sql), row)


REGISTER_COLUMNS = (
    "risk_id, title, category, likelihood, impact, owner_id, mitigation, status, "
    "raised_at"
)


async def register(
    conn: AsyncConnection, tenant: str, *, include_closed: bool
) -> list[RowMapping]:
    """The tenant's risks (the closed ones too when ``include_closed``): what the
    register shows of each."""
    sql = f"SELECT {REGISTER_COLUMNS} FROM risks WHERE tenant = :t"
    if not include_closed:
        sql += " AND status <> 'closed'"
    return list((await conn.execute(text(sql), {"t": tenant})).mappings().all())
