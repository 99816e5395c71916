"""Cohorts: pathway, seats, eligibility and the waiting list."""

from __future__ import annotations

from fastapi import APIRouter, Body, Query

from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.profiles import (
    Cohort,
    CohortIn,
    Cohorts,
    CohortSummary,
    CreatedCohort,
    Eligibility,
    JoinedCohort,
    Memberships,
    WaitingEntry,
)
from contracts.profiles import ProgrammeRole
from services.profiles.api.deps import PrincipalDep, ProfilesDep
from services.profiles.api.models import (
    BatchIn,
    CohortCapacityIn,
    JoinIn,
    LeaveIn,
    StageIn,
)

router = APIRouter(prefix="/cohorts", tags=["cohorts"])

# A command on a cohort: not the caller's to change (403), no such cohort or person
# (404), a concurrent change or a second application (409).
_COMMAND = problems(403, 404, 409)


@router.post("", status_code=201, responses=problems(403))
async def create_cohort(
    body: CohortIn, principal: PrincipalDep, profiles: ProfilesDep
) -> CreatedCohort:
    """Create a cohort (coordinators, admins)."""
    return CreatedCohort(cohort_id=await profiles.create_cohort(principal, body))


@router.get("")
async def list_cohorts(
    principal: PrincipalDep, profiles: ProfilesDep
) -> list[CohortSummary]:
    """The tenant's cohorts."""
    return await profiles.cohorts_list(principal)


@router.post("/batch")
async def cohorts_by_ids(
    body: BatchIn, principal: PrincipalDep, profiles: ProfilesDep
) -> Cohorts:
    """Several cohorts in one call, in the order asked, each with its participants and
    waiting list (unknown ids, and other organisations' cohorts, are left out)."""
    return Cohorts(items=await profiles.cohorts_by_ids(principal, body.ids))


@router.post("/memberships")
async def memberships(
    body: BatchIn, principal: PrincipalDep, profiles: ProfilesDep
) -> Memberships:
    """The cohorts each of several people (`ids`) participates or waits in, in one
    call: items of `{person_id, cohort_id, role, status, since}` in arrival order."""
    return Memberships(items=await profiles.memberships(principal, body.ids))


@router.get("/{cohort_id}", responses=problems(404))
async def get_cohort(
    cohort_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> Cohort:
    """A cohort with its participants and its ordered waiting list."""
    return await profiles.cohort(principal, cohort_id)


@router.get("/{cohort_id}/waiting-list", responses=problems(404))
async def waiting_list(
    cohort_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> list[WaitingEntry]:
    """Who waits for a seat, first come first served, with their position."""
    return (await profiles.cohort(principal, cohort_id)).waiting_list


@router.get("/{cohort_id}/eligibility/{person_id}", responses=problems(403, 404))
async def eligibility(
    cohort_id: Ref,
    person_id: Ref,
    principal: PrincipalDep,
    profiles: ProfilesDep,
    role: ProgrammeRole = Query(ProgrammeRole.MENTEE),
) -> Eligibility:
    """Whether the person could join, and every reason why not."""
    reasons = await profiles.eligibility(principal, cohort_id, person_id, role)
    return Eligibility(eligible=not reasons, reasons=reasons)


@router.post("/{cohort_id}/participants", status_code=201, responses=_COMMAND)
async def join(
    cohort_id: Ref, body: JoinIn, principal: PrincipalDep, profiles: ProfilesDep
) -> JoinedCohort:
    """Apply to the cohort: admitted, or placed on the waiting list (NotEligible if not)."""
    return await profiles.join_cohort(
        principal, cohort_id, body.person_id, body.role, body.admitted_on
    )


@router.delete(
    "/{cohort_id}/participants/{person_id}", status_code=204, responses=_COMMAND
)
async def leave(
    cohort_id: Ref,
    person_id: Ref,
    principal: PrincipalDep,
    profiles: ProfilesDep,
    body: LeaveIn | None = Body(None),
) -> None:
    """Withdraw; the first person waiting takes the freed seat."""
    await profiles.leave_cohort(
        principal, cohort_id, person_id, body.reason if body else None
    )


@router.put("/{cohort_id}/capacity", status_code=204, responses=_COMMAND)
async def change_capacity(
    cohort_id: Ref,
    body: CohortCapacityIn,
    principal: PrincipalDep,
    profiles: ProfilesDep,
) -> None:
    """Change the number of mentee seats; never below those taken."""
    await profiles.change_cohort_capacity(principal, cohort_id, body.capacity)


@router.post("/{cohort_id}/stage", status_code=204, responses=_COMMAND)
async def advance(
    cohort_id: Ref, body: StageIn, principal: PrincipalDep, profiles: ProfilesDep
) -> None:
    """Move the cohort along its pathway (intake → pairing → development → evaluation)."""
    await profiles.advance_cohort(principal, cohort_id, body.stage)
