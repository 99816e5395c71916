"""Current state of relationships (rebuildable from the events)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.events import EventPayload, RecordedEvent


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264300)"))
        await conn.execute(
            text(
                """
                CREATE TABLE IF NOT EXISTS relationships (
                    relationship_id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    mentor_id TEXT NOT NULL,
                    mentee_id TEXT NOT NULL,
                    cohort_id TEXT,
                    kind TEXT NOT NULL,
                    state TEXT NOT NULL,
                    starts_on TEXT NOT NULL,
                    planned_end_on TEXT NOT NULL,
                    contract_version INTEGER,
                    contract_in_force INTEGER NOT NULL DEFAULT 0,
                    cadence TEXT,
                    hours_per_month INTEGER,
                    signed_by TEXT NOT NULL DEFAULT '[]'
                )
                """
            )
        )
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS cohort_cycles (cohort_id TEXT PRIMARY KEY, "
                "tenant TEXT NOT NULL, starts_on TEXT NOT NULL, ends_on TEXT NOT NULL)"
            )
        )
        for column in ("mentor_id", "mentee_id"):
            await conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS relationships_{column} ON relationships ({column})"
                )
            )


class RelationshipsProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            kind, rid = recorded.event_type, recorded.stream_id
            if kind == "RelationshipStarted":
                await conn.execute(
                    text(
                        "INSERT INTO relationships (relationship_id, tenant, mentor_id, "
                        "mentee_id, cohort_id, kind, state, starts_on, planned_end_on) VALUES "
                        "(:r, :t, :m, :e, :c, :k, 'active', :s, :p)"
                    ),
                    {
                        "r": rid,
                        "t": recorded.tenant,
                        "m": p.mentor_id,  # type: ignore[attr-defined]
                        "e": p.mentee_id,  # type: ignore[attr-defined]
                        "c": p.cohort_id,  # type: ignore[attr-defined]
                        "k": p.kind,  # type: ignore[attr-defined]
                        "s": p.starts_on.isoformat(),  # type: ignore[attr-defined]
                        "p": p.planned_end_on.isoformat(),  # type: ignore[attr-defined]
                    },
                )
            elif kind == "ContractDrafted":
                await _set(
                    conn,
                    rid,
                    contract_version=p.version,  # type: ignore[attr-defined]
                    contract_in_force=0,
                    cadence=json.dumps(p.cadence.model_dump()),  # type: ignore[attr-defined]
                    hours_per_month=p.hours_per_month,  # type: ignore[attr-defined]
                    signed_by="[]",
                )
            elif kind == "ContractSigned":
                row = (
                    await conn.execute(
                        text(
                            "SELECT signed_by FROM relationships WHERE relationship_id = :r"
                        ),
                        {"r": rid},
                    )
                ).first()
                signed = (
                    sorted({*json.loads(row.signed_by), p.person_id}) if row else []
                )  # type: ignore[attr-defined]
                await _set(conn, rid, signed_by=json.dumps(signed))
            elif kind == "ContractInForce":
                await _set(conn, rid, contract_in_force=1)
            elif kind in STATES:
                await _set(conn, rid, state=STATES[kind])


STATES = {
    "RelationshipPaused": "paused",
    "RelationshipResumed": "active",
    "RelationshipConcluded": "concluded",
}


async def _set(conn: AsyncConnection, rid: str, **values: Any) -> None:
    sets = ", ".join(f"{c} = :{c}" for c in values)
    await conn.execute(
        text(f"UPDATE relationships SET {sets} WHERE relationship_id = :rid"),
        {**values, "rid": rid},
    )


def relationship_view(row: Any) -> dict[str, Any]:
    return {
        "relationship_id": row.relationship_id,
        "mentor_id": row.mentor_id,
        "mentee_id": row.mentee_id,
        "cohort_id": row.cohort_id,
        "kind": row.kind,
        "state": row.state,
        "starts_on": row.starts_on,
        "planned_end_on": row.planned_end_on,
        "contract": {
            "version": row.contract_version,
            "in_force": bool(row.contract_in_force),
            "cadence": json.loads(row.cadence) if row.cadence else None,
            "hours_per_month": row.hours_per_month,
            "signed_by": json.loads(row.signed_by),
        },
    }
