"""Equity reports (JSON and CSV), pairing patterns and programme operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from chassis.exports import rendered
from chassis.inputs import MAX_CODE, Ref
from services.insights.api.deps import (
    EquityDep,
    OperationsDep,
    Overseer,
    PatternsDep,
)
from services.insights.application.equity import CSV_FIELDS, csv_name, csv_rows

router = APIRouter(tags=["equity"])
Dimension = Annotated[
    str,
    Query(
        max_length=MAX_CODE,
        pattern=r"^(business_unit|level_band|tenure_band|geography|demographics\.[A-Za-z0-9_]+)$",
        description="business_unit | level_band | tenure_band | geography | "
        "demographics.<attribute>",
    ),
]


@router.get("/equity")
async def equity(
    app: EquityDep,
    principal: Overseer,
    dimension: Dimension = "business_unit",
    cohort_id: Ref | None = None,
) -> dict[str, Any]:
    """Participation, matching and outcomes per group: counts rounded to 5, small
    groups and cells withheld (docs/privacy.md)."""
    return await app.report(principal.tenant, dimension, cohort_id)


@router.get("/equity.csv", response_class=Response)
async def equity_csv(
    app: EquityDep,
    principal: Overseer,
    dimension: Dimension = "business_unit",
    cohort_id: Ref | None = None,
) -> Any:
    """The equity report as CSV (one row per group, then the total)."""
    report = await app.report(principal.tenant, dimension, cohort_id)
    return rendered(
        report,
        "csv",
        csv_rows,
        CSV_FIELDS,
        filename=csv_name(dimension),
        extrasaction="ignore",
    )


@router.get("/patterns")
async def pairing_patterns(app: PatternsDep, principal: Overseer) -> dict[str, Any]:
    """Outcome rates per pairing characteristic, and suggested matching weights."""
    return await app.report(principal.tenant)


@router.get("/operations")
async def programme_operations(
    app: OperationsDep, principal: Overseer
) -> dict[str, Any]:
    """Participation vs eligible, waiting list, utilisation, hours, pulse surveys."""
    return await app.report(principal.tenant)
