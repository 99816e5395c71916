"""Batched reads from the matching service, one upstream call per tick."""

from __future__ import annotations

from strawberry.types import Info

from gateway.context import ById, ctx


def pairings(info: Info) -> ById:
    """Pairing (as the caller may see it) by id; ``None`` when not visible."""
    return ctx(info).by_id("matching", "/pairings/batch", "pairing_id")


def rounds(info: Info) -> ById:
    """Matching round by id; ``None`` when unknown or not visible."""
    return ctx(info).by_id("matching", "/rounds/batch", "round_id")
