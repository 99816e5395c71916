"""Relationships and their learning contract."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import (
    FewItems,
    Hours,
    Name,
    Positive,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from contracts.api import sessions as api
from contracts.sessions.relationships import Cadence
from services.sessions.api.deps import PrincipalDep, RelationshipsDep

router = APIRouter(prefix="/relationships", tags=["relationships"])
Body = RequestBody


class ContractIn(Body):
    cadence: Cadence
    hours_per_month: Annotated[Hours, Field(le=100)]
    objectives: Annotated[FewItems[Name], Field(min_length=1, max_length=20)]
    terms: Text | None = Field(
        None,
        description="mentor's role, confidentiality norms, feedback channels, escalation path",
    )


class SignIn(Body):
    version: Positive


class PauseIn(Body):
    until: SaneDate | None = None
    paused_on: SaneDate | None = Field(
        None,
        description="the day the pause began, when told after the fact (not in the "
        "future, not before the relationship started); absent: today",
    )


class ResumeIn(Body):
    resumed_on: SaneDate | None = Field(
        None,
        description="the day meetings resumed, when told after the fact (not in the "
        "future, not before the pause began); absent: today",
    )


class ConcludeIn(Body):
    reason: api.ConcludeReason


@router.get("", responses=problems(403), response_model_exclude_unset=True)
async def list_relationships(
    principal: PrincipalDep,
    relationships: RelationshipsDep,
    person_id: Annotated[Ref | None, Query()] = None,
) -> list[api.Relationship]:
    """Relationships: people see their own; coordinators and sponsors all."""
    return await relationships.list(principal, person_id)


@router.get(
    "/{relationship_id}", responses=problems(404), response_model_exclude_unset=True
)
async def get_relationship(
    relationship_id: Ref, principal: PrincipalDep, relationships: RelationshipsDep
) -> api.Relationship:
    """One relationship; the contract's terms are shown to the pair only."""
    return await relationships.get(principal, relationship_id)


@router.put(
    "/{relationship_id}/contract",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def draft_contract(
    relationship_id: Ref,
    body: ContractIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> api.Relationship:
    """Propose the learning contract (or a change): both must sign the new version."""
    return await relationships.draft_contract(
        principal,
        relationship_id,
        cadence=body.cadence,
        hours_per_month=body.hours_per_month,
        objectives=body.objectives,
        terms=body.terms,
    )


@router.post(
    "/{relationship_id}/contract/signatures",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def sign_contract(
    relationship_id: Ref,
    body: SignIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> api.Relationship:
    """Sign the current version; with both signatures it is in force."""
    return await relationships.sign(principal, relationship_id, body.version)


@router.post(
    "/{relationship_id}/pause",
    status_code=204,
    responses=problems(403, 404, 409, 422),
)
async def pause(
    relationship_id: Ref,
    body: PauseIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> None:
    """Pause the relationship (the pair or a coordinator)."""
    await relationships.pause(
        principal, relationship_id, body.until, paused_on=body.paused_on
    )


@router.post(
    "/{relationship_id}/resume",
    status_code=204,
    responses=problems(403, 404, 409, 422),
)
async def resume(
    relationship_id: Ref,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
    body: ResumeIn | None = None,
) -> None:
    """Resume a paused relationship (a body is optional: ``resumed_on`` for a
    resumption told after the fact)."""
    await relationships.resume(
        principal, relationship_id, resumed_on=body.resumed_on if body else None
    )


@router.post(
    "/{relationship_id}/conclude",
    status_code=204,
    responses=problems(403, 404, 409),
)
async def conclude(
    relationship_id: Ref,
    body: ConcludeIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> None:
    """Conclude the relationship (coordinators)."""
    await relationships.conclude(principal, relationship_id, body.reason)
