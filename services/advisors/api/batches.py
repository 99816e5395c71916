"""Batch reads for the gateway's DataLoaders: councils, risks and agreements by id,
each authorised exactly as its single-item route does it.

An id the caller may not see (another organisation's, or one their roles do not
reach) is left out of ``items``, answered like an id that does not exist. A batch
reads its items' streams in one statement, however many ids.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from chassis.auth.fastapi import PrincipalDep
from contracts.api.advisors import AgreementList, CouncilList, IdsIn, RiskList
from services.advisors.api.deps import AgreementsDep, CouncilsDep, RisksDep

router = APIRouter(tags=["batches"])
Ids = IdsIn


@router.post("/councils/batch")
async def councils_batch(
    body: Ids, p: PrincipalDep, councils: CouncilsDep
) -> CouncilList:
    """Several councils as ``GET /councils/{id}`` shows them, each with its
    recommendations (oldest first) as ``…/recommendations`` lists them."""
    return CouncilList(items=await councils.read_many_with_recommendations(p, body.ids))


@router.post("/risks/batch")
async def risks_batch(body: Ids, p: PrincipalDep, risks: RisksDep) -> RiskList:
    """Several risks, each as ``GET /risks/{id}`` shows it."""
    return RiskList(items=await risks.get_many(p, body.ids))


@router.post("/agreements/batch")
async def agreements_batch(
    body: Ids, p: PrincipalDep, agreements: AgreementsDep
) -> AgreementList:
    """Several agreements as ``GET /agreements/{id}`` shows them, each with this
    month's usage as ``…/usage`` reports it."""
    today = datetime.now(UTC).date()
    return AgreementList(
        items=await agreements.read_many_with_usage(p, body.ids, today)
    )
