"""Batched reads from the matching service, one upstream call per tick, each answer
read through its model (``contracts.api.matching``)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import matching as api
from gateway.context import ctx


def pairings(info: Info) -> DataLoader[str, api.PairingView | None]:
    """Pairing (as the caller may see it) by id; ``None`` when not visible."""
    return ctx(info).by_id(
        "matching",
        "/pairings/batch",
        api.PairingBatch,
        lambda b: b.items,
        lambda p: p.pairing_id,
    )


def rounds(info: Info) -> DataLoader[str, api.RoundView | None]:
    """Matching round by id; ``None`` when unknown or not visible."""
    return ctx(info).by_id(
        "matching",
        "/rounds/batch",
        api.RoundBatch,
        lambda b: b.items,
        lambda r: r.round_id,
    )
