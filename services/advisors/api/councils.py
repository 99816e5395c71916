"""Routes of the advisory councils, over ``Councils`` (``application/councils.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import Code, Int32, Name, Ref, RequestBody, SaneDate, Text
from chassis.inputs import Items as ListOf
from services.advisors.api.deps import CouncilsDep
from services.advisors.application.councils import council_view

router = APIRouter(tags=["councils"])
AgendaItem = Annotated[Text, Field(min_length=1, max_length=2_000)]
Body = RequestBody


class CharterIn(Body):
    name: Name
    purpose: Annotated[Text, Field(min_length=1, max_length=5_000)]
    decision_rights: Code = Field("advise", description="always 'advise'")
    # the domain says what is out of 1..52 (CadenceOutOfRange); here only the column
    cadence_weeks: Int32 = Field(description="a meeting every N weeks (1-52)")
    publish_decisions: bool = False


class MemberIn(Body):
    member_id: Ref
    kind: Literal["advisor", "sponsor"]


class MeetingIn(Body):
    held_on: SaneDate
    attendees: Annotated[int, Field(ge=1, le=500)]
    agenda: Annotated[ListOf[AgendaItem], Field(max_length=100)] = Field(
        default_factory=list
    )


class RecommendationIn(Body):
    meeting_id: Ref
    title: Name
    made_by: Ref = Field(description="the member who recommends")


class DecisionIn(Body):
    rationale: Text | None = None


@router.post("/councils", status_code=201)
async def charter(
    body: CharterIn, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Charter an advisory council (it advises; it does not decide)."""
    return await councils.charter(principal, **body.model_dump())


@router.get("/councils")
async def list_councils(
    principal: PrincipalDep, councils: CouncilsDep
) -> list[dict[str, Any]]:
    """The councils the caller may read."""
    return await councils.listing(principal)


@router.get("/councils/{council_id}")
async def get_council(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Charter, members, meetings (with agendas) and the next meeting due."""
    return council_view(await councils.read(principal, council_id))


@router.post("/councils/{council_id}/members", status_code=201)
async def add_member(
    council_id: Ref, body: MemberIn, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Seat an advisor or an internal sponsor on the council."""
    council = await councils.add_member(
        principal, council_id, body.member_id, body.kind
    )
    return council_view(council)


@router.delete("/councils/{council_id}/members/{member_id}", status_code=204)
async def remove_member(
    council_id: Ref, member_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> Response:
    """Take a member off the council (their recommendations stay)."""
    await councils.remove_member(principal, council_id, member_id)
    return Response(status_code=204)


@router.post("/councils/{council_id}/meetings", status_code=201)
async def hold_meeting(
    council_id: Ref, body: MeetingIn, principal: PrincipalDep, councils: CouncilsDep
) -> dict[str, Any]:
    """Record a meeting: date, attendance and agenda (the agenda stays private)."""
    meeting_id = await councils.hold_meeting(
        principal,
        council_id,
        held_on=body.held_on,
        attendees=body.attendees,
        agenda=body.agenda,
    )
    return {"meeting_id": meeting_id, **body.model_dump(mode="json")}


@router.post("/councils/{council_id}/recommendations", status_code=201)
async def recommend(
    council_id: Ref,
    body: RecommendationIn,
    principal: PrincipalDep,
    councils: CouncilsDep,
) -> dict[str, Any]:
    """Record a member's recommendation (a coordinator, or the member themself)."""
    return await councils.recommend(principal, council_id, **body.model_dump())


@router.post("/recommendations/{recommendation_id}/{decision}")
async def decide(
    recommendation_id: Ref,
    decision: Literal["accept", "reject", "implement"],
    principal: PrincipalDep,
    councils: CouncilsDep,
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """Accept (optionally saying why), reject (saying why) or mark implemented."""
    kw = (
        {}
        if decision == "implement"
        else {"rationale": body.rationale if body else None}
    )
    return await councils.decide(principal, recommendation_id, decision, **kw)


@router.get("/councils/{council_id}/recommendations")
async def follow_up(
    council_id: Ref,
    principal: PrincipalDep,
    councils: CouncilsDep,
    status: Literal["open", "accepted", "rejected", "implemented"] | None = None,
) -> list[dict[str, Any]]:
    """Recommendations with their status and age in days, oldest first."""
    return await councils.follow_up(principal, council_id, status)


@router.get("/councils/{council_id}/decisions")
async def decisions(
    council_id: Ref, principal: PrincipalDep, councils: CouncilsDep
) -> list[dict[str, Any]]:
    """Each decided recommendation, its decision and rationale."""
    return await councils.decisions(principal, council_id)
