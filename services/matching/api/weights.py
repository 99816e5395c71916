"""A cohort's criterion weights: read with their history, preview a round, apply."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import FEW_ITEMS, RequestBody
from contracts.api.matching import CohortWeightsView, WeightsPreview
from contracts.matching import Criterion, WeightBasis, WeightsSource
from services.matching.api.deps import PrincipalDep, RefPath, WeightsDep

router = APIRouter(prefix="/cohorts", tags=["weights"])

Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Weights = Annotated[dict[Criterion, Weight], Field(min_length=1, max_length=FEW_ITEMS)]


class PreviewIn(RequestBody):
    weights: Weights = Field(
        description="criterion → weight (a criterion left out weighs 0)"
    )


class ApplyIn(RequestBody):
    weights: Weights = Field(
        description="criterion → weight (a criterion left out weighs 0)"
    )
    source: WeightsSource = WeightsSource.COORDINATOR
    suggested_on: date | None = Field(
        None, description="the day the applied suggestions were read"
    )
    basis: list[WeightBasis] = Field(default_factory=list, max_length=FEW_ITEMS)


@router.get("/{cohort_id}/weights", responses=problems(403, 404))
async def cohort_weights(
    cohort_id: RefPath, principal: PrincipalDep, weights: WeightsDep
) -> CohortWeightsView:
    """The weights a cohort's rounds use, and every change (who, when, on what)."""
    return await weights.view(principal, cohort_id)


@router.post("/{cohort_id}/weights/preview", responses=problems(403, 404))
async def preview_weights(
    cohort_id: RefPath, body: PreviewIn, principal: PrincipalDep, weights: WeightsDep
) -> WeightsPreview:
    """The cohort's next round with its current and the given weights, side by
    side; nothing is recorded."""
    return await weights.preview(principal, cohort_id, body.weights)


@router.put("/{cohort_id}/weights", responses=problems(403, 404, 409))
async def apply_weights(
    cohort_id: RefPath, body: ApplyIn, principal: PrincipalDep, weights: WeightsDep
) -> CohortWeightsView:
    """Set the weights the cohort's rounds use (coordinators): recorded, audited."""
    return await weights.apply(
        principal,
        cohort_id,
        body.weights,
        source=body.source,
        suggested_on=body.suggested_on,
        basis=body.basis,
    )
