"""Equity reports (JSON and CSV), pairing patterns and programme operations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import StringConstraints
from starlette.responses import Response

from chassis.exports import rendered
from chassis.http.openapi import problems
from chassis.inputs import MAX_CODE, Ref
from contracts.api.insights import (
    EquityReport,
    ExportFormat,
    PairingPatterns,
    ProgrammeOperations,
)
from contracts.insights import EquityDimension
from services.insights.api.deps import (
    EquityDep,
    OperationsDep,
    Overseer,
    PatternsDep,
)
from services.insights.application.equity import (
    CSV_FIELDS,
    Report,
    csv_name,
    csv_rows,
)
from services.insights.application.patterns import Report as Patterns
from services.insights.domain.operations import Report as Operations

router = APIRouter(tags=["equity"])
Demographic = Annotated[
    str,
    StringConstraints(max_length=MAX_CODE, pattern=r"^demographics\.[A-Za-z0-9_]+$"),
]
Dimension = Annotated[
    EquityDimension | Demographic,
    Query(
        description="An organisational dimension, or `demographics.<attribute>` "
        "(an attribute people consented to share, e.g. `demographics.gender`)"
    ),
]
AsOf = Annotated[
    date | None,
    Query(
        description="As it stood at the end of this day (YYYY-MM-DD, not after "
        "today), every fact at its effective day; default now"
    ),
]
CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One row per group, then the total (a withheld figure empty)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def _as(report: Report, fmt: ExportFormat, dimension: str) -> Report | Response:
    """The one rendering of an equity report, as JSON or CSV."""
    return rendered(
        report,
        fmt,
        csv_rows,
        CSV_FIELDS,
        filename=csv_name(dimension),
        extrasaction="ignore",
    )


@router.get("/equity", response_model=EquityReport, responses=problems(403, 422))
async def equity(
    app: EquityDep,
    principal: Overseer,
    dimension: Dimension = EquityDimension.BUSINESS_UNIT,
    cohort_id: Ref | None = None,
    as_of: AsOf = None,
) -> Report | Response:
    """Participation, matching and outcomes per group: counts rounded to 5, small
    groups and cells withheld (docs/privacy.md); now, or as it stood at the end of
    ``as_of``."""
    report = await app.report(principal.tenant, dimension, cohort_id, as_of)
    return _as(report, ExportFormat.JSON, dimension)


@router.get(
    "/equity.csv",
    response_class=Response,
    response_model=None,
    responses={**CSV, **problems(403, 422)},
)
async def equity_csv(
    app: EquityDep,
    principal: Overseer,
    dimension: Dimension = EquityDimension.BUSINESS_UNIT,
    cohort_id: Ref | None = None,
    as_of: AsOf = None,
) -> Report | Response:
    """The equity report as CSV (one row per group, then the total)."""
    report = await app.report(principal.tenant, dimension, cohort_id, as_of)
    return _as(report, ExportFormat.CSV, dimension)


@router.get("/patterns", response_model=PairingPatterns, responses=problems(403))
async def pairing_patterns(app: PatternsDep, principal: Overseer) -> Patterns:
    """Outcome rates per pairing characteristic, and suggested matching weights."""
    return await app.report(principal.tenant)


@router.get("/operations", response_model=ProgrammeOperations, responses=problems(403))
async def programme_operations(app: OperationsDep, principal: Overseer) -> Operations:
    """Participation vs eligible, waiting list, utilisation, hours, pulse surveys."""
    return await app.report(principal.tenant)
