"""Notes, journals and after-action reviews (``Notes``).

Reading rule: the author reads their private notes, the pair reads shared ones;
coordinators, sponsors and admins see only that a note exists (id, kind, author's role,
visibility, dates) — ``GET /notes/{id}`` answers them with that metadata, never a body.
Free text lives in ``private_texts``, sealed with its author's key; on ``PersonErased``
it is deleted and the key destroyed, and the note stays as an erased entry without
author or body (a shared note reads as erased to the other party too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.errors import NotFound
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from contracts.sessions.notes import FeedbackAbout, NoteKind, Visibility
from services.sessions.application.relationships import Relationships
from services.sessions.domain.events import registry
from services.sessions.domain.notes import PROMPTS, Note, readable
from services.sessions.projections.feedback import find_subject
from services.sessions.projections.notes import NotesProjection, metadata_view

__all__ = ["Notes"]
NoteViews = list[api.Note]  # rendered, as the API answers them


class Notes:
    def __init__(self, runtime: ServiceRuntime, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.texts = relationships.texts
        self.repo = Repository(
            runtime.store, registry, Note, projections=[NotesProjection()]
        )
        self.repo.on_saved.append(lambda _events: runtime.relay.notify())

    @staticmethod
    def journal_prompts() -> list[api.JournalPrompt]:
        """The guided prompts for journals (bias, decision timelines, values, growth)."""
        return [
            api.JournalPrompt(
                prompt_id=key, theme=value["theme"], prompt=value["prompt"]
            )
            for key, value in PROMPTS.items()
        ]

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
    ) -> api.Note:
        async with self.engine.begin() as conn:
            rel = await self.relationships.load(principal, relationship_id, conn)
            rel.require_party(principal.subject)
            session = None
            if session_id is not None:
                session = await find_subject(
                    conn, principal.tenant, FeedbackAbout.SESSION, session_id
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
    ) -> api.Note:
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
                    visibility=visibility or note.visibility,
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

    async def list(self, principal: Principal, relationship_id: str) -> list[api.Note]:
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
            return await self._shown(conn, principal, [(rel.parties, rows)])

    async def of_relationships(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> NoteViews:
        """The notes of several relationships, each relationship's as ``list`` shows
        them, in the order asked (one the caller may not see adds nothing): three
        statements, however many."""
        query = text(
            "SELECT * FROM notes WHERE tenant = :t AND relationship_id IN :ids "
            "AND deleted = 0 ORDER BY created_at, note_id"
        ).bindparams(bindparam("ids", expanding=True))
        async with self.engine.connect() as conn:
            rels = await self.relationships.visible(principal, relationship_ids, conn)
            if not rels:
                return []
            by_rel: dict[str, list[Row[Any]]] = {rid: [] for rid in rels}
            for row in await conn.execute(
                query, {"t": principal.tenant, "ids": list(rels)}
            ):
                by_rel[row.relationship_id].append(row)
            return await self._shown(
                conn,
                principal,
                [
                    ((rel["mentor_id"], rel["mentee_id"]), by_rel[rid])
                    for rid, rel in rels.items()
                ],
            )

    async def _shown(
        self,
        conn: AsyncConnection,
        principal: Principal,
        pages: Sequence[tuple[tuple[str, str], Sequence[Row[Any]]]],
    ) -> NoteViews:
        """Each relationship's notes (its pair, its rows) as the principal may see
        them: metadata for overseers, what they may read for one of the pair; every
        body in one statement."""
        shown: list[tuple[Row[Any], bool]] = []
        for parties, rows in pages:
            if principal.subject not in parties:
                shown += [(row, False) for row in rows]
                continue
            shown += [
                (row, True)
                for row in rows
                if readable(row.author_id, row.visibility, principal.subject, parties)
            ]
        words = await self.texts.get_many(
            conn, (row.body_text_id for row, full in shown if full)
        )
        return [
            _full(row, words) if full else metadata_view(row) for row, full in shown
        ]

    async def get(self, principal: Principal, note_id: str) -> api.Note:
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


def _full(row: Row[Any], words: dict[str, str | None]) -> api.Note:
    """The note as its readers see it; ``words``: the page's texts, by id."""
    view = metadata_view(row)
    view.author_id = row.author_id
    view.prompt_id = row.prompt_id
    view.prompt = PROMPTS[row.prompt_id]["prompt"] if row.prompt_id else None
    view.session_id = row.session_id
    view.body = words.get(row.body_text_id) if row.body_text_id else None
    return view
