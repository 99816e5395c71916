"""Batched reads from the profiles service, one upstream call per tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.context import ctx


def people(info: Info) -> DataLoader:
    """Person (as the caller may see them) by id; ``None`` when not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("profiles", "/people/batch", {"ids": list(ids)})
        found = {p["person_id"]: p for p in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("profiles.people", batch)
