"""Batched reads from the sessions service: one upstream call per kind and tick.

By-id loaders answer ``None`` for an id the caller may not see; by-relationship
loaders answer a list per relationship (empty when it is not visible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.types import Info

from gateway.context import ById, Grouped, ctx

SERVICE = "sessions"


def _by_id(info: Info, path: str, id_field: str) -> ById:
    return ctx(info).by_id(SERVICE, path, id_field)


def _by_relationship(
    info: Info, path: str, extra: dict[str, Any] | None = None
) -> Grouped:
    c = ctx(info)

    async def batch(relationship_ids: Sequence[str]) -> list[list[dict[str, Any]]]:
        body = await c.caller.post(
            SERVICE,
            path,
            {"relationship_ids": list(relationship_ids), **(extra or {})},
        )
        groups: dict[str, list[dict[str, Any]]] = {r: [] for r in relationship_ids}
        for item in body.get("items", []):
            groups.setdefault(item["relationship_id"], []).append(item)
        return [groups[r] for r in relationship_ids]

    return c.loader((SERVICE, path, tuple(sorted((extra or {}).items()))), batch)


def relationships(info: Info) -> ById:
    """Relationship by id (with its contract and cadence adherence)."""
    return _by_id(info, "/relationships/batch", "relationship_id")


def sessions(info: Info) -> ById:
    """Session by id (its agenda for the pair)."""
    return _by_id(info, "/sessions/batch", "session_id")


def milestones(info: Info) -> ById:
    """Milestone by id."""
    return _by_id(info, "/milestones/batch", "id")


def sessions_of(info: Info) -> Grouped:
    """The sessions of a relationship, in time order."""
    return _by_relationship(info, "/sessions/batch-by-relationship")


def items_of(info: Info, kind: str) -> Grouped:
    """Milestones, check-ins or rotations of a relationship."""
    return _by_relationship(
        info, "/development-items/batch-by-relationship", {"kind": kind}
    )


def notes_of(info: Info) -> Grouped:
    """The notes of a relationship as the caller may see them."""
    return _by_relationship(info, "/notes/batch-by-relationship")


def feedback_of(info: Info) -> Grouped:
    """The feedback of a relationship as the caller may see it."""
    return _by_relationship(info, "/feedback/batch-by-relationship")
