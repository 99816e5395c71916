"""Pairings: the coordinator's approval and overrides, the two people's answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field
from pydantic_core import to_json

from chassis.http.openapi import problems
from chassis.inputs import Ref, RequestBody, SaneDate, Text
from contracts.api.matching import PairingBatch, PairingView, PairRuledOut
from contracts.matching import PairingState, ReasonCode
from services.matching.api.deps import PairingsDep, PrincipalDep, RefPath, RefQuery

router = APIRouter(tags=["pairings"])


RequiredText = Annotated[Text, Field(min_length=1)]


class ReasonIn(RequestBody):
    """``reason``: the person's words, kept privately (coordinators and the author
    read them); ``reason_code``: what the published event says (else ``other``)."""

    reason: Text | None = None
    reason_code: ReasonCode | None = None


class RequiredReasonIn(RequestBody):
    """``reason``: a code or free text (kept privately; the event says
    ``reason_code``, else ``other``)."""

    reason: RequiredText
    reason_code: ReasonCode | None = None


class ForbidIn(RequestBody):
    mentor_id: Ref
    mentee_id: Ref
    reason: RequiredText
    reason_code: ReasonCode | None = None
    cohort_id: Ref | None = None


class DismissIn(RequestBody):
    mentor_id: Ref


class IdsIn(RequestBody):
    ids: list[Ref] = Field(max_length=500)


@router.get("/pairings", responses=problems(403), response_model=list[PairingView])
async def list_pairings(
    principal: PrincipalDep,
    pairings: PairingsDep,
    person_id: RefQuery = None,
    round_id: RefQuery = None,
    state: PairingState | None = None,
    limit: int = Query(200, ge=1, le=500),
) -> Response:
    """Pairings, filtered; people see their own, coordinators and sponsors all."""
    # Sent as built (``Pairings.answers``: PairingView's fields, in its order, as
    # JSON has them), not validated again field by field; the tests hold every
    # answer to the model.
    answers = await pairings.answers(
        principal, person_id=person_id, round_id=round_id, state=state, limit=limit
    )
    return Response(to_json(answers), media_type="application/json")


@router.post("/pairings/batch", response_model=PairingBatch)
async def batch(
    body: IdsIn, principal: PrincipalDep, pairings: PairingsDep
) -> Response:
    """Several pairings by id in one call; those you may not see are left out."""
    # Sent as built, as ``GET /pairings`` is (its tests hold it to the model).
    items = await pairings.some_answered(principal, body.ids)
    return Response(to_json({"items": items}), media_type="application/json")


@router.get("/pairings/{pairing_id}", responses=problems(404))
async def get_pairing(
    pairing_id: RefPath, principal: PrincipalDep, pairings: PairingsDep
) -> PairingView:
    """One pairing with its explained score."""
    return await pairings.get(principal, pairing_id)


class ApproveIn(RequestBody):
    starts_on: SaneDate | None = Field(
        None,
        description="The day the relationship starts: past days are allowed (a "
        "programme's history), at most a year ahead; carried by PairingConfirmed. "
        "Omitted: it starts when both have accepted",
    )


@router.post("/pairings/{pairing_id}/approve", responses=problems(403, 404, 409, 422))
async def approve(
    pairing_id: RefPath,
    principal: PrincipalDep,
    pairings: PairingsDep,
    body: ApproveIn | None = None,
) -> PairingView:
    """The coordinator approves a proposal (optionally with the relationship's
    start date); both people are asked next."""
    starts_on = body.starts_on if body else None
    return await pairings.approve(principal, pairing_id, starts_on)


@router.post("/pairings/{pairing_id}/accept", responses=problems(403, 404, 409))
async def accept(
    pairing_id: RefPath, principal: PrincipalDep, pairings: PairingsDep
) -> PairingView:
    """The mentor or the mentee says yes; both yeses confirm the pairing."""
    return await pairings.accept(principal, pairing_id)


@router.post("/pairings/{pairing_id}/decline", responses=problems(403, 404, 409))
async def decline(
    pairing_id: RefPath, body: ReasonIn, principal: PrincipalDep, pairings: PairingsDep
) -> PairingView:
    """The mentor or the mentee says no; the mentee is offered the next best mentor."""
    return await pairings.decline(principal, pairing_id, body.reason, body.reason_code)


@router.post(
    "/pairings/{pairing_id}/withdraw",
    status_code=204,
    responses=problems(403, 404, 409),
)
async def withdraw(
    pairing_id: RefPath,
    body: RequiredReasonIn,
    principal: PrincipalDep,
    pairings: PairingsDep,
) -> None:
    """The coordinator withdraws an open proposal."""
    await pairings.withdraw(principal, pairing_id, body.reason, body.reason_code)


@router.post(
    "/pairings/{pairing_id}/end", status_code=204, responses=problems(403, 404, 409)
)
async def end(
    pairing_id: RefPath,
    body: RequiredReasonIn,
    principal: PrincipalDep,
    pairings: PairingsDep,
) -> None:
    """End a confirmed pairing (concluded, rematched, withdrawn)."""
    await pairings.end(principal, pairing_id, body.reason, body.reason_code)


@router.post("/forbidden-pairs", status_code=201, responses=problems(403, 409))
async def forbid(
    body: ForbidIn, principal: PrincipalDep, pairings: PairingsDep
) -> PairRuledOut:
    """Rule a pair out; open proposals of that pair are withdrawn."""
    withdrawn = await pairings.forbid(
        principal,
        body.mentor_id,
        body.mentee_id,
        body.reason,
        code=body.reason_code,
        cohort_id=body.cohort_id,
    )
    return PairRuledOut(withdrawn=withdrawn)


@router.post(
    "/mentees/{mentee_id}/dismissed",
    status_code=204,
    responses=problems(403, 404, 409),
)
async def dismiss(
    mentee_id: RefPath, body: DismissIn, principal: PrincipalDep, pairings: PairingsDep
) -> None:
    """A mentee sets a suggested mentor aside; it is not offered again."""
    await pairings.dismiss(principal, mentee_id, body.mentor_id)
