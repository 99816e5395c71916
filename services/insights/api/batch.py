"""Batch reads for the gateway: many mentees' scorecards, many relationships' health.

One call answers many ids, each authorised exactly like its single-item endpoint
(``GET /scorecards/mentees/{id}``, ``GET /relationships/{id}/health``): an item the
caller may not read comes back as ``{"id", "error": {"code", "message"}}`` in its
place, an unknown one as ``NotFound`` the same way, so one refusal never hides the
others and nothing of another tenant or another person leaks.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, field_validator

from chassis.auth.fastapi import PrincipalDep
from chassis.errors import ValidationFailed
from chassis.inputs import Code, Ref, RequestBody
from services.insights.api.deps import HealthDep, ScorecardsDep
from services.insights.application.scorecards import parse_as_of

router = APIRouter(tags=["batch"])


class IdsIn(RequestBody):
    ids: Annotated[list[Ref], Field(max_length=200)]
    as_of: Code | None = Field(
        None, description="ISO date (end of that day, UTC) or date-time; default now"
    )

    @field_validator("as_of")
    @classmethod
    def _sane(cls, value: str | None) -> str | None:
        try:
            parse_as_of(value)
        except ValidationFailed as exc:
            raise ValueError(exc.errors[0].message) from None
        return value


@router.post("/scorecards/mentees/batch")
async def mentee_scorecards(
    body: IdsIn, cards: ScorecardsDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Several mentees' balanced scorecards as of one moment, in the order asked."""
    return {"items": await cards.mentees(principal, body.ids, body.as_of)}


@router.post("/relationships/health/batch")
async def relationships_health(
    body: IdsIn, health: HealthDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Several relationships' health now, in the order asked (the pair, overseers)."""
    return {"items": await health.many(principal, body.ids)}
