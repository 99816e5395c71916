"""Batched reads from the matching service, one upstream call per tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.context import ctx


def pairings(info: Info) -> DataLoader:
    """Pairing (as the caller may see it) by id; ``None`` when not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("matching", "/pairings/batch", {"ids": list(ids)})
        found = {p["pairing_id"]: p for p in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("matching.pairings", batch)


def rounds(info: Info) -> DataLoader:
    """Matching round by id; ``None`` when unknown or not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("matching", "/rounds/batch", {"ids": list(ids)})
        found = {r["round_id"]: r for r in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("matching.rounds", batch)
