"""Balanced scorecards per mentee, relationship, cohort and the programme.

Computed on request from the facts (``facts.replay`` up to ``as_of``) by the pure
functions of ``domain.scorecard``; no scorecard table is kept. That makes "as of a
past date" the same computation as "now", and a rebuild (``rebuild.py``) can never
leave scorecards out of step with the facts. The cost is one pass over the tenant's
facts per request, which is fine at programme scale (hundreds of people).

Who may read: coordinators, sponsors and admins every scorecard; a mentee their own
(and their relationships'); a mentor their relationships'. ``.csv`` (or
``?format=csv``) returns the same report in the export format of ``exports.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from chassis.auth import Principal, Role
from chassis.auth.fastapi import PrincipalDep
from chassis.errors import FieldError, Forbidden, NotFound, ValidationFailed
from chassis.inputs import EARLIEST, LATEST, Code, Ref
from services.insights import exports, facts, rebuild
from services.insights.domain import scorecard

router = APIRouter(prefix="/scorecards", tags=["scorecards"])
READERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)
AsOf = Annotated[
    Code | None,
    Query(description="ISO date (end of that day, UTC) or date-time; default now"),
]
Format = Annotated[str, Query(max_length=4, pattern="^(json|csv)$")]


def parse_as_of(value: str | None) -> datetime:
    """``as_of`` as an aware UTC moment; a bare date means the end of that day."""
    if not value:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError("as_of", "expected an ISO 8601 date or date-time")]
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment.date() <= LATEST:
        raise ValidationFailed(
            [FieldError("as_of", f"must be between {EARLIEST} and {LATEST}")]
        )
    return moment


async def load(request: Request, tenant: str, as_of: datetime) -> scorecard.Org:
    async with request.app.state.runtime.engine.connect() as conn:
        return scorecard.fold(await facts.replay(conn, tenant, as_of))


def _min_comparison(request: Request) -> int:
    return int(getattr(request.app.state.settings, "k_anonymity", 5))


def _reply(card: dict[str, Any] | None, what: str, fmt: str) -> Any:
    if card is None:
        raise NotFound(f"no {what} as of that date")
    if fmt == "csv":
        return Response(exports.to_csv(card), media_type="text/csv; charset=utf-8")
    return card


def _reader(principal: Principal, *people: str) -> None:
    if principal.has_role(*READERS):
        return
    if principal.subject in people and principal.has_role(Role.MENTEE, Role.MENTOR):
        return
    raise Forbidden("a scorecard is readable by its own people and the programme team")


async def mentee(
    request: Request, person_id: str, principal: Principal, as_of: str | None, fmt: str
) -> Any:
    _reader(principal, person_id)
    if not principal.has_role(*READERS) and not principal.has_role(Role.MENTEE):
        raise Forbidden("only the mentee reads their own scorecard")
    moment = parse_as_of(as_of)
    org = await load(request, principal.tenant, moment)
    card = scorecard.mentee_card(
        org, person_id, moment, min_comparison=_min_comparison(request)
    )
    return _reply(card, "such mentee", fmt)


async def relationship(
    request: Request, rel_id: str, principal: Principal, as_of: str | None, fmt: str
) -> Any:
    moment = parse_as_of(as_of)
    org = await load(request, principal.tenant, moment)
    rel = org.relationships.get(rel_id)
    _reader(principal, *((rel.mentee_id, rel.mentor_id) if rel else ()))
    card = scorecard.relationship_card(
        org, rel_id, moment, min_comparison=_min_comparison(request)
    )
    return _reply(card, "such relationship", fmt)


async def cohort(
    request: Request, cohort_id: str, principal: Principal, as_of: str | None, fmt: str
) -> Any:
    principal.require(*READERS)
    moment = parse_as_of(as_of)
    org = await load(request, principal.tenant, moment)
    card = scorecard.cohort_card(
        org, cohort_id, moment, min_comparison=_min_comparison(request)
    )
    return _reply(card, "such cohort", fmt)


async def programme(
    request: Request, principal: Principal, as_of: str | None, fmt: str
) -> Any:
    principal.require(*READERS)
    moment = parse_as_of(as_of)
    org = await load(request, principal.tenant, moment)
    card = scorecard.programme_card(
        org, moment, min_comparison=_min_comparison(request)
    )
    return _reply(card, "programme", fmt)


# CSV routes come first: ``{id}`` alone would also match ``x.csv``.
@router.get("/mentees/{person_id}.csv", include_in_schema=False)
async def mentee_csv(
    request: Request, person_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return await mentee(request, person_id, principal, as_of, "csv")


@router.get("/mentees/{person_id}")
async def get_mentee(
    request: Request,
    person_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """One mentee's balanced scorecard."""
    return await mentee(request, person_id, principal, as_of, format)


@router.get("/relationships/{rel_id}.csv", include_in_schema=False)
async def relationship_csv(
    request: Request, rel_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return await relationship(request, rel_id, principal, as_of, "csv")


@router.get("/relationships/{rel_id}")
async def get_relationship(
    request: Request,
    rel_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """One relationship's balanced scorecard."""
    return await relationship(request, rel_id, principal, as_of, format)


@router.get("/cohorts/{cohort_id}.csv", include_in_schema=False)
async def cohort_csv(
    request: Request, cohort_id: Ref, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return await cohort(request, cohort_id, principal, as_of, "csv")


@router.get("/cohorts/{cohort_id}")
async def get_cohort(
    request: Request,
    cohort_id: Ref,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """A cohort's balanced scorecard, with one row per mentee."""
    return await cohort(request, cohort_id, principal, as_of, format)


@router.get("/programme.csv", include_in_schema=False)
async def programme_csv(
    request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    return await programme(request, principal, as_of, "csv")


@router.get("/programme")
async def get_programme(
    request: Request,
    principal: PrincipalDep,
    as_of: AsOf = None,
    format: Format = "json",
) -> Any:
    """The whole programme's balanced scorecard."""
    return await programme(request, principal, as_of, format)


def install(app: Any, runtime: Any) -> None:
    """Scorecards keep no table (computed from facts); this part also owns rebuilds."""
    rebuild.install(app, runtime)
