"""One mentee's matching: self-service suggestions, re-pairing, rotation plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import Ref, RequestBody, SaneDate, Text
from contracts.api.matching import PairingView, RotationPlanView, Suggestions
from contracts.matching import ReasonCode
from services.matching.api.deps import PlanningDep, PrincipalDep, RefPath, RefQuery
from services.matching.domain.rotation import (
    MAX_CYCLE_WEEKS,
    MAX_CYCLES,
    MIN_CYCLE_WEEKS,
    MIN_CYCLES,
)

router = APIRouter(tags=["planning"])


class RepairIn(RequestBody):
    """``reason``: a code or free text (kept privately; the events say
    ``reason_code``, else ``not_working``)."""

    reason: Annotated[Text, Field(min_length=1)]
    reason_code: ReasonCode | None = None


class RotationIn(RequestBody):
    cohort_id: Ref | None = None
    cycles: int = Field(ge=MIN_CYCLES, le=MAX_CYCLES)
    cycle_weeks: int = Field(ge=MIN_CYCLE_WEEKS, le=MAX_CYCLE_WEEKS)
    starts_on: SaneDate


@router.get("/mentees/{mentee_id}/suggestions", responses=problems(403, 404))
async def suggestions(
    mentee_id: RefPath,
    principal: PrincipalDep,
    planning: PlanningDep,
    top: int = Query(5, ge=1, le=20),
    cohort_id: RefQuery = None,
) -> Suggestions:
    """The mentee's top mentors, explained (the mentee themself or a coordinator)."""
    return await planning.suggestions(
        principal, mentee_id, top=top, cohort_id=cohort_id
    )


@router.post(
    "/pairings/{pairing_id}/repair",
    status_code=201,
    responses=problems(403, 404, 409),
)
async def repair(
    pairing_id: RefPath, body: RepairIn, principal: PrincipalDep, planning: PlanningDep
) -> PairingView:
    """Ask for a new mentor for a confirmed pairing; answers the proposed replacement."""
    return await planning.repair(
        principal, pairing_id, body.reason, code=body.reason_code
    )


@router.post(
    "/mentees/{mentee_id}/rotation",
    status_code=201,
    responses=problems(403, 404, 409),
)
async def plan_rotation(
    mentee_id: RefPath, body: RotationIn, principal: PrincipalDep, planning: PlanningDep
) -> RotationPlanView:
    """Plan a rotation through distinct mentors, one per cycle (coordinators)."""
    return await planning.plan_rotation(
        principal,
        mentee_id,
        cycles=body.cycles,
        cycle_weeks=body.cycle_weeks,
        starts_on=body.starts_on,
        cohort_id=body.cohort_id,
    )


@router.get("/mentees/{mentee_id}/rotation", responses=problems(403, 404))
async def rotation(
    mentee_id: RefPath, principal: PrincipalDep, planning: PlanningDep
) -> RotationPlanView:
    """The mentee's latest rotation plan."""
    return await planning.rotation(principal, mentee_id)
