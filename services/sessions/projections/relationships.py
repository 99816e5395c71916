"""Current state of relationships (rebuildable from the events)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent
from contracts.api import sessions as api
from contracts.sessions.relationships import (
    Cadence,
    ContractDrafted,
    ContractSigned,
    RelationshipStarted,
)


class RelationshipsProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            kind, rid = recorded.event_type, recorded.stream_id
            if isinstance(p, RelationshipStarted):
                await conn.execute(
                    text(
                        "INSERT INTO relationships (relationship_id, tenant, mentor_id, "
                        "mentee_id, cohort_id, kind, state, starts_on, planned_end_on) VALUES "
                        "(:r, :t, :m, :e, :c, :k, 'active', :s, :p)"
                    ),
                    {
                        "r": rid,
                        "t": recorded.tenant,
                        "m": p.mentor_id,
                        "e": p.mentee_id,
                        "c": p.cohort_id,
                        "k": p.kind,
                        "s": p.starts_on.isoformat(),
                        "p": p.planned_end_on.isoformat(),
                    },
                )
            elif isinstance(p, ContractDrafted):
                await _set(
                    conn,
                    rid,
                    contract_version=p.version,
                    contract_in_force=0,
                    cadence=json.dumps(p.cadence.model_dump()),
                    hours_per_month=p.hours_per_month,
                    signed_by="[]",
                    # the stored event's private reference (the published one has none)
                    terms_text_id=getattr(p, "terms_text_id", None),
                )
            elif isinstance(p, ContractSigned):
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
                )
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


def relationship_view(row: RowMapping) -> api.Relationship:
    """A ``relationships`` row as the API shows it (the contract's terms unset)."""
    return api.Relationship(
        relationship_id=row["relationship_id"],
        mentor_id=row["mentor_id"],
        mentee_id=row["mentee_id"],
        cohort_id=row["cohort_id"],
        kind=row["kind"],
        state=row["state"],
        starts_on=row["starts_on"],
        planned_end_on=row["planned_end_on"],
        contract=api.LearningContract(
            version=row["contract_version"],
            in_force=bool(row["contract_in_force"]),
            cadence=Cadence.model_validate_json(row["cadence"])
            if row["cadence"]
            else None,
            hours_per_month=row["hours_per_month"],
            signed_by=json.loads(row["signed_by"]),
        ),
    )
