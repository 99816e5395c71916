"""Relationship health: every relationship's, one's (now or as of a day), over time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import Code, Ref, SaneDate
from services.insights.api.deps import HealthDep
from services.insights.domain.health_history import Interval

router = APIRouter(tags=["health"])


@router.get("/relationships/health")
async def list_health(
    health: HealthDep,
    principal: PrincipalDep,
    state: Code | None = None,
    cohort_id: Ref | None = None,
) -> dict[str, Any]:
    """Every relationship's health with its reasons (overseers), filterable."""
    return {"items": await health.listed(principal, state, cohort_id)}


@router.get("/relationships/health/history")
async def health_history(
    health: HealthDep,
    principal: PrincipalDep,
    start: Annotated[SaneDate, Query(alias="from", description="YYYY-MM-DD")],
    end: Annotated[SaneDate, Query(alias="to", description="YYYY-MM-DD")],
    every: Interval = "week",
    cohort_id: Ref | None = None,
) -> dict[str, Any]:
    """Relationships by health state at each point of a range (overseers)."""
    return await health.over_time(principal, start, end, every, cohort_id)


@router.get("/relationships/{relationship_id}/health")
async def relationship_health(
    relationship_id: Ref,
    health: HealthDep,
    principal: PrincipalDep,
    as_of: Annotated[SaneDate | None, Query(description="YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    """One relationship's health now or as of the end of a day (the pair, overseers)."""
    return await health.one(principal, relationship_id, as_of)
