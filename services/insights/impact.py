"""Mentor impact report per quarter, computed from the facts up to the quarter's end."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Role
from chassis.errors import FieldError, Forbidden, ValidationFailed
from chassis.inputs import Ref
from services.insights import facts as fact_log
from services.insights.domain import health as domain

router = APIRouter(tags=["impact"])
OVERSEERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)


@router.get("/mentors/{mentor_id}/impact")
async def mentor_impact(
    mentor_id: Ref,
    request: Request,
    principal: PrincipalDep,
    quarter: Annotated[
        str, Query(max_length=6, pattern=r"^\d{4}[Qq][1-4]$", examples=["2027Q1"])
    ],
) -> dict[str, Any]:
    """A mentor's quarter: mentees, sessions held vs expected, milestones, ratings."""
    if principal.subject != mentor_id and not principal.has_role(*OVERSEERS):
        raise Forbidden("only the mentor and overseers see this report")
    try:
        _first, last = domain.quarter_bounds(quarter)
    except ValueError:
        raise ValidationFailed(
            [FieldError("quarter", "must look like 2027Q1")]
        ) from None
    until = datetime.combine(last, time.max, tzinfo=UTC)
    async with request.app.state.runtime.engine.connect() as conn:
        history = await fact_log.replay(conn, principal.tenant, until)
    relationships = domain.fold([(e.type, e.data, e.time) for e in history])
    return asdict(domain.impact(mentor_id, quarter, list(relationships.values())))


def install(app: Any, _runtime: Any) -> None:
    """Impact reads the facts directly: no table of its own, only the route."""
    app.include_router(router)
