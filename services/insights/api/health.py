"""Relationship health: every relationship's, one's (now or as of a day), over time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref, SaneDate
from contracts.api.insights import HealthHistory, HealthList, RelationshipHealth
from contracts.insights import HealthInterval, HealthState
from services.insights.api.deps import HealthDep
from services.insights.application.health import History, View

router = APIRouter(tags=["health"])


@router.get("/relationships/health", response_model=HealthList, responses=problems(403))
async def list_health(
    health: HealthDep,
    principal: PrincipalDep,
    state: HealthState | None = None,
    cohort_id: Ref | None = None,
) -> dict[str, list[View]]:
    """Every relationship's health now, with its reasons and figures (overseers),
    filterable by that state."""
    return {"items": await health.listed(principal, state, cohort_id)}


@router.get(
    "/relationships/health/history",
    response_model=HealthHistory,
    responses=problems(403),
)
async def health_history(
    health: HealthDep,
    principal: PrincipalDep,
    start: Annotated[SaneDate, Query(alias="from", description="YYYY-MM-DD")],
    end: Annotated[SaneDate, Query(alias="to", description="YYYY-MM-DD")],
    every: HealthInterval = HealthInterval.WEEK,
    cohort_id: Ref | None = None,
) -> History:
    """Relationships by health state at each point of a range (overseers)."""
    return await health.over_time(principal, start, end, every, cohort_id)


@router.get(
    "/relationships/{relationship_id}/health",
    response_model=RelationshipHealth,
    responses=problems(403, 404),
)
async def relationship_health(
    relationship_id: Ref,
    health: HealthDep,
    principal: PrincipalDep,
    as_of: Annotated[SaneDate | None, Query(description="YYYY-MM-DD")] = None,
) -> View:
    """One relationship's health now or as of the end of a day (the pair, overseers)."""
    return await health.one(principal, relationship_id, as_of)
