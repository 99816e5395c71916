"""Batched reads from the advisors service: one upstream call per kind and tick.

Each loader reads the service's answer through its model (``contracts.api.advisors``)
and loads models: an answer that does not fit is an ``InternalError`` for every key
of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import advisors as api
from gateway.answers import read
from gateway.context import ctx

SERVICE = "advisors"

M = TypeVar("M", bound=BaseModel)


def _by_id(
    info: Info,
    path: str,
    items: Callable[[object], Sequence[M]],
    key: Callable[[M], str],
) -> DataLoader[str, M | None]:
    """The loader over ``POST path {"ids": [...]}``: ``items`` reads the answer,
    ``key`` names each item's id; an id the service leaves out loads as ``None``."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[M | None]:
        answer = await c.caller.post(SERVICE, path, {"ids": list(ids)})
        found = {key(item): item for item in items(answer)}
        return [found.get(i) for i in ids]

    return c.loader((SERVICE, path, "typed"), batch)


def advisors(info: Info) -> DataLoader[str, api.AdvisorView | None]:
    """Advisor by id (personal fields as the caller may see them)."""
    return _by_id(
        info,
        "/advisors/batch",
        lambda answer: read(api.AdvisorList, answer, SERVICE).items,
        lambda a: a.advisor_id,
    )


def agreements(info: Info) -> DataLoader[str, api.AgreementWithUsage | None]:
    """Agreement by id, with this month's usage."""
    return _by_id(
        info,
        "/agreements/batch",
        lambda answer: read(api.AgreementList, answer, SERVICE).items,
        lambda a: a.agreement_id,
    )


def councils(info: Info) -> DataLoader[str, api.CouncilWithRecommendations | None]:
    """Council by id, with its recommendations."""
    return _by_id(
        info,
        "/councils/batch",
        lambda answer: read(api.CouncilList, answer, SERVICE).items,
        lambda c: c.council_id,
    )


def risks(info: Info) -> DataLoader[str, api.RiskView | None]:
    """Risk by id."""
    return _by_id(
        info,
        "/risks/batch",
        lambda answer: read(api.RiskList, answer, SERVICE).items,
        lambda r: r.risk_id,
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
