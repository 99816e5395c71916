"""Balanced scorecards per mentee, relationship, cohort and the programme.

Each is answered as JSON, or as CSV (``.csv``, or ``?format=csv``) in the one export
format of ``application/exports.py``; both go through ``chassis.exports.rendered``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.exports import rendered
from chassis.inputs import Code, Ref
from services.insights.api.deps import ScorecardsDep
from services.insights.application.exports import COLUMNS, report_rows
from services.insights.application.scorecards import Card

router = APIRouter(prefix="/scorecards", tags=["scorecards"])
AsOf = Annotated[
    Code | None,
    Query(description="ISO date (end of that day, UTC) or date-time; default now"),
]
Format = Annotated[str, Query(max_length=4, pattern="^(json|csv)$")]


def _as(card: Card, fmt: str) -> Any:
    return rendered(card, fmt, report_rows, COLUMNS, lineterminator="\n")


# CSV routes come first: ``{id}`` alone would also match ``x.csv``.
@router.get("/mentees/{person_id}.csv", include_in_schema=False)
async def mentee_csv(
    cards: ScorecardsDep, person_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return _as(await cards.mentee(principal, person_id, as_of), "csv")


@router.get("/mentees/{person_id}")
async def get_mentee(
    cards: ScorecardsDep,
    person_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """One mentee's balanced scorecard."""
    return _as(await cards.mentee(principal, person_id, as_of), format)


@router.get("/relationships/{rel_id}.csv", include_in_schema=False)
async def relationship_csv(
    cards: ScorecardsDep, rel_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return _as(await cards.relationship(principal, rel_id, as_of), "csv")


@router.get("/relationships/{rel_id}")
async def get_relationship(
    cards: ScorecardsDep,
    rel_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """One relationship's balanced scorecard."""
    return _as(await cards.relationship(principal, rel_id, as_of), format)


@router.get("/cohorts/{cohort_id}.csv", include_in_schema=False)
async def cohort_csv(
    cards: ScorecardsDep, cohort_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return _as(await cards.cohort(principal, cohort_id, as_of), "csv")


@router.get("/cohorts/{cohort_id}")
async def get_cohort(
    cards: ScorecardsDep,
    cohort_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """A cohort's balanced scorecard, with one row per mentee."""
    return _as(await cards.cohort(principal, cohort_id, as_of), format)


@router.get("/programme.csv", include_in_schema=False)
async def programme_csv(
    cards: ScorecardsDep, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return _as(await cards.programme(principal, as_of), "csv")


@router.get("/programme")
async def get_programme(
    cards: ScorecardsDep,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """The whole programme's balanced scorecard."""
    return _as(await cards.programme(principal, as_of), format)
