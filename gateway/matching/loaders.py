"""Batched reads from the matching service, one upstream call per tick, each answer
read through its model (``contracts.api.matching``)."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import matching as api
from gateway.answers import read
from gateway.context import ctx


def pairings(info: Info) -> DataLoader[str, api.PairingView | None]:
    """Pairing (as the caller may see it) by id; ``None`` when not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[api.PairingView | None]:
        body = read(
            api.PairingBatch,
            await c.caller.post("matching", "/pairings/batch", {"ids": list(ids)}),
            "matching",
        )
        found = {p.pairing_id: p for p in body.items}
        return [found.get(i) for i in ids]

    return c.loader("matching.pairings", batch)


def rounds(info: Info) -> DataLoader[str, api.RoundView | None]:
    """Matching round by id; ``None`` when unknown or not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[api.RoundView | None]:
        body = read(
            api.RoundBatch,
            await c.caller.post("matching", "/rounds/batch", {"ids": list(ids)}),
            "matching",
        )
        found = {r.round_id: r for r in body.items}
        return [found.get(i) for i in ids]

    return c.loader("matching.rounds", batch)
