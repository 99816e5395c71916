"""Pairings: the coordinator's approval and overrides, the two people's answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.matching.api.deps import PairingsDep, PrincipalDep
from services.matching.pairings_view import pairings_by_ids

router = APIRouter(tags=["pairings"])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(Body):
    reason: str | None = Field(None, max_length=1000)


class RequiredReasonIn(Body):
    reason: str = Field(min_length=1, max_length=1000)


class ForbidIn(Body):
    mentor_id: str
    mentee_id: str
    reason: str = Field(min_length=1, max_length=1000)
    cohort_id: str | None = None


class DismissIn(Body):
    mentor_id: str


class IdsIn(Body):
    ids: list[str] = Field(max_length=500)


@router.get("/pairings")
async def list_pairings(
    principal: PrincipalDep,
    pairings: PairingsDep,
    person_id: str | None = None,
    round_id: str | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """Pairings, filtered; people see their own, coordinators and sponsors all."""
    return await pairings.list(
        principal, person_id=person_id, round_id=round_id, state=state
    )


@router.post("/pairings/batch")
async def batch(
    body: IdsIn, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """Several pairings by id in one call; those you may not see are left out."""
    return {"items": await pairings_by_ids(pairings.engine, principal, body.ids)}


@router.get("/pairings/{pairing_id}")
async def get_pairing(
    pairing_id: str, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """One pairing with its explained score."""
    return await pairings.get(principal, pairing_id)


@router.post("/pairings/{pairing_id}/approve")
async def approve(
    pairing_id: str, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """The coordinator approves a proposal; both people are asked next."""
    return await pairings.approve(principal, pairing_id)


@router.post("/pairings/{pairing_id}/accept")
async def accept(
    pairing_id: str, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """The mentor or the mentee says yes; both yeses confirm the pairing."""
    return await pairings.accept(principal, pairing_id)


@router.post("/pairings/{pairing_id}/decline")
async def decline(
    pairing_id: str, body: ReasonIn, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """The mentor or the mentee says no; the mentee is offered the next best mentor."""
    return await pairings.decline(principal, pairing_id, body.reason)


@router.post("/pairings/{pairing_id}/withdraw", status_code=204)
async def withdraw(
    pairing_id: str,
    body: RequiredReasonIn,
    principal: PrincipalDep,
    pairings: PairingsDep,
) -> None:
    """The coordinator withdraws an open proposal."""
    await pairings.withdraw(principal, pairing_id, body.reason)


@router.post("/pairings/{pairing_id}/end", status_code=204)
async def end(
    pairing_id: str,
    body: RequiredReasonIn,
    principal: PrincipalDep,
    pairings: PairingsDep,
) -> None:
    """End a confirmed pairing (concluded, rematched, withdrawn)."""
    await pairings.end(principal, pairing_id, body.reason)


@router.post("/forbidden-pairs", status_code=201)
async def forbid(
    body: ForbidIn, principal: PrincipalDep, pairings: PairingsDep
) -> dict[str, Any]:
    """Rule a pair out; open proposals of that pair are withdrawn."""
    withdrawn = await pairings.forbid(
        principal, body.mentor_id, body.mentee_id, body.reason, cohort_id=body.cohort_id
    )
    return {"withdrawn": withdrawn}


@router.post("/mentees/{mentee_id}/dismissed", status_code=204)
async def dismiss(
    mentee_id: str, body: DismissIn, principal: PrincipalDep, pairings: PairingsDep
) -> None:
    """A mentee sets a suggested mentor aside; it is not offered again."""
    await pairings.dismiss(principal, mentee_id, body.mentor_id)
