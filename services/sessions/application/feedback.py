"""Feedback after sessions and milestones, both directions (``Feedbacks``).

The event says which side rated what and how (1-5), never who: the comment lives in
``private_texts``, sealed with its author's key (``application/texts.py``), and the
author only in the ``feedback`` table, which erasure nulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from contracts.sessions.notes import FeedbackAbout, PartyRole
from services.sessions.application.relationships import Relationships
from services.sessions.domain.events import registry
from services.sessions.domain.notes import Feedback, require_rating
from services.sessions.projections.feedback import FeedbackProjection, find_subject

__all__ = ["Feedbacks"]
FeedbackViews = list[api.Feedback]  # rendered, as the API answers them


class Feedbacks:
    def __init__(self, runtime: ServiceRuntime, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.feedback = Repository(
            runtime.store, registry, Feedback, projections=[FeedbackProjection()]
        )
        self.feedback.on_saved.append(lambda _events: runtime.relay.notify())

    async def give(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        about: FeedbackAbout,
        subject_id: str,
        rating: int,
        comment: str | None,
        given_at: datetime | None = None,
    ) -> api.Feedback:
        require_rating(rating)  # before anything is written

        async def attempt() -> tuple[PartyRole, datetime]:
            async with self.engine.begin() as conn:
                rel = await self.relationships.load(principal, relationship_id, conn)
                rel.require_party(principal.subject)
                role = (
                    PartyRole.MENTOR
                    if principal.subject == rel.mentor_id
                    else PartyRole.MENTEE
                )
                fid = Feedback.id_for(
                    principal.tenant, relationship_id, role, about, subject_id
                )
                feedback = await self.feedback.find(
                    fid, principal.tenant, connection=conn
                )
                if feedback is None:
                    feedback = Feedback(fid, principal.tenant)
                    feedback.initial_state()
                subject = await find_subject(conn, principal.tenant, about, subject_id)
                comment_id = None
                if comment:
                    comment_id = await self.relationships.texts.put(
                        conn, principal.tenant, principal.subject, comment
                    )
                feedback.give(
                    relationship_id=relationship_id,
                    from_role=role,
                    about=about,
                    subject_id=subject_id,
                    subject=subject,
                    rating=rating,
                    comment_text_id=comment_id,
                    now=datetime.now(UTC),
                    given_at=given_at,
                    started_on=rel.starts_on,
                )
                assert feedback.given is not None and feedback.given.given_at
                # The author is not an attribute of the published (or stored) event.
                meta = replace(self.relationships.metadata_for(principal), actor=None)
                # Once per side: a concurrent giver appends at the same version of
                # this stream, loses, and on retry finds the feedback given.
                await self.feedback.save(feedback, meta, connection=conn)
                await conn.execute(
                    text("UPDATE feedback SET author_id = :a WHERE feedback_id = :f"),
                    {"a": principal.subject, "f": fid},
                )
                return role, feedback.given.given_at

        role, when = await retrying(attempt)
        fid = Feedback.id_for(
            principal.tenant, relationship_id, role, about, subject_id
        )
        return api.Feedback(
            feedback_id=fid,
            relationship_id=relationship_id,
            from_role=role,
            about=about,
            subject_id=subject_id,
            rating=rating,
            given_at=when.isoformat(),
        )

    async def list(
        self, principal: Principal, relationship_id: str
    ) -> list[api.Feedback]:
        """The pair reads ratings and comments; overseers ratings only."""
        rel = await self.relationships.load(principal, relationship_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT * FROM feedback WHERE tenant = :t "
                        "AND relationship_id = :r ORDER BY given_at, feedback_id"
                    ),
                    {"t": principal.tenant, "r": relationship_id},
                )
            ).all()
            return await self._shown(conn, principal, [(rel.parties, rows)])

    async def of_relationships(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> FeedbackViews:
        """The feedback of several relationships, each relationship's as ``list``
        shows it (with its ``relationship_id``), in the order asked (one the caller
        may not see adds nothing): three statements, however many."""
        query = text(
            "SELECT * FROM feedback WHERE tenant = :t AND relationship_id IN :ids "
            "ORDER BY given_at, feedback_id"
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
            shown = await self._shown(
                conn,
                principal,
                [
                    ((rel["mentor_id"], rel["mentee_id"]), by_rel[rid])
                    for rid, rel in rels.items()
                ],
            )
        rids = [rid for rid in rels for _row in by_rel[rid]]
        for view, rid in zip(shown, rids, strict=True):
            view.relationship_id = rid
        return shown

    async def _shown(
        self,
        conn: AsyncConnection,
        principal: Principal,
        pages: Sequence[tuple[tuple[str, str], Sequence[Row[Any]]]],
    ) -> FeedbackViews:
        """Each relationship's feedback (its pair, its rows): comments for the pair,
        ratings for overseers; every comment in one statement."""
        shown = [
            (row, principal.subject in parties)
            for parties, rows in pages
            for row in rows
        ]
        words = await self.relationships.texts.get_many(
            conn, (row.comment_text_id for row, party in shown if party)
        )
        out = []
        for row, party in shown:
            view = api.Feedback(
                feedback_id=row.feedback_id,
                from_role=row.from_role,
                about=row.about,
                subject_id=row.subject_id,
                rating=row.rating,
                given_at=row.given_at,
            )
            if party:
                view.comment = (
                    words.get(row.comment_text_id) if row.comment_text_id else None
                )
            out.append(view)
        return out

    async def on_person_erased(self, person_id: str, conn: AsyncConnection) -> None:
        """Their comments go and their ratings lose their author."""
        await conn.execute(
            text(
                "UPDATE feedback SET author_id = NULL, comment_text_id = NULL "
                "WHERE author_id = :p"
            ),
            {"p": person_id},
        )
