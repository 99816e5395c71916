"""Matching rounds: pair a whole cohort, watch progress, re-run around pins."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.matching.api.deps import PrincipalDep
from services.matching.rounds import Rounds

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


@router.post("", status_code=202)
async def start_round(
    body: RoundIn,
    principal: PrincipalDep,
    rounds: RoundsDep,
    wait: bool = Query(False, description="answer when the round has finished"),
) -> dict[str, Any]:
    """Start a matching round for a cohort (coordinators); progress at GET /rounds/{id}."""
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
    return await rounds.rerun(
        principal, round_id, [(p.mentee_id, p.mentor_id) for p in body.pins]
    )
