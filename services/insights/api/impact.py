"""Mentor impact report per quarter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.insights import MentorImpact
from services.insights.api.deps import ImpactDep
from services.insights.domain.health import Impact

router = APIRouter(tags=["impact"])


@router.get(
    "/mentors/{mentor_id}/impact",
    response_model=MentorImpact,
    responses=problems(403, 404),
)
async def mentor_impact(
    mentor_id: Ref,
    impact: ImpactDep,
    principal: PrincipalDep,
    quarter: Annotated[
        str, Query(max_length=6, pattern=r"^\d{4}[Qq][1-4]$", examples=["2027Q1"])
    ],
) -> Impact:
    """A mentor's quarter: mentees, sessions held vs expected, milestones, ratings."""
    return await impact.of_mentor(principal, mentor_id, quarter)
