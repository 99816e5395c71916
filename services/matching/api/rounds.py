"""Matching rounds: pair a whole cohort, watch progress, re-run around pins."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chassis.auth.principal import Principal, Role
from chassis.errors import NotFound
from services.matching.api.deps import PrincipalDep
from services.matching.domain.encoding import encode
from services.matching.domain.rules import CapacityExceeded, feasibility
from services.matching.pairings import COORDINATORS
from services.matching.pool import load_pool
from services.matching.rounds import Rounds, _config

router = APIRouter(prefix="/rounds", tags=["rounds"])


def get_rounds(request: Request) -> Rounds:
    return request.app.state.rounds


RoundsDep = Annotated[Rounds, Depends(get_rounds)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FairnessIn(Body):
    group_by: str = Field(
        "business_unit",
        description="business_unit, level_band, geography, function or demographics.<attribute>",
    )
    min_ratio: float = Field(0.9, gt=0, le=1)
    min_group_size: int = Field(5, ge=1)


class Pin(Body):
    mentee_id: str
    mentor_id: str


class RoundIn(Body):
    cohort_id: str
    mode: Literal["quality", "coverage"] = Field(
        "quality", description="best total quality, or most people matched"
    )
    weights: dict[str, float] | None = Field(None, description="criterion → weight")
    min_score: float = Field(0.0, ge=0, le=1)
    fairness: FairnessIn | None = None
    pins: list[Pin] = Field(default_factory=list)


class RerunIn(Body):
    pins: list[Pin] = Field(default_factory=list)


class IdsIn(Body):
    ids: list[str] = Field(max_length=200)


async def check_pins(rounds: Rounds, principal: Principal, body: RoundIn) -> None:
    """Refuse pins the hard rules or the mentors' free seats do not allow, before
    anything is recorded (the round itself checks them again)."""
    if not body.pins:
        return
    principal.require(*COORDINATORS)
    async with rounds.engine.connect() as conn:
        pool = await load_pool(conn, principal.tenant, body.cohort_id)
    config = _config(
        pool,
        body.mode,
        body.weights,
        body.min_score,
        body.fairness.model_dump() if body.fairness else None,
    )
    pins = [(p.mentee_id, p.mentor_id) for p in body.pins]

    def check() -> None:
        enc = encode(pool.mentees, pool.mentors, config, pool.competency_names)
        feasibility(enc, None, pool.forbidden, pins)

    await asyncio.to_thread(check)


def failed_pins(view: dict[str, Any]) -> None:
    """A re-run whose pins the round refused answers that refusal, typed."""
    error = str(view.get("error") or "")
    if view.get("status") == "failed" and error.startswith("CapacityExceeded"):
        raise CapacityExceeded(error.split(": ", 1)[-1])


@router.post("", status_code=202)
async def start_round(
    body: RoundIn,
    principal: PrincipalDep,
    rounds: RoundsDep,
    wait: bool = Query(False, description="answer when the round has finished"),
) -> dict[str, Any]:
    """Start a matching round for a cohort (coordinators); progress at GET /rounds/{id}."""
    await check_pins(rounds, principal, body)
    return await rounds.start(
        principal,
        body.cohort_id,
        mode=body.mode,
        weights=body.weights,
        min_score=body.min_score,
        fairness=body.fairness.model_dump() if body.fairness else None,
        pins=[(p.mentee_id, p.mentor_id) for p in body.pins],
        wait=wait,
    )


@router.post("/batch")
async def batch(
    body: IdsIn, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """Several rounds by id in one call (as ``GET /rounds/{id}``); unknown ids and
    other tenants' rounds are left out."""
    principal.require(*COORDINATORS, Role.SPONSOR)
    items = []
    for round_id in dict.fromkeys(body.ids):
        try:
            items.append(await rounds.get(principal, round_id))
        except NotFound:
            continue
    return {"items": items}


@router.get("/{round_id}")
async def get_round(
    round_id: str, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """A round's status, live progress, outcome and fairness report."""
    return await rounds.get(principal, round_id)


@router.post("/{round_id}/rerun")
async def rerun(
    round_id: str, body: RerunIn, principal: PrincipalDep, rounds: RoundsDep
) -> dict[str, Any]:
    """Keep approved pairs, withdraw the other proposals, pair again around the pins."""
    view = await rounds.rerun(
        principal, round_id, [(p.mentee_id, p.mentor_id) for p in body.pins]
    )
    failed_pins(view)
    return view
