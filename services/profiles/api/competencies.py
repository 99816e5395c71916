"""The tenant's competency framework."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chassis.inputs import Ref
from services.profiles.api.deps import PrincipalDep, ProfilesDep
from services.profiles.api.models import CompetencyIn

router = APIRouter(prefix="/competencies", tags=["competencies"])


@router.get("")
async def list_competencies(
    principal: PrincipalDep, profiles: ProfilesDep
) -> list[dict[str, Any]]:
    """Every competency of the tenant's framework (retired ones flagged)."""
    return await profiles.competencies(principal)


@router.post("", status_code=201)
async def define_competency(
    body: CompetencyIn, principal: PrincipalDep, profiles: ProfilesDep
) -> dict[str, str]:
    """Define a competency (same definition again is a no-op)."""
    await profiles.define_competency(
        principal, body.competency_id, body.name, body.category
    )
    return {"competency_id": body.competency_id}


@router.delete("/{competency_id}", status_code=204)
async def retire_competency(
    competency_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Retire a competency: no new goals or strengths may name it."""
    await profiles.retire_competency(principal, competency_id)
