"""Current state of feedback, without authors (only the live command links one, and
erasure nulls it); and the subjects feedback and notes refer to, read from this
service's own tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent
from contracts.sessions.notes import FeedbackAbout
from services.sessions.domain.notes import Subject


async def find_subject(
    conn: AsyncConnection, tenant: str, about: FeedbackAbout, subject_id: str
) -> Subject | None:
    """The session or milestone ``subject_id`` of ``tenant`` (None when there is
    none), read in the command's transaction from this service's own tables."""
    if about == "session":
        sql = (
            "SELECT relationship_id, state, held_at FROM sessions "
            "WHERE tenant = :t AND session_id = :i"
        )
    else:
        sql = (
            "SELECT relationship_id, state, recorded_at, view FROM development_items "
            "WHERE tenant = :t AND item_id = :i AND kind = 'milestone'"
        )
    row = (await conn.execute(text(sql), {"t": tenant, "i": subject_id})).first()
    if row is None:
        return None
    since: datetime | None
    if about == "session":
        since = _aware(row.held_at) if row.held_at else None
    else:
        since = milestone_set_at(row.view, row.recorded_at)
    return Subject(about, subject_id, row.relationship_id, row.state, since)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def milestone_set_at(view: str, recorded_at: str) -> datetime:
    """The start of the day a milestone was set: its ``set_on`` (effective date),
    else the day its MilestoneSet was recorded."""
    set_on = json.loads(view).get("set_on")
    day = date.fromisoformat(set_on) if set_on else _aware(recorded_at).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


FEEDBACK_COLUMNS = ("relationship_id", "from_role", "about", "subject_id", "rating")


class FeedbackProjection:
    """Current state without authors: only the live command links one (erasable)."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            if recorded.event_type == "FeedbackGiven":
                row = {"id": recorded.stream_id, "tenant": recorded.tenant}
                cols = (*FEEDBACK_COLUMNS, "comment_text_id", "given_at")
                row |= p.model_dump(include={*cols})
                # the effective time (events recorded before it: the recording time)
                given_at = getattr(p, "given_at", None) or recorded.time
                row["given_at"] = given_at.astimezone(UTC).isoformat()
                await insert(conn, "feedback", "feedback_id", cols, row)


async def insert(
    conn: AsyncConnection,
    table: str,
    key: str,
    columns: Sequence[str],
    row: dict[str, Any],
) -> None:
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    await conn.execute(
        text(
            f"INSERT INTO {table} ({key}, tenant, {names}) "
            f"VALUES (:id, :tenant, {values})"
        ),
        row,
    )
