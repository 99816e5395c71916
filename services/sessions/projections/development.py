"""Current state of milestones, check-ins, rotations and escalations (rebuildable
from their events), and how each is shown to whom."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role
from chassis.events import EventPayload, RecordedEvent, encode
from contracts.api import sessions as api

COORDINATING = (Role.ADMIN, Role.COORDINATOR)
# event type → (kind of item, its state afterwards; None keeps the state)
ITEMS: dict[str, tuple[str, str | None]] = {
    "MilestoneSet": ("milestone", "open"),
    "MilestoneProgressed": ("milestone", None),
    "MilestoneAchieved": ("milestone", "achieved"),
    "MilestoneMissed": ("milestone", "missed"),
    "CheckInRecorded": ("check_in", "recorded"),
    "RotationAssigned": ("rotation", "assigned"),
    "RotationDebriefed": ("rotation", "debriefed"),
    "RotationCompleted": ("rotation", "completed"),
    "EscalationRaised": ("escalation", "open"),
    "EscalationResolved": ("escalation", "resolved"),
}
TEXTS = {  # private reference → the field the reader sees
    "label_text_id": "label",
    "criteria_text_id": "criteria",
    "evidence_text_id": "evidence",
    "project_text_id": "project",
    "reflection_text_id": "reflection",
    "correction_text_id": "correction",
    "detail_text_id": "detail",
    "note_text_id": "note",
}


class DevelopmentProjection:
    """Current state of each item: its events' payloads merged, plus its state."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, payload in events:
            kind, state = ITEMS[recorded.event_type]
            data = encode(payload)
            row = (
                await conn.execute(
                    text(
                        "SELECT state, view FROM development_items WHERE item_id = :i"
                    ),
                    {"i": recorded.stream_id},
                )
            ).first()
            if row is None:
                await conn.execute(
                    text(
                        "INSERT INTO development_items (item_id, kind, tenant, "
                        "relationship_id, owner_id, state, recorded_at, view) "
                        "VALUES (:i, :k, :t, :r, :o, :s, :at, :v)"
                    ),
                    {
                        "i": recorded.stream_id,
                        "k": kind,
                        "t": recorded.tenant,
                        "r": data["relationship_id"],
                        "o": data.get("raised_by"),
                        "s": state,
                        "at": recorded.time.isoformat(),
                        "v": json.dumps(data),
                    },
                )
                continue
            await conn.execute(
                text(
                    "UPDATE development_items SET state = :s, view = :v "
                    "WHERE item_id = :i"
                ),
                {
                    "i": recorded.stream_id,
                    "s": state or row.state,
                    "v": json.dumps({**json.loads(row.view), **data}),
                },
            )


def text_ids(row: Row[Any]) -> list[str]:
    """The private texts an item refers to (fetched for a whole page at once)."""
    data = json.loads(row.view)
    return [value for key, value in data.items() if key in TEXTS and value]


def item_view(
    principal: Principal,
    parties: tuple[str, str],
    row: Row[Any],
    words: dict[str, str | None],
) -> api.DevelopmentItem:
    """The item as ``principal`` may see it (``parties``: its relationship's
    mentor and mentee); ``words``: its texts, by id."""
    return api.DevelopmentItem.model_validate(
        _item_fields(principal, parties, row, words)
    )


# The answer's fields in the model's order (how it serialises them).
_ITEM_FIELDS = tuple(api.DevelopmentItem.model_fields)


def item_answer(
    principal: Principal,
    parties: tuple[str, str],
    row: Row[Any],
    words: dict[str, str | None],
) -> dict[str, Any]:
    """``item_view`` as the JSON the API sends it (only the fields the item has,
    as ``response_model_exclude_unset`` writes it), without building and validating
    a model per item: what a list of 50 spent most of its time on. Stored values
    are already in their JSON form (texts, ids, ISO dates, enum values); a key the
    model does not know is never sent. The tests hold every list answer to the
    model."""
    fields = _item_fields(principal, parties, row, words)
    return {name: fields[name] for name in _ITEM_FIELDS if name in fields}


def _item_fields(
    principal: Principal,
    parties: tuple[str, str],
    row: Row[Any],
    words: dict[str, str | None],
) -> dict[str, object]:
    data = json.loads(row.view)
    if row.kind == "escalation":
        readable = principal.subject == row.owner_id or principal.has_role(
            *COORDINATING
        )
        data.pop("raised_by", None)
    else:
        readable = principal.subject in parties or principal.has_role(*COORDINATING)
    view: dict[str, object] = {"id": row.item_id, "kind": row.kind, "state": row.state}
    if row.kind == "milestone" and not data.get("set_on"):
        # set before effective dates: the day its MilestoneSet was recorded
        data["set_on"] = str(row.recorded_at)[:10]
    for key, value in data.items():
        if key not in TEXTS:
            view[key] = value
        elif readable:
            said = words.get(value) if value else None
            field = TEXTS[key]
            view[field] = said.split("\n") if field == "criteria" and said else said
    return view
