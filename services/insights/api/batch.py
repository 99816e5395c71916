"""Batch reads for the gateway: many mentees' scorecards, many relationships' health.

One call answers many ids, each authorised exactly like its single-item endpoint
(``GET /scorecards/mentees/{id}``, ``GET /relationships/{id}/health``): an item the
caller may not read comes back as ``{"id", "error": {"code", "message"}}`` in its
place, an unknown one as ``NotFound`` the same way, so one refusal never hides the
others and nothing of another tenant or another person leaks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field, field_validator

from chassis.auth.fastapi import PrincipalDep
from chassis.errors import ValidationFailed
from chassis.inputs import Code, Ref, RequestBody
from contracts.api.insights import HealthBatch, MenteeScorecardBatch
from services.insights.api.deps import HealthDep, ScorecardsDep
from services.insights.application import health, scorecards
from services.insights.application.scorecards import parse_as_of

router = APIRouter(tags=["batch"])


class IdsIn(RequestBody):
    """The ids of a batch read (each authorised like its single-item route)."""

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


@router.post("/scorecards/mentees/batch", response_model=MenteeScorecardBatch)
async def mentee_scorecards(
    body: IdsIn, cards: ScorecardsDep, principal: PrincipalDep
) -> dict[str, list[scorecards.Found | health.Refused]]:
    """Several mentees' balanced scorecards as of one moment, in the order asked."""
    return {"items": await cards.mentees(principal, body.ids, body.as_of)}


@router.post("/relationships/health/batch", response_model=HealthBatch)
async def relationships_health(
    body: IdsIn, book: HealthDep, principal: PrincipalDep
) -> dict[str, list[health.Found | health.Refused]]:
    """Several relationships' health now, in the order asked (the pair, overseers)."""
    return {"items": await book.many(principal, body.ids)}
