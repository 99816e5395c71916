"""Relationships and their learning contract."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from contracts.sessions.relationships import Cadence
from services.sessions.api.deps import PrincipalDep, RelationshipsDep

router = APIRouter(prefix="/relationships", tags=["relationships"])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContractIn(Body):
    cadence: Cadence
    hours_per_month: int = Field(ge=0, le=100)
    objectives: list[str] = Field(min_length=1, max_length=20)
    terms: str | None = Field(
        None,
        max_length=20_000,
        description="mentor's role, confidentiality norms, feedback channels, escalation path",
    )


class SignIn(Body):
    version: int = Field(ge=1)


class PauseIn(Body):
    until: date | None = None


class ConcludeIn(Body):
    reason: Literal["completed", "rematched", "withdrawn"]


@router.get("")
async def list_relationships(
    principal: PrincipalDep,
    relationships: RelationshipsDep,
    person_id: str | None = None,
) -> list[dict[str, Any]]:
    """Relationships: people see their own; coordinators and sponsors all."""
    return await relationships.list(principal, person_id)


@router.get("/{relationship_id}")
async def get_relationship(
    relationship_id: str, principal: PrincipalDep, relationships: RelationshipsDep
) -> dict[str, Any]:
    """One relationship; the contract's terms are shown to the pair only."""
    return await relationships.get(principal, relationship_id)


@router.put("/{relationship_id}/contract")
async def draft_contract(
    relationship_id: str,
    body: ContractIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> dict[str, Any]:
    """Propose the learning contract (or a change): both must sign the new version."""
    return await relationships.draft_contract(
        principal,
        relationship_id,
        cadence=body.cadence,
        hours_per_month=body.hours_per_month,
        objectives=body.objectives,
        terms=body.terms,
    )


@router.post("/{relationship_id}/contract/signatures")
async def sign_contract(
    relationship_id: str,
    body: SignIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> dict[str, Any]:
    """Sign the current version; with both signatures it is in force."""
    return await relationships.sign(principal, relationship_id, body.version)


@router.post("/{relationship_id}/pause", status_code=204)
async def pause(
    relationship_id: str,
    body: PauseIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> None:
    """Pause the relationship (the pair or a coordinator)."""
    await relationships.pause(principal, relationship_id, body.until)


@router.post("/{relationship_id}/resume", status_code=204)
async def resume(
    relationship_id: str, principal: PrincipalDep, relationships: RelationshipsDep
) -> None:
    """Resume a paused relationship."""
    await relationships.resume(principal, relationship_id)


@router.post("/{relationship_id}/conclude", status_code=204)
async def conclude(
    relationship_id: str,
    body: ConcludeIn,
    principal: PrincipalDep,
    relationships: RelationshipsDep,
) -> None:
    """Conclude the relationship (coordinators)."""
    await relationships.conclude(principal, relationship_id, body.reason)
