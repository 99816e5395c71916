"""Batch reads for the gateway: many mentees' scorecards, many relationships' health.

One call answers many ids, each authorised exactly like its single-item endpoint
(``GET /scorecards/mentees/{id}``, ``GET /relationships/{id}/health``): an item the
caller may not read comes back as ``{"id", "error": {"code", "message"}}`` in its
place, an unknown one as ``NotFound`` the same way, so one refusal never hides the
others and nothing of another tenant or another person leaks.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field, field_validator
from sqlalchemy import text

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Role
from chassis.errors import Forbidden, TandemError, ValidationFailed
from chassis.events import utcnow
from chassis.inputs import Code, Ref, RequestBody
from services.insights import health, scorecards
from services.insights.domain import health as health_domain
from services.insights.domain import scorecard

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
            scorecards.parse_as_of(value)
        except ValidationFailed as exc:
            raise ValueError(exc.errors[0].message) from None
        return value


def _refused(ident: str, exc: TandemError) -> dict[str, Any]:
    return {"id": ident, "error": {"code": exc.code, "message": str(exc)}}


def _not_found(ident: str, what: str) -> dict[str, Any]:
    return {"id": ident, "error": {"code": "NotFound", "message": f"no {what}"}}


@router.post("/scorecards/mentees/batch")
async def mentee_scorecards(
    body: IdsIn, request: Request, principal: PrincipalDep
) -> dict[str, Any]:
    """Several mentees' balanced scorecards as of one moment, in the order asked."""
    moment = scorecards.parse_as_of(body.as_of)
    ids = list(dict.fromkeys(body.ids))
    readable: list[str] = []
    items: dict[str, dict[str, Any]] = {}
    for ident in ids:
        try:
            scorecards._reader(principal, ident)
            if not principal.has_role(*scorecards.READERS) and not principal.has_role(
                Role.MENTEE
            ):
                raise Forbidden("only the mentee reads their own scorecard")
            readable.append(ident)
        except TandemError as exc:
            items[ident] = _refused(ident, exc)
    if readable:
        org = await scorecards.load(request, principal.tenant, moment)
        k = scorecards._min_comparison(request)
        for ident in readable:
            card = scorecard.mentee_card(org, ident, moment, min_comparison=k)
            items[ident] = (
                {"id": ident, "card": card}
                if card is not None
                else _not_found(ident, "such mentee as of that date")
            )
    return {"items": [items[i] for i in ids]}


@router.post("/relationships/health/batch")
async def relationships_health(
    body: IdsIn, request: Request, principal: PrincipalDep
) -> dict[str, Any]:
    """Several relationships' health now, in the order asked (the pair, overseers)."""
    ids = list(dict.fromkeys(body.ids))
    book: health.HealthBook = request.app.state.health
    items: dict[str, dict[str, Any]] = {}
    if ids:
        marks = ", ".join(f":r{n}" for n in range(len(ids)))
        params: dict[str, Any] = {f"r{n}": v for n, v in enumerate(ids)}
        params["t"] = principal.tenant
        async with request.app.state.runtime.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT {health.COLUMNS} FROM relationship_health "
                        f"WHERE tenant = :t AND relationship_id IN ({marks})"
                    ),
                    params,
                )
            ).all()
        moment = utcnow()
        for row in rows:
            if not health.can_read(principal, row.mentor_id, row.mentee_id):
                items[row.relationship_id] = _refused(
                    row.relationship_id,
                    Forbidden("only the pair and overseers see this relationship"),
                )
                continue
            facts = health_domain.RelationshipFacts.from_json(json.loads(row.facts))
            assessed = health_domain.assess(facts, moment, idle_days=book.idle_days)
            items[row.relationship_id] = {
                "id": row.relationship_id,
                "health": health._view(row, assessed),
            }
    return {"items": [items.get(i) or _not_found(i, "such relationship") for i in ids]}
