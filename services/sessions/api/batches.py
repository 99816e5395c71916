"""Batch reads for the gateway's DataLoaders: many ids (or many relationships) in
one call, each item authorised exactly as its single-item route does it.

An id the caller may not see (another tenant's, another pair's, or unknown) is left
out of ``items``, never reported: the answer looks the same as for an id that does
not exist. Each item carries its ``relationship_id`` so a caller can group them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter
from pydantic import Field

from chassis.errors import Forbidden, NotFound
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
T = TypeVar("T")

Ids = Annotated[ListOf[Ref], Field(max_length=MAX_IDS)]


class IdsIn(RequestBody):
    ids: Ids = Field(description="ids, at most 200")


class RelationshipIdsIn(RequestBody):
    relationship_ids: Ids = Field(description="relationship ids, at most 200")


class ItemsIn(RelationshipIdsIn):
    kind: api.BatchItemKind


async def _each(ids: list[str], read: Callable[[str], Awaitable[T]]) -> list[T]:
    """``read(id)`` for each distinct id, leaving out those the caller may not see."""
    found = []
    for item_id in dict.fromkeys(ids):
        try:
            found.append(await read(item_id))
        except (NotFound, Forbidden):
            continue
    return found


@router.post("/relationships/batch", response_model_exclude_unset=True)
async def relationships_batch(
    body: IdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> api.Relationships:
    """Several relationships, each as ``GET /relationships/{id}`` shows it, with its
    cadence adherence (``…/cadence``) once the contract is in force."""
    return api.Relationships(
        items=await _each(body.ids, lambda r: meetings.relationship(p, r))
    )


@router.post("/sessions/batch", response_model_exclude_unset=True)
async def sessions_batch(
    body: IdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> api.Sessions:
    """Several sessions, each as ``GET /sessions/{id}`` shows it."""
    return api.Sessions(items=await _each(body.ids, lambda s: meetings.get(p, s)))


@router.post("/sessions/batch-by-relationship", response_model_exclude_unset=True)
async def sessions_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> api.Sessions:
    """The sessions of several relationships (as each one's list shows them)."""
    return api.Sessions(items=await meetings.of_relationships(p, body.relationship_ids))


@router.post("/milestones/batch", response_model_exclude_unset=True)
async def milestones_batch(
    body: IdsIn, p: PrincipalDep, dev: DevelopmentDep
) -> api.DevelopmentItems:
    """Several milestones, each as ``GET /milestones/{id}`` shows it."""
    return api.DevelopmentItems(items=await dev.milestones(p, body.ids))


@router.post(
    "/development-items/batch-by-relationship", response_model_exclude_unset=True
)
async def items_by_relationship(
    body: ItemsIn, p: PrincipalDep, dev: DevelopmentDep
) -> api.DevelopmentItems:
    """Milestones, check-ins or rotations of several relationships."""
    return api.DevelopmentItems(
        items=await dev.of_relationships(p, body.kind, body.relationship_ids)
    )


@router.post("/notes/batch-by-relationship", response_model_exclude_unset=True)
async def notes_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, notes: NotesDep
) -> api.Notes:
    """Notes of several relationships: what each relationship's list shows."""
    lists = await _each(body.relationship_ids, lambda r: notes.list(p, r))
    return api.Notes(items=[note for found in lists for note in found])


@router.post("/feedback/batch-by-relationship", response_model_exclude_unset=True)
async def feedback_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, feedback: FeedbackDep
) -> api.FeedbackItems:
    """Feedback of several relationships: what each relationship's list shows."""

    async def of(rid: str) -> list[api.Feedback]:
        given = await feedback.list(p, rid)
        for item in given:
            item.relationship_id = rid
        return given

    lists = await _each(body.relationship_ids, of)
    return api.FeedbackItems(items=[item for found in lists for item in found])
