"""Balanced scorecards per mentee, relationship, cohort and the programme.

Each is answered as JSON, or as CSV (``.csv``, or ``?format=csv``) in the one export
format of ``application/exports.py``; both go through the one helper ``_as``
(``chassis.exports.rendered``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from starlette.responses import Response

from chassis.auth.fastapi import PrincipalDep
from chassis.exports import rendered
from chassis.http.openapi import problems
from chassis.inputs import Code, Ref
from contracts.api.insights import (
    CohortScorecard,
    ExportFormat,
    MenteeScorecard,
    ProgrammeScorecard,
    RelationshipScorecard,
)
from services.insights.api.deps import ScorecardsDep
from services.insights.application.exports import COLUMNS, report_rows
from services.insights.application.scorecards import Card

router = APIRouter(prefix="/scorecards", tags=["scorecards"])
AsOf = Annotated[
    Code | None,
    Query(description="ISO date (end of that day, UTC) or date-time; default now"),
]
Format = Annotated[
    ExportFormat,
    Query(description="`csv`: the figures in the long CSV export format"),
]
C = TypeVar("C", bound=Card)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A scorecard route's answers: the card as JSON or (``format=csv``) as CSV."""
    return {
        200: {
            "description": "The scorecard; with `format=csv`, its figures as CSV "
            "(one row per figure: scope, scope_id, as_of, member, perspective, "
            "measure, value)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problems(*statuses),
    }


def _as(card: C, fmt: ExportFormat) -> C | Response:
    """The one rendering of a scorecard, as JSON or CSV."""
    return rendered(card, fmt, report_rows, COLUMNS, lineterminator="\n")


# CSV routes come first: ``{id}`` alone would also match ``x.csv``.
@router.get("/mentees/{person_id}.csv", include_in_schema=False, response_model=None)
async def mentee_csv(
    cards: ScorecardsDep, person_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Card | Response:
    return _as(await cards.mentee(principal, person_id, as_of), ExportFormat.CSV)


@router.get(
    "/mentees/{person_id}",
    response_model=MenteeScorecard,
    responses=responses(403, 404),
)
async def get_mentee(
    cards: ScorecardsDep,
    person_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = ExportFormat.JSON,
) -> Card | Response:
    """One mentee's balanced scorecard."""
    return _as(await cards.mentee(principal, person_id, as_of), format)


@router.get("/relationships/{rel_id}.csv", include_in_schema=False, response_model=None)
async def relationship_csv(
    cards: ScorecardsDep, rel_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Card | Response:
    return _as(await cards.relationship(principal, rel_id, as_of), ExportFormat.CSV)


@router.get(
    "/relationships/{rel_id}",
    response_model=RelationshipScorecard,
    responses=responses(403, 404),
)
async def get_relationship(
    cards: ScorecardsDep,
    rel_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = ExportFormat.JSON,
) -> Card | Response:
    """One relationship's balanced scorecard."""
    return _as(await cards.relationship(principal, rel_id, as_of), format)


@router.get("/cohorts/{cohort_id}.csv", include_in_schema=False, response_model=None)
async def cohort_csv(
    cards: ScorecardsDep, cohort_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Card | Response:
    return _as(await cards.cohort(principal, cohort_id, as_of), ExportFormat.CSV)


@router.get(
    "/cohorts/{cohort_id}",
    response_model=CohortScorecard,
    responses=responses(403, 404),
)
async def get_cohort(
    cards: ScorecardsDep,
    cohort_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = ExportFormat.JSON,
) -> Card | Response:
    """A cohort's balanced scorecard, with one row per mentee."""
    return _as(await cards.cohort(principal, cohort_id, as_of), format)


@router.get("/programme.csv", include_in_schema=False, response_model=None)
async def programme_csv(
    cards: ScorecardsDep, principal: PrincipalDep, as_of: AsOf = None
) -> Card | Response:
    return _as(await cards.programme(principal, as_of), ExportFormat.CSV)


@router.get("/programme", response_model=ProgrammeScorecard, responses=responses(403))
async def get_programme(
    cards: ScorecardsDep,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = ExportFormat.JSON,
) -> Card | Response:
    """The whole programme's balanced scorecard."""
    return _as(await cards.programme(principal, as_of), format)
