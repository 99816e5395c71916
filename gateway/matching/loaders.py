"""Batched reads from the matching service, one upstream call per tick."""

from __future__ import annotations

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.context import ctx


def pairings(info: Info) -> DataLoader:
    """Pairing (as the caller may see it) by id; ``None`` when not visible."""
    return ctx(info).by_id("matching", "/pairings/batch", "pairing_id")


def rounds(info: Info) -> DataLoader:
    """Matching round by id; ``None`` when unknown or not visible."""
    return ctx(info).by_id("matching", "/rounds/batch", "round_id")
