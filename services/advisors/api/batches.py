"""Batch reads for the gateway's DataLoaders: councils, risks and agreements by id,
each authorised exactly as its single-item route does it.

An id the caller may not see (another organisation's, or one their roles do not
reach) is left out of ``items``, answered like an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from chassis.auth.fastapi import PrincipalDep
from chassis.errors import Forbidden, NotFound
from chassis.inputs import Items as ListOf
from chassis.inputs import Ref, RequestBody
from services.advisors.api.agreements import agreement_view
from services.advisors.api.deps import AgreementsDep, CouncilsDep, RisksDep

router = APIRouter(tags=["batches"])


class Ids(RequestBody):
    ids: Annotated[ListOf[Ref], Field(max_length=200)] = Field(
        description="ids, at most 200"
    )


Items = dict[str, list[dict[str, Any]]]


async def _each(ids: list[str], read: Callable[[str], Awaitable[Any]]) -> list[Any]:
    found = []
    for item_id in dict.fromkeys(ids):
        try:
            found.append(await read(item_id))
        except (NotFound, Forbidden):
            continue
    return found


@router.post("/councils/batch")
async def councils_batch(body: Ids, p: PrincipalDep, councils: CouncilsDep) -> Items:
    """Several councils as ``GET /councils/{id}`` shows them, each with its
    recommendations (oldest first) as ``…/recommendations`` lists them."""

    async def read(council_id: str) -> dict[str, Any]:
        return await councils.read_with_recommendations(p, council_id)

    return {"items": await _each(body.ids, read)}


@router.post("/risks/batch")
async def risks_batch(body: Ids, p: PrincipalDep, risks: RisksDep) -> Items:
    """Several risks, each as ``GET /risks/{id}`` shows it."""
    return {"items": await _each(body.ids, lambda r: risks.get(p, r))}


@router.post("/agreements/batch")
async def agreements_batch(
    body: Ids, p: PrincipalDep, agreements: AgreementsDep
) -> Items:
    """Several agreements as ``GET /agreements/{id}`` shows them, each with this
    month's usage as ``…/usage`` reports it."""
    today = datetime.now(UTC).date()

    async def read(agreement_id: str) -> dict[str, Any]:
        agreement = await agreements.load(p, agreement_id)
        return agreement_view(agreement) | {"usage": agreement.usage(today)}

    return {"items": await _each(body.ids, read)}
