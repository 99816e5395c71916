"""The tenant's competency framework."""

from __future__ import annotations

from fastapi import APIRouter

from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.profiles import Competency, DefinedCompetency
from services.profiles.api.deps import PrincipalDep, ProfilesDep
from services.profiles.api.models import CompetencyIn

router = APIRouter(prefix="/competencies", tags=["competencies"])


@router.get("")
async def list_competencies(
    principal: PrincipalDep, profiles: ProfilesDep
) -> list[Competency]:
    """Every competency of the tenant's framework (retired ones flagged)."""
    return await profiles.competencies(principal)


@router.post("", status_code=201, responses=problems(403, 409))
async def define_competency(
    body: CompetencyIn, principal: PrincipalDep, profiles: ProfilesDep
) -> DefinedCompetency:
    """Define a competency (same definition again is a no-op)."""
    await profiles.define_competency(
        principal, body.competency_id, body.name, body.category
    )
    return DefinedCompetency(competency_id=body.competency_id)


@router.delete("/{competency_id}", status_code=204, responses=problems(403, 404, 409))
async def retire_competency(
    competency_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Retire a competency: no new goals or strengths may name it."""
    await profiles.retire_competency(principal, competency_id)
