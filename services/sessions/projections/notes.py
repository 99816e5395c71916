"""Current state of notes, journals and after-action reviews (rebuildable from their
events), and what anyone allowed to see a relationship may know of a note."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent
from contracts.api import sessions as api


class NotesProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            at = recorded.time.isoformat()
            if recorded.event_type == "NoteWritten":
                mentor = (
                    await conn.execute(
                        text(
                            "SELECT mentor_id FROM relationships WHERE relationship_id = :r"
                        ),
                        {"r": p.relationship_id},  # type: ignore[attr-defined]
                    )
                ).scalar()
                await conn.execute(
                    text(
                        "INSERT INTO notes (note_id, tenant, relationship_id, author_id, "
                        "author_role, kind, visibility, prompt_id, session_id, "
                        "body_text_id, created_at) VALUES (:n, :t, :r, :a, :ar, :k, :v, "
                        ":p, :s, :b, :c)"
                    ),
                    {
                        "n": recorded.stream_id,
                        "t": recorded.tenant,
                        "r": p.relationship_id,  # type: ignore[attr-defined]
                        "a": p.author_id,  # type: ignore[attr-defined]
                        "ar": "mentor" if p.author_id == mentor else "mentee",  # type: ignore[attr-defined]
                        "k": p.kind,  # type: ignore[attr-defined]
                        "v": p.visibility,  # type: ignore[attr-defined]
                        "p": p.prompt_id,  # type: ignore[attr-defined]
                        "s": p.session_id,  # type: ignore[attr-defined]
                        "b": p.body_text_id,  # type: ignore[attr-defined]
                        "c": at,
                    },
                )
            elif recorded.event_type == "NoteEdited":
                await conn.execute(
                    text(
                        "UPDATE notes SET visibility = :v, body_text_id = :b, "
                        "edited_at = :e WHERE note_id = :n"
                    ),
                    {
                        "v": p.visibility,  # type: ignore[attr-defined]
                        "b": p.body_text_id,  # type: ignore[attr-defined]
                        "e": at,
                        "n": recorded.stream_id,
                    },
                )
            elif recorded.event_type == "NoteDeleted":
                await conn.execute(
                    text("UPDATE notes SET deleted = 1 WHERE note_id = :n"),
                    {"n": recorded.stream_id},
                )


def metadata_view(row: Row[Any]) -> api.Note:
    """What anyone allowed to see the relationship may know: that a note exists."""
    return api.Note(
        note_id=row.note_id,
        relationship_id=row.relationship_id,
        kind=row.kind,
        author_role=row.author_role,
        visibility=row.visibility,
        created_at=row.created_at,
        edited_at=row.edited_at,
        erased=bool(row.erased),
    )
