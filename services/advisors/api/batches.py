"""Batch reads for the gateway's DataLoaders: councils, risks and agreements by id,
each authorised exactly as its single-item route does it.

An id the caller may not see (another organisation's, or one their roles do not
reach) is left out of ``items``, answered like an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import APIRouter

from chassis.auth.fastapi import PrincipalDep
from chassis.errors import Forbidden, NotFound
from contracts.api.advisors import (
    AgreementList,
    AgreementWithUsage,
    CouncilList,
    CouncilWithRecommendations,
    IdsIn,
    RiskList,
)
from services.advisors.api.deps import AgreementsDep, CouncilsDep, RisksDep

router = APIRouter(tags=["batches"])
Ids = IdsIn
T = TypeVar("T")


async def _each(ids: list[str], read: Callable[[str], Awaitable[T]]) -> list[T]:
    found = []
    for item_id in dict.fromkeys(ids):
        try:
            found.append(await read(item_id))
        except (NotFound, Forbidden):
            continue
    return found


@router.post("/councils/batch")
async def councils_batch(
    body: Ids, p: PrincipalDep, councils: CouncilsDep
) -> CouncilList:
    """Several councils as ``GET /councils/{id}`` shows them, each with its
    recommendations (oldest first) as ``…/recommendations`` lists them."""

    async def read(council_id: str) -> CouncilWithRecommendations:
        return await councils.read_with_recommendations(p, council_id)

    return CouncilList(items=await _each(body.ids, read))


@router.post("/risks/batch")
async def risks_batch(body: Ids, p: PrincipalDep, risks: RisksDep) -> RiskList:
    """Several risks, each as ``GET /risks/{id}`` shows it."""
    return RiskList(items=await _each(body.ids, lambda r: risks.get(p, r)))


@router.post("/agreements/batch")
async def agreements_batch(
    body: Ids, p: PrincipalDep, agreements: AgreementsDep
) -> AgreementList:
    """Several agreements as ``GET /agreements/{id}`` shows them, each with this
    month's usage as ``…/usage`` reports it."""
    today = datetime.now(UTC).date()

    async def read(agreement_id: str) -> AgreementWithUsage:
        return await agreements.read_with_usage(p, agreement_id, today)

    return AgreementList(items=await _each(body.ids, read))
