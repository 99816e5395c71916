"""Batch reads for the gateway's DataLoaders: many ids (or many relationships) in
one call, each item authorised exactly as its single-item route does it.

An id the caller may not see (another tenant's, another pair's, or unknown) is left
out of ``items``, never reported: the answer looks the same as for an id that does
not exist. Each item carries its ``relationship_id`` so a caller can group them. A batch sends
as many SQL statements for 200 ids as for one (the relationships the caller may see
in one statement, then each kind of row and text in one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field
from pydantic_core import to_json

from chassis.inputs import Items as ListOf
from chassis.inputs import Ref, RequestBody
from contracts.api import sessions as api
from services.sessions.api.deps import (
    DevelopmentDep,
    FeedbackDep,
    MeetingsDep,
    NotesDep,
    PrincipalDep,
)

router = APIRouter(tags=["batches"])
MAX_IDS = 200

Ids = Annotated[ListOf[Ref], Field(max_length=MAX_IDS)]


class IdsIn(RequestBody):
    ids: Ids = Field(description="ids, at most 200")


class RelationshipIdsIn(RequestBody):
    relationship_ids: Ids = Field(description="relationship ids, at most 200")


class ItemsIn(RelationshipIdsIn):
    kind: api.BatchItemKind


@router.post("/relationships/batch", response_model_exclude_unset=True)
async def relationships_batch(
    body: IdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> api.Relationships:
    """Several relationships, each as ``GET /relationships/{id}`` shows it, with its
    cadence adherence (``…/cadence``) once the contract is in force."""
    return api.Relationships(
        items=await meetings.relationships_with_cadence(p, body.ids)
    )


@router.post("/sessions/batch", response_model_exclude_unset=True)
async def sessions_batch(
    body: IdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> api.Sessions:
    """Several sessions, each as ``GET /sessions/{id}`` shows it."""
    return api.Sessions(items=await meetings.get_many(p, body.ids))


@router.post(
    "/sessions/batch-by-relationship",
    response_model=api.Sessions,
    response_model_exclude_unset=True,
)
async def sessions_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> Response:
    """The sessions of several relationships (as each one's list shows them)."""
    return _sent(await meetings.of_relationships_answers(p, body.relationship_ids))


@router.post("/milestones/batch", response_model_exclude_unset=True)
async def milestones_batch(
    body: IdsIn, p: PrincipalDep, dev: DevelopmentDep
) -> api.DevelopmentItems:
    """Several milestones, each as ``GET /milestones/{id}`` shows it."""
    return api.DevelopmentItems(items=await dev.milestones(p, body.ids))


@router.post(
    "/development-items/batch-by-relationship",
    response_model=api.DevelopmentItems,
    response_model_exclude_unset=True,
)
async def items_by_relationship(
    body: ItemsIn, p: PrincipalDep, dev: DevelopmentDep
) -> Response:
    """Milestones, check-ins or rotations of several relationships."""
    return _sent(
        await dev.of_relationships_answers(p, body.kind, body.relationship_ids)
    )


def _sent(items: Sequence[dict[str, Any]]) -> Response:
    """``{"items": [...]}`` sent as built (each item the model's fields it has,
    in the model's order), not validated again field by field; the tests hold
    these answers to the model's own."""
    return Response(to_json({"items": items}), media_type="application/json")


@router.post("/notes/batch-by-relationship", response_model_exclude_unset=True)
async def notes_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, notes: NotesDep
) -> api.Notes:
    """Notes of several relationships: what each relationship's list shows."""
    return api.Notes(items=await notes.of_relationships(p, body.relationship_ids))


@router.post("/feedback/batch-by-relationship", response_model_exclude_unset=True)
async def feedback_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, feedback: FeedbackDep
) -> api.FeedbackItems:
    """Feedback of several relationships: what each relationship's list shows."""
    return api.FeedbackItems(
        items=await feedback.of_relationships(p, body.relationship_ids)
    )
