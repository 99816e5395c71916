"""Batched reads from the advisors service: one upstream call per kind and tick.

Each loader reads the service's answer through its model (``contracts.api.advisors``)
and loads models: an answer that does not fit is an ``InternalError`` for every key
of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import advisors as api
from gateway.answers import read
from gateway.context import ctx

SERVICE = "advisors"


def advisors(info: Info) -> DataLoader[str, api.AdvisorView | None]:
    """Advisor by id (personal fields as the caller may see them)."""
    return ctx(info).by_id(
        SERVICE,
        "/advisors/batch",
        api.AdvisorList,
        lambda b: b.items,
        lambda a: a.advisor_id,
    )


def agreements(info: Info) -> DataLoader[str, api.AgreementWithUsage | None]:
    """Agreement by id, with this month's usage."""
    return ctx(info).by_id(
        SERVICE,
        "/agreements/batch",
        api.AgreementList,
        lambda b: b.items,
        lambda a: a.agreement_id,
    )


def councils(info: Info) -> DataLoader[str, api.CouncilWithRecommendations | None]:
    """Council by id, with its recommendations."""
    return ctx(info).by_id(
        SERVICE,
        "/councils/batch",
        api.CouncilList,
        lambda b: b.items,
        lambda c: c.council_id,
    )


def risks(info: Info) -> DataLoader[str, api.RiskView | None]:
    """Risk by id."""
    return ctx(info).by_id(
        SERVICE, "/risks/batch", api.RiskList, lambda b: b.items, lambda r: r.risk_id
    )


def agreements_of(info: Info) -> DataLoader[str, list[api.AgreementSummary]]:
    """The agreements of an advisor: every agreement the caller may read, fetched
    once per request (``GET /agreements``) and grouped by advisor."""
    c = ctx(info)

    async def batch(advisor_ids: Sequence[str]) -> list[list[api.AgreementSummary]]:
        body = read(
            api.AgreementSummaries, await c.caller.get(SERVICE, "/agreements"), SERVICE
        )
        groups: dict[str, list[api.AgreementSummary]] = {a: [] for a in advisor_ids}
        for item in body.items:
            groups.setdefault(item.advisor_id, []).append(item)
        return [groups[a] for a in advisor_ids]

    return c.loader((SERVICE, "agreements-of"), batch)
