"""Batched reads from the advisors service: one upstream call per kind and tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.types import Info

from gateway.context import ById, Grouped, ctx

SERVICE = "advisors"


def _by_id(info: Info, path: str, id_field: str) -> ById:
    return ctx(info).by_id(SERVICE, path, id_field)


def advisors(info: Info) -> ById:
    """Advisor by id (personal fields as the caller may see them)."""
    return _by_id(info, "/advisors/batch", "advisor_id")


def agreements(info: Info) -> ById:
    """Agreement by id, with this month's usage."""
    return _by_id(info, "/agreements/batch", "agreement_id")


def councils(info: Info) -> ById:
    """Council by id, with its recommendations."""
    return _by_id(info, "/councils/batch", "council_id")


def risks(info: Info) -> ById:
    """Risk by id."""
    return _by_id(info, "/risks/batch", "risk_id")


def agreements_of(info: Info) -> Grouped:
    """The agreements of an advisor: every agreement the caller may read, fetched
    once per request (``GET /agreements``) and grouped by advisor."""
    c = ctx(info)

    async def batch(advisor_ids: Sequence[str]) -> list[list[dict[str, Any]]]:
        body = await c.caller.get(SERVICE, "/agreements")
        groups: dict[str, list[dict[str, Any]]] = {a: [] for a in advisor_ids}
        for item in body.get("items", []):
            groups.setdefault(item["advisor_id"], []).append(item)
        return [groups[a] for a in advisor_ids]

    return c.loader((SERVICE, "agreements-of"), batch)
