"""Routes of the advisory councils, over ``Councils`` (``application/councils.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.advisors.councils import RecommendationStatus
from contracts.api.advisors import (
    CharterIn,
    CouncilSummary,
    CouncilView,
    DecidedRecommendation,
    DecisionIn,
    MeetingIn,
    MeetingRecorded,
    MemberIn,
    RecommendationIn,
    RecommendationVerb,
    RecommendationView,
)
from services.advisors.api.deps import CouncilsDep
from services.advisors.application.councils import council_view

router = APIRouter(tags=["councils"])
# Changing a council: not allowed, no such council, a concurrent change (or one its
# state refuses: already a member, already decided).
CHANGE = problems(403, 404, 409)


@router.post("/councils", status_code=201, responses=problems(403))
async def charter(
    body: CharterIn, principal: PrincipalDep, councils: CouncilsDep
) -> CouncilView:
    """Charter an advisory council (it advises; it does not decide)."""
    return await councils.charter(principal, **body.model_dump())


@router.get("/councils")
async def list_councils(
    principal: PrincipalDep, councils: CouncilsDep
) -> list[CouncilSummary]:
    """The councils the caller may read."""
    return await councils.listing(principal)


@router.get("/councils/{council_id}", responses=problems(403, 404))
async def get_council(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> CouncilView:
    """Charter, members, meetings (with agendas) and the next meeting due."""
    return council_view(await councils.read(principal, council_id))


@router.post("/councils/{council_id}/members", status_code=201, responses=CHANGE)
async def add_member(
    council_id: Ref, body: MemberIn, principal: PrincipalDep, councils: CouncilsDep
) -> CouncilView:
    """Seat an advisor or an internal sponsor on the council."""
    council = await councils.add_member(
        principal, council_id, body.member_id, body.kind
    )
    return council_view(council)


@router.delete(
    "/councils/{council_id}/members/{member_id}", status_code=204, responses=CHANGE
)
async def remove_member(
    council_id: Ref, member_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> Response:
    """Take a member off the council (their recommendations stay)."""
    await councils.remove_member(principal, council_id, member_id)
    return Response(status_code=204)


@router.post("/councils/{council_id}/meetings", status_code=201, responses=CHANGE)
async def hold_meeting(
    council_id: Ref, body: MeetingIn, principal: PrincipalDep, councils: CouncilsDep
) -> MeetingRecorded:
    """Record a meeting: date, attendance and agenda (the agenda stays private)."""
    meeting_id = await councils.hold_meeting(
        principal,
        council_id,
        held_on=body.held_on,
        attendees=body.attendees,
        agenda=body.agenda,
    )
    return MeetingRecorded(
        meeting_id=meeting_id,
        held_on=body.held_on,
        attendees=body.attendees,
        agenda=body.agenda,
    )


@router.post(
    "/councils/{council_id}/recommendations", status_code=201, responses=CHANGE
)
async def recommend(
    council_id: Ref,
    body: RecommendationIn,
    principal: PrincipalDep,
    councils: CouncilsDep,
) -> RecommendationView:
    """Record a member's recommendation (a coordinator, or the member themself)."""
    return await councils.recommend(principal, council_id, **body.model_dump())


@router.post("/recommendations/{recommendation_id}/{decision}", responses=CHANGE)
async def decide(
    recommendation_id: Ref,
    decision: RecommendationVerb,
    principal: PrincipalDep,
    councils: CouncilsDep,
    body: DecisionIn | None = None,
) -> RecommendationView:
    """Accept (optionally saying why), reject (saying why) or mark implemented."""
    kw = (
        {}
        if decision == RecommendationVerb.IMPLEMENT
        else {"rationale": body.rationale if body else None}
    )
    return await councils.decide(principal, recommendation_id, decision, **kw)


@router.get("/councils/{council_id}/recommendations", responses=problems(403, 404))
async def follow_up(
    council_id: Ref,
    principal: PrincipalDep,
    councils: CouncilsDep,
    status: RecommendationStatus | None = None,
) -> list[RecommendationView]:
    """Recommendations with their status and age in days, oldest first."""
    return await councils.follow_up(principal, council_id, status)


@router.get("/councils/{council_id}/decisions", responses=problems(403, 404))
async def decisions(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> list[DecidedRecommendation]:
    """Each decided recommendation, its decision and rationale."""
    return await councils.decisions(principal, council_id)
