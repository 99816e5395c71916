"""Feedback after sessions and milestones, both directions (``Feedbacks``).

The event says which side rated what and how (1-5), never who: the comment lives in
``private_texts``, sealed with its author's key (``services.sessions.texts``), and the
author only in the ``feedback`` table, which erasure nulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.events import EventPayload, RecordedEvent
from chassis.inputs import Int32, Ref, RequestBody, Text
from chassis.repository import Repository, retrying
from contracts.sessions.notes import FeedbackAbout
from services.sessions.api.deps import PrincipalDep
from services.sessions.domain.events import registry
from services.sessions.domain.notes import Feedback, Subject, require_rating
from services.sessions.relationships import Relationships

router = APIRouter(tags=["feedback"])
TABLES = [
    """CREATE TABLE IF NOT EXISTS feedback (
        feedback_id TEXT PRIMARY KEY, tenant TEXT NOT NULL,
        relationship_id TEXT NOT NULL, author_id TEXT, from_role TEXT NOT NULL,
        about TEXT NOT NULL, subject_id TEXT NOT NULL, rating INTEGER NOT NULL,
        comment_text_id TEXT, given_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS feedback_relationship ON feedback (relationship_id)",
]


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264302)"))
        for statement in TABLES:
            await conn.execute(text(statement))


async def find_subject(
    conn: AsyncConnection, tenant: str, about: FeedbackAbout, subject_id: str
) -> Subject | None:
    """The session or milestone ``subject_id`` of ``tenant`` (None when there is
    none), read in the command's transaction from this service's own tables."""
    if about == "session":
        sql = (
            "SELECT relationship_id, state FROM sessions "
            "WHERE tenant = :t AND session_id = :i"
        )
    else:
        sql = (
            "SELECT relationship_id, state FROM development_items "
            "WHERE tenant = :t AND item_id = :i AND kind = 'milestone'"
        )
    row = (await conn.execute(text(sql), {"t": tenant, "i": subject_id})).first()
    if row is None:
        return None
    return Subject(about, subject_id, row.relationship_id, row.state)


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
                row["given_at"] = recorded.time.isoformat()
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


class Feedbacks:
    def __init__(self, runtime: Any, relationships: Relationships) -> None:
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
    ) -> dict[str, Any]:
        require_rating(rating)  # before anything is written

        async def attempt() -> str:
            async with self.engine.begin() as conn:
                rel = await self.relationships.load(principal, relationship_id, conn)
                rel.require_party(principal.subject)
                role = "mentor" if principal.subject == rel.mentor_id else "mentee"
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
                    from_role=role,  # type: ignore[arg-type]
                    about=about,
                    subject_id=subject_id,
                    subject=subject,
                    rating=rating,
                    comment_text_id=comment_id,
                )
                # The author is not an attribute of the published (or stored) event.
                meta = replace(self.relationships.metadata_for(principal), actor=None)
                # Once per side: a concurrent giver appends at the same version of
                # this stream, loses, and on retry finds the feedback given.
                await self.feedback.save(feedback, meta, connection=conn)
                await conn.execute(
                    text("UPDATE feedback SET author_id = :a WHERE feedback_id = :f"),
                    {"a": principal.subject, "f": fid},
                )
                return role

        role = await retrying(attempt)
        fid = Feedback.id_for(
            principal.tenant, relationship_id, role, about, subject_id
        )
        return {
            "feedback_id": fid,
            "relationship_id": relationship_id,
            "from_role": role,
            "about": about,
            "subject_id": subject_id,
            "rating": rating,
        }

    async def list(
        self, principal: Principal, relationship_id: str
    ) -> list[dict[str, Any]]:
        """The pair reads ratings and comments; overseers ratings only."""
        rel = await self.relationships.load(principal, relationship_id)
        party = principal.subject in rel.parties
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
            words = (
                await self.relationships.texts.get_many(
                    conn, (row.comment_text_id for row in rows)
                )
                if party
                else {}
            )
            out = []
            for row in rows:
                view = {
                    "feedback_id": row.feedback_id,
                    "from_role": row.from_role,
                    "about": row.about,
                    "subject_id": row.subject_id,
                    "rating": row.rating,
                    "given_at": row.given_at,
                }
                if party:
                    view["comment"] = (
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


# -- HTTP -------------------------------------------------------------------------------


def get_feedback(request: Request) -> Feedbacks:
    return request.app.state.feedback


FeedbackDep = Annotated[Feedbacks, Depends(get_feedback)]


class FeedbackIn(RequestBody):
    about: FeedbackAbout
    subject_id: Ref = Field(description="the held session or the milestone")
    # the domain says what is out of 1..5 (InvalidRating); here only the column
    rating: Int32 = Field(description="1 to 5")
    comment: Text | None = None


@router.post("/relationships/{relationship_id}/feedback", status_code=201)
async def give_feedback(
    relationship_id: Ref, body: FeedbackIn, principal: PrincipalDep, fb: FeedbackDep
) -> dict[str, Any]:
    """Rate a session or milestone (either side, once each), with a private comment."""
    return await fb.give(principal, relationship_id, **body.model_dump())


@router.get("/relationships/{relationship_id}/feedback")
async def list_feedback(
    relationship_id: Ref, principal: PrincipalDep, fb: FeedbackDep
) -> list[dict[str, Any]]:
    """Feedback in a relationship: comments for the pair, ratings for overseers."""
    return await fb.list(principal, relationship_id)


def install(app: Any, runtime: Any, relationships: Relationships) -> None:
    app.state.feedback = Feedbacks(runtime, relationships)
    app.state.schema_setups.append(create_schema)
