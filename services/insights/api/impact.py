"""Mentor impact report per quarter."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import Ref
from services.insights.api.deps import ImpactDep

router = APIRouter(tags=["impact"])


@router.get("/mentors/{mentor_id}/impact")
async def mentor_impact(
    mentor_id: Ref,
    impact: ImpactDep,
    principal: PrincipalDep,
    quarter: Annotated[
        str, Query(max_length=6, pattern=r"^\d{4}[Qq][1-4]$", examples=["2027Q1"])
    ],
) -> dict[str, Any]:
    """A mentor's quarter: mentees, sessions held vs expected, milestones, ratings."""
    return await impact.of_mentor(principal, mentor_id, quarter)
