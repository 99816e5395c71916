"""Matching rounds: pair a whole cohort, watch progress, re-run around pins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import FEW_ITEMS, MAX_CODE, Items, Positive, Ref, RequestBody
from contracts.api.matching import RoundBatch, RoundView
from contracts.matching import Criterion, Mode
from services.matching.api.deps import PrincipalDep, RefPath, RoundsDep, WeightsDep
from services.matching.domain.config import FairnessSettings

router = APIRouter(prefix="/rounds", tags=["rounds"])


Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
# What a fairness check may group mentees by (``domain.fairness.group_labels``).
GROUP_BY = (
    r"^(business_unit|level_band|geography|function"
    r"|demographics\.[^\u0000-\u001f\u007f]+)$"
)


class FairnessIn(RequestBody):
    group_by: Annotated[
        str, Field(min_length=1, max_length=MAX_CODE, pattern=GROUP_BY)
    ] = Field(
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
    mode: Mode = Field(
        Mode.QUALITY, description="best total quality, or most people matched"
    )
    weights: Annotated[dict[Criterion, Weight], Field(max_length=FEW_ITEMS)] | None = (
        Field(
            None,
            description="criterion → weight (none: the cohort's weights, as last "
            "applied at /cohorts/{cohort_id}/weights, else the programme's preset)",
        )
    )
    min_score: float = Field(0.0, ge=0, le=1)
    fairness: FairnessIn | None = None
    pins: Items[Pin] = Field(default_factory=list)


class RerunIn(RequestBody):
    pins: Items[Pin] = Field(default_factory=list)


class IdsIn(RequestBody):
    ids: list[Ref] = Field(max_length=200)


# A round's answer leaves out what does not apply yet (``error``, the outcome):
# those fields are absent rather than null.
@router.post(
    "",
    status_code=202,
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def start_round(
    body: RoundIn,
    principal: PrincipalDep,
    rounds: RoundsDep,
    cohort_weights: WeightsDep,
    wait: bool = Query(False, description="answer when the round has finished"),
) -> RoundView:
    """Start a matching round for a cohort (coordinators); progress at GET /rounds/{id}."""
    weights = body.weights
    if weights is None:  # the cohort's applied weights (empty: the preset)
        applied = await cohort_weights.current(principal.tenant, body.cohort_id)
        weights = {Criterion(c): w for c, w in applied.items()} or None
    return await rounds.start(
        principal,
        body.cohort_id,
        mode=body.mode,
        weights=weights,
        min_score=body.min_score,
        fairness=FairnessSettings(**body.fairness.model_dump())
        if body.fairness
        else None,
        pins=[(p.mentee_id, p.mentor_id) for p in body.pins],
        wait=wait,
    )


@router.post("/batch", responses=problems(403), response_model_exclude_unset=True)
async def batch(body: IdsIn, principal: PrincipalDep, rounds: RoundsDep) -> RoundBatch:
    """Several rounds by id in one call (as ``GET /rounds/{id}``); unknown ids and
    other tenants' rounds are left out."""
    return RoundBatch(items=await rounds.some(principal, body.ids))


@router.get(
    "/{round_id}", responses=problems(403, 404), response_model_exclude_unset=True
)
async def get_round(
    round_id: RefPath, principal: PrincipalDep, rounds: RoundsDep
) -> RoundView:
    """A round's status, live progress, outcome and fairness report."""
    return await rounds.get(principal, round_id)


@router.post(
    "/{round_id}/rerun",
    responses=problems(403, 404, 409),
    response_model_exclude_unset=True,
)
async def rerun(
    round_id: RefPath,
    body: RerunIn,
    principal: PrincipalDep,
    rounds: RoundsDep,
    cohort_weights: WeightsDep,
) -> RoundView:
    """Keep approved pairs, withdraw the other proposals, pair again around the pins;
    pins that cannot be honoured are refused (422, each listed) and nothing changes.
    It pairs with the cohort's weights as last applied (else the programme's preset)."""
    return await rounds.rerun(
        principal,
        round_id,
        [(p.mentee_id, p.mentor_id) for p in body.pins],
        cohort_weights.current,
    )
