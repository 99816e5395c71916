"""Notes, journals and after-action reviews (``Notes``), and this part's install hook.

Reading rule: the author reads their private notes, the pair reads shared ones;
coordinators, sponsors and admins see only that a note exists (id, kind, author's role,
visibility, dates) — ``GET /notes/{id}`` answers them with that metadata, never a body.
Free text lives in ``private_texts``, sealed with its author's key; on ``PersonErased``
it is deleted and the key destroyed, and the note stays as an erased entry without
author or body (a shared note reads as erased to the other party too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.errors import NotFound
from chassis.events import EventPayload, RecordedEvent
from chassis.inputs import Ref, RequestBody, Text
from chassis.repository import Repository, retrying
from contracts.sessions.notes import NoteKind, Visibility
from services.sessions import feedback, pulse
from services.sessions.api.deps import PrincipalDep
from services.sessions.domain.events import registry
from services.sessions.domain.notes import PROMPTS, Note, readable
from services.sessions.relationships import Relationships

router = APIRouter(tags=["notes"])
router.include_router(feedback.router)
router.include_router(pulse.router)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264301)"))
        await conn.execute(
            text(
                """
                CREATE TABLE IF NOT EXISTS notes (
                    note_id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    relationship_id TEXT NOT NULL,
                    author_id TEXT,
                    author_role TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    visibility TEXT NOT NULL,
                    prompt_id TEXT,
                    session_id TEXT,
                    body_text_id TEXT,
                    created_at TEXT NOT NULL,
                    edited_at TEXT,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    erased INTEGER NOT NULL DEFAULT 0
                )
                """
            )
        )
        for column in ("relationship_id", "author_id"):
            await conn.execute(
                text(f"CREATE INDEX IF NOT EXISTS notes_{column} ON notes ({column})")
            )


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


def metadata_view(row: Any) -> dict[str, Any]:
    """What anyone allowed to see the relationship may know: that a note exists."""
    return {
        "note_id": row.note_id,
        "relationship_id": row.relationship_id,
        "kind": row.kind,
        "author_role": row.author_role,
        "visibility": row.visibility,
        "created_at": row.created_at,
        "edited_at": row.edited_at,
        "erased": bool(row.erased),
    }


class Notes:
    def __init__(self, runtime: Any, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.texts = relationships.texts
        self.repo = Repository(
            runtime.store, registry, Note, projections=[NotesProjection()]
        )
        self.repo.on_saved.append(lambda _events: runtime.relay.notify())

    async def write(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        kind: NoteKind,
        visibility: Visibility,
        body: str,
        prompt_id: str | None,
        session_id: str | None,
    ) -> dict[str, Any]:
        async with self.engine.begin() as conn:
            rel = await self.relationships.load(principal, relationship_id, conn)
            rel.require_party(principal.subject)
            session = None
            if session_id is not None:
                session = await feedback.find_subject(
                    conn, principal.tenant, "session", session_id
                )
            text_id = await self.texts.put(
                conn, principal.tenant, principal.subject, body
            )
            note = Note.write(
                principal.tenant,
                relationship_id=relationship_id,
                author_id=principal.subject,
                kind=kind,
                visibility=visibility,
                body_text_id=text_id,
                prompt_id=prompt_id,
                session_id=session_id,
                session=session,
            )
            await self.repo.save(
                note, self.relationships.metadata_for(principal), connection=conn
            )
        return await self.get(principal, note.id)

    async def edit(
        self,
        principal: Principal,
        note_id: str,
        *,
        visibility: Visibility | None,
        body: str | None,
    ) -> dict[str, Any]:
        async def attempt() -> None:
            async with self.engine.begin() as conn:
                note = await self._load(principal, note_id, conn)
                old = note.body_text_id
                new = None
                if body is not None:
                    new = await self.texts.put(
                        conn, principal.tenant, principal.subject, body
                    )
                note.edit(
                    principal.subject,
                    visibility=visibility or note.visibility,  # type: ignore[arg-type]
                    body_text_id=new,
                )
                await self.repo.save(
                    note, self.relationships.metadata_for(principal), connection=conn
                )
                if new is not None:
                    await self.texts.forget(conn, old)

        await retrying(attempt)
        return await self.get(principal, note_id)

    async def delete(self, principal: Principal, note_id: str) -> None:
        async with self.engine.begin() as conn:
            note = await self._load(principal, note_id, conn)
            note.delete(principal.subject)
            await self.repo.save(
                note, self.relationships.metadata_for(principal), connection=conn
            )
            await self.texts.forget(conn, note.body_text_id)

    async def _load(
        self, principal: Principal, note_id: str, conn: AsyncConnection
    ) -> Note:
        note = await self.repo.find(note_id, principal.tenant, connection=conn)
        if note is None or not note.readable_by(principal.subject, ()):
            raise NotFound(f"note {note_id} not found")
        return note

    # -- reads ---------------------------------------------------------------------

    async def list(
        self, principal: Principal, relationship_id: str
    ) -> list[dict[str, Any]]:
        rel = await self.relationships.load(principal, relationship_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT * FROM notes WHERE tenant = :t "
                        "AND relationship_id = :r AND deleted = 0 "
                        "ORDER BY created_at, note_id"
                    ),
                    {"t": principal.tenant, "r": relationship_id},
                )
            ).all()
            if principal.subject not in rel.parties:
                return [metadata_view(row) for row in rows]
            mine = [
                row
                for row in rows
                if readable(
                    row.author_id, row.visibility, principal.subject, rel.parties
                )
            ]
            words = await self.texts.get_many(conn, (r.body_text_id for r in mine))
        return [_full(row, words) for row in mine]

    async def get(self, principal: Principal, note_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT * FROM notes WHERE tenant = :t AND note_id = :n "
                        "AND deleted = 0"
                    ),
                    {"t": principal.tenant, "n": note_id},
                )
            ).first()
            if row is None:
                raise NotFound(f"note {note_id} not found")
            rel = await self.relationships.load(principal, row.relationship_id, conn)
            if principal.subject not in rel.parties:
                return metadata_view(row)
            if not readable(
                row.author_id, row.visibility, principal.subject, rel.parties
            ):
                raise NotFound(f"note {note_id} not found")
            words = await self.texts.get_many(conn, [row.body_text_id])
        return _full(row, words)

    async def on_person_erased(
        self, tenant: str, person_id: str, conn: AsyncConnection
    ) -> None:
        """The person's words and key go (every part's texts: notes, journals,
        feedback comments, escalations); their notes remain as erased, authorless
        entries."""
        await self.texts.erase_author(conn, tenant, person_id)
        await conn.execute(
            text(
                "UPDATE notes SET author_id = NULL, body_text_id = NULL, erased = 1 "
                "WHERE author_id = :p"
            ),
            {"p": person_id},
        )


def _full(row: Any, words: dict[str, str | None]) -> dict[str, Any]:
    """The note as its readers see it; ``words``: the page's texts, by id."""
    return {
        **metadata_view(row),
        "author_id": row.author_id,
        "prompt_id": row.prompt_id,
        "prompt": PROMPTS[row.prompt_id]["prompt"] if row.prompt_id else None,
        "session_id": row.session_id,
        "body": words.get(row.body_text_id) if row.body_text_id else None,
    }


# -- HTTP -------------------------------------------------------------------------------


def get_notes(request: Request) -> Notes:
    return request.app.state.notes


NotesDep = Annotated[Notes, Depends(get_notes)]


NoteText = Annotated[Text, Field(min_length=1)]


class NoteIn(RequestBody):
    kind: NoteKind
    visibility: Visibility = "private"
    body: NoteText
    prompt_id: Ref | None = Field(None, description="a journal prompt's id")
    session_id: Ref | None = Field(None, description="a session of the relationship")


class NoteChange(RequestBody):
    visibility: Visibility | None = None
    body: NoteText | None = None


@router.get("/journal-prompts")
async def journal_prompts(_principal: PrincipalDep) -> list[dict[str, str]]:
    """The guided prompts for journals (bias, decision timelines, values, growth)."""
    return [{"prompt_id": key, **value} for key, value in PROMPTS.items()]


@router.post("/relationships/{relationship_id}/notes", status_code=201)
async def write_note(
    relationship_id: Ref, body: NoteIn, principal: PrincipalDep, notes: NotesDep
) -> dict[str, Any]:
    """Write a session note, journal entry or after-action review (the pair only)."""
    return await notes.write(
        principal,
        relationship_id,
        kind=body.kind,
        visibility=body.visibility,
        body=body.body,
        prompt_id=body.prompt_id,
        session_id=body.session_id,
    )


@router.get("/relationships/{relationship_id}/notes")
async def list_notes(
    relationship_id: Ref, principal: PrincipalDep, notes: NotesDep
) -> list[dict[str, Any]]:
    """Notes the caller may read; overseers get metadata of every note, no text."""
    return await notes.list(principal, relationship_id)


@router.get("/notes/{note_id}")
async def get_note(
    note_id: Ref, principal: PrincipalDep, notes: NotesDep
) -> dict[str, Any]:
    """One note: its body for those who may read it, metadata for overseers."""
    return await notes.get(principal, note_id)


@router.patch("/notes/{note_id}")
async def edit_note(
    note_id: Ref, body: NoteChange, principal: PrincipalDep, notes: NotesDep
) -> dict[str, Any]:
    """Change a note's text or visibility (its author only)."""
    return await notes.edit(
        principal, note_id, visibility=body.visibility, body=body.body
    )


@router.delete("/notes/{note_id}", status_code=204)
async def delete_note(note_id: Ref, principal: PrincipalDep, notes: NotesDep) -> None:
    """Delete a note and its text (its author only)."""
    await notes.delete(principal, note_id)


# -- install ------------------------------------------------------------------------------


def install(app: Any, runtime: Any, relationships: Relationships) -> None:
    """Notes, feedback and pulse surveys: schema, application objects, erasure."""
    notes = Notes(runtime, relationships)
    app.state.notes = notes
    app.state.schema_setups.append(create_schema)
    feedback.install(app, runtime, relationships)
    pulse.install(app, runtime, relationships)
    chained = runtime.consumer.handlers.get("PersonErased")

    async def on_person_erased(env: Envelope, conn: AsyncConnection) -> None:
        if chained is not None:
            await chained(env, conn)
        person_id = env.data["person_id"]
        await notes.on_person_erased(env.tenant, person_id, conn)
        await app.state.feedback.on_person_erased(person_id, conn)
        await app.state.pulse_surveys.on_person_erased(env.tenant, person_id, conn)

    runtime.consumer.handlers["PersonErased"] = on_person_erased
