"""Batch reads for the gateway's DataLoaders: many ids (or many relationships) in
one call, each item authorised exactly as its single-item route does it.

An id the caller may not see (another tenant's, another pair's, or unknown) is left
out of ``items``, never reported: the answer looks the same as for an id that does
not exist. Each item carries its ``relationship_id`` so a caller can group them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field

from chassis.errors import DomainError, Forbidden, NotFound
from chassis.inputs import Items as ListOf
from chassis.inputs import Ref, RequestBody
from services.sessions.api.deps import (
    DevelopmentDep,
    FeedbackDep,
    MeetingsDep,
    NotesDep,
    PrincipalDep,
    RelationshipsDep,
)

router = APIRouter(tags=["batches"])
MAX_IDS = 200


Ids = Annotated[ListOf[Ref], Field(max_length=MAX_IDS)]


class IdsIn(RequestBody):
    ids: Ids = Field(description="ids, at most 200")


class RelationshipIdsIn(RequestBody):
    relationship_ids: Ids = Field(description="relationship ids, at most 200")


class ItemsIn(RelationshipIdsIn):
    kind: Literal["milestone", "check_in", "rotation"]


Items = dict[str, list[dict[str, Any]]]


async def _each(ids: list[str], read: Callable[[str], Awaitable[Any]]) -> list[Any]:
    """``read(id)`` for each distinct id, leaving out those the caller may not see."""
    found = []
    for item_id in dict.fromkeys(ids):
        try:
            found.append(await read(item_id))
        except (NotFound, Forbidden):
            continue
    return found


@router.post("/relationships/batch")
async def relationships_batch(
    body: IdsIn,
    p: PrincipalDep,
    relationships: RelationshipsDep,
    meetings: MeetingsDep,
) -> Items:
    """Several relationships, each as ``GET /relationships/{id}`` shows it, with its
    cadence adherence (``…/cadence``) once the contract is in force."""

    async def read(relationship_id: str) -> dict[str, Any]:
        view = await relationships.get(p, relationship_id)
        view["cadence_adherence"] = None
        if view["contract"]["in_force"]:
            try:
                view["cadence_adherence"] = await meetings.cadence(
                    p, relationship_id, None
                )
            except DomainError:
                pass
        return view

    return {"items": await _each(body.ids, read)}


@router.post("/sessions/batch")
async def sessions_batch(body: IdsIn, p: PrincipalDep, meetings: MeetingsDep) -> Items:
    """Several sessions, each as ``GET /sessions/{id}`` shows it."""
    return {"items": await _each(body.ids, lambda s: meetings.get(p, s))}


@router.post("/sessions/batch-by-relationship")
async def sessions_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, meetings: MeetingsDep
) -> Items:
    """The sessions of several relationships (as each one's list shows them)."""
    return {"items": await meetings.of_relationships(p, body.relationship_ids)}


@router.post("/milestones/batch")
async def milestones_batch(body: IdsIn, p: PrincipalDep, dev: DevelopmentDep) -> Items:
    """Several milestones, each as ``GET /milestones/{id}`` shows it."""
    return {"items": await dev.milestones(p, body.ids)}


@router.post("/development-items/batch-by-relationship")
async def items_by_relationship(
    body: ItemsIn, p: PrincipalDep, dev: DevelopmentDep
) -> Items:
    """Milestones, check-ins or rotations of several relationships."""
    return {"items": await dev.of_relationships(p, body.kind, body.relationship_ids)}


@router.post("/notes/batch-by-relationship")
async def notes_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, notes: NotesDep
) -> Items:
    """Notes of several relationships: what each relationship's list shows."""
    lists = await _each(body.relationship_ids, lambda r: notes.list(p, r))
    return {"items": [note for found in lists for note in found]}


@router.post("/feedback/batch-by-relationship")
async def feedback_by_relationship(
    body: RelationshipIdsIn, p: PrincipalDep, feedback: FeedbackDep
) -> Items:
    """Feedback of several relationships: what each relationship's list shows."""

    async def of(rid: str) -> list[dict[str, Any]]:
        return [{**f, "relationship_id": rid} for f in await feedback.list(p, rid)]

    lists = await _each(body.relationship_ids, of)
    return {"items": [item for found in lists for item in found]}
