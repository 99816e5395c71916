"""Matching rounds: pair a whole cohort, watch progress, re-run around pins."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from chassis.inputs import FEW_ITEMS, Code, Items, Positive, Ref, RequestBody
from services.matching.api.deps import PrincipalDep, RefPath, RoundsDep

router = APIRouter(prefix="/rounds", tags=["rounds"])


Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class FairnessIn(RequestBody):
    group_by: Code = Field(
        "business_unit",
        description="business_unit, level_band, geography, function or demographics.<attribute>",
    )
    min_ratio: float = Field(0.9, gt=0, le=1)
    min_group_size: Positive = Field(
        5,
        description="smallest group reported; never below the tenant's k (a "
        "smaller value is raised to k, and the report says which size it used)",
    )


class Pin(RequestBody):
    mentee_id: Ref
    mentor_id: Ref


class RoundIn(RequestBody):
    cohort_id: Ref
    mode: Literal["quality", "coverage"] = Field(
        "quality", description="best total quality, or most people matched"
    )
    weights: Annotated[dict[Code, Weight], Field(max_length=FEW_ITEMS)] | None = Field(
        None, description="criterion → weight"
    )
    min_score: float = Field(0.0, ge=0, le=1)
    fairness: FairnessIn | None = None
    pins: Items[Pin] = Field(default_factory=list)


class RerunIn(RequestBody):
    pins: Items[Pin] = Field(default_factory=list)


class IdsIn(RequestBody):
    ids: list[Ref] = Field(max_length=200)


@router.post("", status_code=202)
async def start_round(
    body: RoundIn,
    principal: PrincipalDep,
    rounds: RoundsDep,
    wait: bool = Query(False, description="answer when the round has finished"),
) -> dict[str, Any]:
    """Start a matching round for a cohort (coordinators); progress at GET /rounds/{id}."""
    return await rounds.start(
        principal,
        body.cohort_id,
        mode=body.mode,
        weights=body.weights,
        min_score=body.min_score,
        fairness=body.fairness.model_dump() if body.fairness else None,
        pins=[(p.mentee_id, p.mentor_id) for p in body.pins],
        wait=wait,
    )


@router.post("/batch")
async def batch(
    body: IdsIn, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """Several rounds by id in one call (as ``GET /rounds/{id}``); unknown ids and
    other tenants' rounds are left out."""
    return {"items": await rounds.some(principal, body.ids)}


@router.get("/{round_id}")
async def get_round(
    round_id: RefPath, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """A round's status, live progress, outcome and fairness report."""
    return await rounds.get(principal, round_id)


@router.post("/{round_id}/rerun")
async def rerun(
    round_id: RefPath, body: RerunIn, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """Keep approved pairs, withdraw the other proposals, pair again around the pins;
    pins that cannot be honoured are refused (422, each listed) and nothing changes."""
    return await rounds.rerun(
        principal, round_id, [(p.mentee_id, p.mentor_id) for p in body.pins]
    )
