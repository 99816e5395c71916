"""``advisor_agreements`` and ``advisor_engagements``: kept from the agreements' and
engagements' own events in the transaction that records them, read by the
agreements' queries and sweep (``application/agreements.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent


class AgreementsProjection:
    """Keeps ``advisor_agreements`` and ``advisor_engagements`` in step."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, _payload in events:
            d, kind, sid = recorded.data, recorded.event_type, recorded.stream_id
            sql, values = "", {"id": sid}
            if kind == "AgreementSigned":
                sql = (
                    "INSERT INTO advisor_agreements (agreement_id, tenant, advisor_id, "
                    "status, starts_on, ends_on, scope, hours_per_month) VALUES "
                    "(:id, :t, :a, 'active', :s, :e, :scope, :h)"
                )
                values |= {
                    "t": recorded.tenant,
                    "a": d["advisor_id"],
                    "s": d["starts_on"],
                    "e": d["ends_on"],
                    "scope": d["scope"],
                    "h": d["hours_per_month"],
                }
            elif kind == "AgreementRenewed":
                sql = (
                    "UPDATE advisor_agreements SET ends_on = :e, status = 'active', "
                    "ending_soon = FALSE WHERE agreement_id = :id"
                )
                values["e"] = d["ends_on"]
            elif kind == "AgreementEndingSoon":
                sql = "UPDATE advisor_agreements SET ending_soon = TRUE "
                sql += "WHERE agreement_id = :id"
            elif kind in ("AgreementEnded", "AgreementTerminated"):
                sql = "UPDATE advisor_agreements SET status = :st "
                sql += "WHERE agreement_id = :id"
                values["st"] = "ended" if kind == "AgreementEnded" else "terminated"
            elif kind == "EngagementScheduled":
                sql = (
                    "INSERT INTO advisor_engagements (engagement_id, tenant, "
                    "advisor_id, topic, on_date, audience_size, status) VALUES "
                    "(:id, :t, :a, :topic, :on, :n, 'scheduled')"
                )
                values |= {
                    "t": recorded.tenant,
                    "a": d["advisor_id"],
                    "topic": d["topic"],
                    "on": d["on"],
                    "n": d["audience_size"],
                }
            elif kind == "EngagementDelivered":
                sql = (
                    "UPDATE advisor_engagements SET status = 'delivered', "
                    "agreement_id = :ag, minutes = :m, on_date = :on "
                    "WHERE engagement_id = :id"
                )
                values |= {"ag": d["agreement_id"], "m": d["minutes"], "on": d["on"]}
            if sql:
                await conn.execute(text(sql), values)


async def agreements_of(
    conn: AsyncConnection, tenant: str, advisor_id: str | None
) -> list[dict[str, Any]]:
    """The tenant's agreements (one advisor's when ``advisor_id``), oldest first."""
    sql = "SELECT * FROM advisor_agreements WHERE tenant = :t"
    if advisor_id:
        sql += " AND advisor_id = :a"
    rows = await conn.execute(
        text(sql + " ORDER BY starts_on, agreement_id"),
        {"t": tenant, "a": advisor_id},
    )
    return [
        {k: v for k, v in r._asdict().items() if k != "tenant"}
        | {"ending_soon": bool(r.ending_soon)}
        for r in rows
    ]


async def due(
    conn: AsyncConnection, horizon: date, today: date
) -> list[tuple[str, str]]:
    """Active agreements ending by ``horizon`` not yet warned, or already past:
    (agreement id, tenant) each."""
    rows = (
        await conn.execute(
            text(
                "SELECT agreement_id, tenant FROM advisor_agreements "
                "WHERE status = 'active' AND ends_on <= :h "
                "AND (ending_soon = FALSE OR ends_on < :today)"
            ),
            {"h": horizon.isoformat(), "today": today.isoformat()},
        )
    ).all()
    return [(row.agreement_id, row.tenant) for row in rows]


async def in_force(
    conn: AsyncConnection, tenant: str, advisor_id: str, on: date
) -> str | None:
    """The advisor's agreement in force on ``on`` (the latest started), if any."""
    row = (
        await conn.execute(
            text(
                "SELECT agreement_id FROM advisor_agreements "
                "WHERE tenant = :t AND advisor_id = :a AND status = "
                "'active' AND starts_on <= :d AND ends_on >= :d "
                "ORDER BY starts_on DESC LIMIT 1"
            ),
            {"t": tenant, "a": advisor_id, "d": on.isoformat()},
        )
    ).first()
    return None if row is None else str(row.agreement_id)


async def engagements_of(
    conn: AsyncConnection, tenant: str, advisor_id: str | None
) -> list[dict[str, Any]]:
    """The tenant's one-off engagements (one advisor's when ``advisor_id``)."""
    sql = (
        'SELECT engagement_id, advisor_id, topic, on_date AS "on", audience_size, '
        "status, agreement_id, minutes FROM advisor_engagements WHERE tenant = :t"
    )
    if advisor_id:
        sql += " AND advisor_id = :a"
    rows = await conn.execute(
        text(sql + " ORDER BY on_date, engagement_id"),
        {"t": tenant, "a": advisor_id},
    )
    return [r._asdict() for r in rows]
