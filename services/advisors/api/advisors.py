"""HTTP routes of the advisor lifecycle (thin: validate, authorise, delegate).

An advisor's view leaves out what the caller may not see (``AdvisorView``), so these
routes answer only the fields that are set (``response_model_exclude_unset``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.auth.principal import Principal, Role
from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.advisors.lifecycle import AdvisorStatus
from contracts.api.advisors import (
    AdvisorList,
    AdvisorPage,
    AdvisorView,
    Checklist,
    ChecklistView,
    CheckName,
    CheckResult,
    Conflicts,
    ExpertiseProfile,
    IdsIn,
    Proposal,
    Reason,
    Restricted,
    RestrictedOrganisations,
)
from services.advisors.api.deps import AdvisorsDep
from services.advisors.application.lifecycle import Advisors

router = APIRouter(tags=["advisors"])

Staff = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.ADMIN))]
Proposer = Annotated[
    Principal, Depends(require_roles(Role.COORDINATOR, Role.ADMIN, Role.SPONSOR))
]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
# What changing an advisor can answer: not allowed, no such advisor, not in this
# status (or a concurrent change), erased.
CHANGE = problems(403, 404, 409, 410)


@router.post(
    "/advisors",
    status_code=201,
    responses=problems(403),
    response_model_exclude_unset=True,
)
async def propose(
    body: Proposal, principal: Proposer, advisors: AdvisorsDep
) -> AdvisorView:
    """Propose an external advisor, with the expertise sought."""
    advisor = await advisors.propose(principal, **body.model_dump())
    return await advisors.read(advisor.id, principal)


@router.get("/advisors", response_model_exclude_unset=True)
async def list_advisors(
    principal: PrincipalDep,
    advisors: AdvisorsDep,
    status: Annotated[AdvisorStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[Ref | None, Query()] = None,
) -> AdvisorPage:
    """The tenant's advisors, by id (keyset pagination with ``after``)."""
    items = await advisors.listing(principal, status, limit, after or "")
    nxt = items[-1].advisor_id if len(items) == limit else None
    return AdvisorPage(items=items, next_after=nxt)


@router.post("/advisors/batch", response_model_exclude_unset=True)
async def read_many(
    body: IdsIn, principal: PrincipalDep, advisors: AdvisorsDep
) -> AdvisorList:
    """Several advisors, each as ``GET /advisors/{id}`` shows it; ids of another
    organisation (or unknown) are left out."""
    ids = list(dict.fromkeys(body.ids))
    return AdvisorList(items=await advisors.read_many(principal, ids))


@router.get(
    "/advisors/{advisor_id}", responses=problems(404), response_model_exclude_unset=True
)
async def read(
    advisor_id: Ref, principal: PrincipalDep, advisors: AdvisorsDep
) -> AdvisorView:
    """One advisor; personal fields for staff, sponsors and the advisor."""
    return await advisors.read(advisor_id, principal)


@router.post(
    "/advisors/{advisor_id}/diligence",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def start_diligence(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """Start due diligence with the tenant's checklist."""
    await advisors.start_diligence(advisor_id, principal)
    return await advisors.read(advisor_id, principal)


@router.put(
    "/advisors/{advisor_id}/checks/{check}",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def record_check(
    advisor_id: Ref,
    check: CheckName,
    body: CheckResult,
    principal: Staff,
    advisors: AdvisorsDep,
) -> AdvisorView:
    """Record a check's result, evidence, owner and expiry."""
    await advisors.record_check(advisor_id, check, principal, **body.model_dump())
    return await advisors.read(advisor_id, principal)


@router.put(
    "/advisors/{advisor_id}/conflicts",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def declare_conflicts(
    advisor_id: Ref, body: Conflicts, principal: PrincipalDep, advisors: AdvisorsDep
) -> AdvisorView:
    """Declare conflicts of interest (staff, or the advisor themself)."""
    if principal.subject != advisor_id:
        principal.require(Role.COORDINATOR, Role.ADMIN)
    await advisors.declare_conflicts(advisor_id, principal, **body.model_dump())
    return await advisors.read(advisor_id, principal)


@router.post(
    "/advisors/{advisor_id}/approve",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def approve(
    advisor_id: Ref, body: ExpertiseProfile, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """Approve: refused while any required check is open, failed or expired."""
    await advisors.approve(advisor_id, principal, body)
    return await advisors.read(advisor_id, principal)


async def _transition(
    advisors: Advisors,
    advisor_id: str,
    principal: Principal,
    command: str,
    *args: object,
) -> AdvisorView:
    await advisors.transition(advisor_id, principal, command, *args)
    return await advisors.read(advisor_id, principal)


@router.post(
    "/advisors/{advisor_id}/reject", responses=CHANGE, response_model_exclude_unset=True
)
async def reject(
    advisor_id: Ref, body: Reason, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """Reject a proposed advisor."""
    return await _transition(
        advisors, advisor_id, principal, "reject", body.reason_code
    )


@router.post(
    "/advisors/{advisor_id}/suspend",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def suspend(
    advisor_id: Ref, body: Reason, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """Stop offering the advisor."""
    return await _transition(
        advisors, advisor_id, principal, "suspend", body.reason_code
    )


@router.post(
    "/advisors/{advisor_id}/reinstate",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def reinstate(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """Offer a suspended advisor again (their required checks must be in date)."""
    return await _transition(advisors, advisor_id, principal, "reinstate")


@router.post(
    "/advisors/{advisor_id}/activate",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def activate(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """The approved (or contracted) advisor starts working with the programme."""
    return await _transition(advisors, advisor_id, principal, "activate")


@router.post(
    "/advisors/{advisor_id}/offboard",
    responses=CHANGE,
    response_model_exclude_unset=True,
)
async def offboard(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> AdvisorView:
    """End the advisor's engagement."""
    return await _transition(advisors, advisor_id, principal, "offboard")


@router.delete(
    "/advisors/{advisor_id}", status_code=204, responses=problems(403, 404, 409, 410)
)
async def erase(advisor_id: Ref, principal: Admin, advisors: AdvisorsDep) -> Response:
    """Erase the advisor: their key is destroyed, their personal data unreadable."""
    await advisors.erase(advisor_id, principal)
    return Response(status_code=204)


@router.get("/restricted-organisations", responses=problems(403))
async def restricted(
    principal: Staff, advisors: AdvisorsDep
) -> RestrictedOrganisations:
    """The tenant's restricted organisations."""
    policy = await advisors.policy(principal.tenant)
    return RestrictedOrganisations(organisations=policy.restricted)


@router.put("/restricted-organisations", responses=problems(403, 409))
async def set_restricted(
    body: Restricted, principal: Staff, advisors: AdvisorsDep
) -> RestrictedOrganisations:
    """Replace the tenant's restricted organisations."""
    policy = await advisors.restrict(principal, body.organisations)
    return RestrictedOrganisations(organisations=policy.restricted)


@router.get("/diligence-checklist", responses=problems(403))
async def checklist(principal: Staff, advisors: AdvisorsDep) -> ChecklistView:
    """The tenant's due-diligence checklist (the default until configured)."""
    policy = await advisors.policy(principal.tenant)
    return ChecklistView(checks=policy.checklist)


@router.put("/diligence-checklist", responses=problems(403, 409))
async def set_checklist(
    body: Checklist, principal: Staff, advisors: AdvisorsDep
) -> ChecklistView:
    """Replace the tenant's checklist (advisors already in diligence keep theirs)."""
    policy = await advisors.configure_checklist(principal, body.checks)
    return ChecklistView(checks=policy.checklist)
