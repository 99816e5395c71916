"""HTTP routes of the advisor lifecycle (thin: validate, authorise, delegate)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, field_validator

from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.auth.principal import Principal, Role
from chassis.inputs import (
    Code,
    Count,
    Email,
    FewItems,
    Hours,
    Level,
    Name,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from chassis.inputs import Items as ListOf
from contracts.profiles import AvailabilityWindow, CoachingFormat, Strength
from services.advisors.api.deps import AdvisorsDep
from services.advisors.application.lifecycle import Advisors
from services.advisors.domain.diligence import CheckSpec

router = APIRouter(tags=["advisors"])

Staff = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.ADMIN))]
Proposer = Annotated[
    Principal, Depends(require_roles(Role.COORDINATOR, Role.ADMIN, Role.SPONSOR))
]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Org = Name
Long = Annotated[Text, Field(max_length=4_000)]
# a check's name as the checklist spells it (``conflict_of_interest``)
CheckName = Annotated[Code, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")]
Body = RequestBody


class Proposal(Body):
    name: Name
    email: Email
    organisation: Org | None = None
    bio: Long | None = None
    expertise_sought: Annotated[FewItems[Name], Field(min_length=1, max_length=30)]
    person_id: Ref | None = None


class CheckResult(Body):
    status: Literal["passed", "failed"]
    evidence: Long | None = None
    owner: Name | None = None
    expires_on: SaneDate | None = None


class Conflicts(Body):
    employers: FewItems[Org] = Field(default_factory=list)
    board_seats: FewItems[Org] = Field(default_factory=list)
    competitors: FewItems[Org] = Field(default_factory=list)
    vendors: FewItems[Org] = Field(default_factory=list)


class ExpertiseProfile(Body):
    """What matching needs to offer the advisor as an external mentor."""

    geography: Annotated[Code, Field(min_length=2)]
    time_zone: Code
    languages: FewItems[Code] = Field(default_factory=list)
    level: Level = 10
    strengths: FewItems[Strength] = Field(default_factory=list)
    industries: FewItems[Name] = Field(default_factory=list)
    markets: FewItems[Name] = Field(default_factory=list)
    functions_led: FewItems[Name] = Field(default_factory=list)
    crisis_experience: FewItems[Name] = Field(default_factory=list)
    formats: FewItems[CoachingFormat] = Field(default_factory=list)
    max_mentees: Annotated[Count, Field(le=20)] = 0
    hours_per_month: Annotated[Hours, Field(le=200)] = 0
    availability: FewItems[AvailabilityWindow] = Field(default_factory=list)

    @field_validator("availability")
    @classmethod
    def _windows_end_after_they_start(
        cls, windows: list[AvailabilityWindow]
    ) -> list[AvailabilityWindow]:
        for window in windows:
            if window.end <= window.start:  # "HH:MM" compares as text
                raise ValueError(
                    f"a window ends after it starts ({window.start}-{window.end})"
                )
        return windows


class Reason(Body):
    reason_code: Code = "coordinator_decision"


class Checklist(Body):
    checks: Annotated[FewItems[CheckSpec], Field(min_length=1, max_length=30)]


class Restricted(Body):
    organisations: ListOf[Org]


@router.post("/advisors", status_code=201)
async def propose(
    body: Proposal, principal: Proposer, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Propose an external advisor, with the expertise sought."""
    advisor = await advisors.propose(principal, **body.model_dump())
    return await advisors.read(advisor.id, principal)


@router.get("/advisors")
async def list_advisors(
    principal: PrincipalDep,
    advisors: AdvisorsDep,
    status: Annotated[Code | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[Ref | None, Query()] = None,
) -> dict[str, Any]:
    """The tenant's advisors, by id (keyset pagination with ``after``)."""
    items = await advisors.listing(principal, status, limit, after or "")
    nxt = items[-1]["advisor_id"] if len(items) == limit else None
    return {"items": items, "next_after": nxt}


class Ids(Body):
    ids: Annotated[ListOf[Ref], Field(max_length=200)] = Field(
        description="advisor ids, at most 200"
    )


@router.post("/advisors/batch")
async def read_many(
    body: Ids, principal: PrincipalDep, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Several advisors, each as ``GET /advisors/{id}`` shows it; ids of another
    organisation (or unknown) are left out."""
    ids = list(dict.fromkeys(body.ids))
    return {"items": await advisors.read_many(principal, ids)}


@router.get("/advisors/{advisor_id}")
async def read(
    advisor_id: Ref, principal: PrincipalDep, advisors: AdvisorsDep
) -> dict[str, Any]:
    """One advisor; personal fields for staff, sponsors and the advisor."""
    return await advisors.read(advisor_id, principal)


@router.post("/advisors/{advisor_id}/diligence")
async def start_diligence(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Start due diligence with the tenant's checklist."""
    await advisors.start_diligence(advisor_id, principal)
    return await advisors.read(advisor_id, principal)


@router.put("/advisors/{advisor_id}/checks/{check}")
async def record_check(
    advisor_id: Ref,
    check: CheckName,
    body: CheckResult,
    principal: Staff,
    advisors: AdvisorsDep,
) -> dict[str, Any]:
    """Record a check's result, evidence, owner and expiry."""
    await advisors.record_check(advisor_id, check, principal, **body.model_dump())
    return await advisors.read(advisor_id, principal)


@router.put("/advisors/{advisor_id}/conflicts")
async def declare_conflicts(
    advisor_id: Ref, body: Conflicts, principal: PrincipalDep, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Declare conflicts of interest (staff, or the advisor themself)."""
    if principal.subject != advisor_id:
        principal.require(Role.COORDINATOR, Role.ADMIN)
    await advisors.declare_conflicts(advisor_id, principal, **body.model_dump())
    return await advisors.read(advisor_id, principal)


@router.post("/advisors/{advisor_id}/approve")
async def approve(
    advisor_id: Ref, body: ExpertiseProfile, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Approve: refused while any required check is open, failed or expired."""
    await advisors.approve(advisor_id, principal, body.model_dump())
    return await advisors.read(advisor_id, principal)


async def _transition(
    advisors: Advisors, advisor_id: str, principal: Principal, command: str, *args: Any
) -> dict[str, Any]:
    await advisors.transition(advisor_id, principal, command, *args)
    return await advisors.read(advisor_id, principal)


@router.post("/advisors/{advisor_id}/reject")
async def reject(
    advisor_id: Ref, body: Reason, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Reject a proposed advisor."""
    return await _transition(
        advisors, advisor_id, principal, "reject", body.reason_code
    )


@router.post("/advisors/{advisor_id}/suspend")
async def suspend(
    advisor_id: Ref, body: Reason, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Stop offering the advisor."""
    return await _transition(
        advisors, advisor_id, principal, "suspend", body.reason_code
    )


@router.post("/advisors/{advisor_id}/reinstate")
async def reinstate(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Offer a suspended advisor again (their required checks must be in date)."""
    return await _transition(advisors, advisor_id, principal, "reinstate")


@router.post("/advisors/{advisor_id}/activate")
async def activate(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """The approved (or contracted) advisor starts working with the programme."""
    return await _transition(advisors, advisor_id, principal, "activate")


@router.post("/advisors/{advisor_id}/offboard")
async def offboard(
    advisor_id: Ref, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """End the advisor's engagement."""
    return await _transition(advisors, advisor_id, principal, "offboard")


@router.delete("/advisors/{advisor_id}", status_code=204)
async def erase(advisor_id: Ref, principal: Admin, advisors: AdvisorsDep) -> Response:
    """Erase the advisor: their key is destroyed, their personal data unreadable."""
    await advisors.erase(advisor_id, principal)
    return Response(status_code=204)


@router.get("/restricted-organisations")
async def restricted(principal: Staff, advisors: AdvisorsDep) -> dict[str, Any]:
    """The tenant's restricted organisations."""
    return {"organisations": (await advisors.policy(principal.tenant)).restricted}


@router.put("/restricted-organisations")
async def set_restricted(
    body: Restricted, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Replace the tenant's restricted organisations."""
    policy = await advisors.restrict(principal, body.organisations)
    return {"organisations": policy.restricted}


@router.get("/diligence-checklist")
async def checklist(principal: Staff, advisors: AdvisorsDep) -> dict[str, Any]:
    """The tenant's due-diligence checklist (the default until configured)."""
    policy = await advisors.policy(principal.tenant)
    return {"checks": [c.model_dump() for c in policy.checklist]}


@router.put("/diligence-checklist")
async def set_checklist(
    body: Checklist, principal: Staff, advisors: AdvisorsDep
) -> dict[str, Any]:
    """Replace the tenant's checklist (advisors already in diligence keep theirs)."""
    policy = await advisors.configure_checklist(principal, body.checks)
    return {"checks": [c.model_dump() for c in policy.checklist]}
