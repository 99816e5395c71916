"""Batched reads from the sessions service: one upstream call per kind and tick.

Each answer is read once through its response model (``contracts.api.sessions``),
so the loaders hand out models, not dicts. By-id loaders answer ``None`` for an id
the caller may not see; by-relationship loaders answer a list per relationship
(empty when it is not visible).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import sessions as api
from gateway.answers import read
from gateway.context import ctx

SERVICE = "sessions"

Item = TypeVar("Item")
Answer = TypeVar("Answer", bound=BaseModel)


def _by_id(
    info: Info,
    path: str,
    answer: type[Answer],
    items: Callable[[Answer], Sequence[Item]],
    key: Callable[[Item], str],
) -> DataLoader[str, Item | None]:
    """The loader over ``POST path {"ids": [...]}`` answering ``answer``."""
    return ctx(info).by_id(SERVICE, path, answer, items, key)


def _by_relationship(
    info: Info,
    path: str,
    answer: type[Answer],
    items: Callable[[Answer], Sequence[Item]],
    relationship: Callable[[Item], str | None],
    extra: dict[str, Any] | None = None,
) -> DataLoader[str, list[Item]]:
    c = ctx(info)

    async def batch(relationship_ids: Sequence[str]) -> list[list[Item]]:
        body = read(
            answer,
            await c.caller.read_batch(
                SERVICE,
                path,
                {"relationship_ids": list(relationship_ids), **(extra or {})},
            ),
            SERVICE,
        )
        groups: dict[str, list[Item]] = {r: [] for r in relationship_ids}
        for item in items(body):
            rid = relationship(item)
            if rid in groups:
                groups[rid].append(item)
        return [groups[r] for r in relationship_ids]

    return c.loader(
        (SERVICE, "model", path, tuple(sorted((extra or {}).items()))), batch
    )


def relationships(info: Info) -> DataLoader[str, api.Relationship | None]:
    """Relationship by id (with its contract and cadence adherence)."""
    return _by_id(
        info,
        "/relationships/batch",
        api.Relationships,
        lambda b: b.items,
        lambda r: r.relationship_id,
    )


def sessions(info: Info) -> DataLoader[str, api.Session | None]:
    """Session by id (its agenda for the pair)."""
    return _by_id(
        info, "/sessions/batch", api.Sessions, lambda b: b.items, lambda s: s.session_id
    )


def milestones(info: Info) -> DataLoader[str, api.DevelopmentItem | None]:
    """Milestone by id."""
    return _by_id(
        info,
        "/milestones/batch",
        api.DevelopmentItems,
        lambda b: b.items,
        lambda m: m.id,
    )


def sessions_of(info: Info) -> DataLoader[str, list[api.Session]]:
    """The sessions of a relationship, in time order."""
    return _by_relationship(
        info,
        "/sessions/batch-by-relationship",
        api.Sessions,
        lambda b: b.items,
        lambda s: s.relationship_id,
    )


def items_of(
    info: Info, kind: api.BatchItemKind
) -> DataLoader[str, list[api.DevelopmentItem]]:
    """Milestones, check-ins or rotations of a relationship."""
    return _by_relationship(
        info,
        "/development-items/batch-by-relationship",
        api.DevelopmentItems,
        lambda b: b.items,
        lambda i: i.relationship_id,
        {"kind": kind.value},
    )


def notes_of(info: Info) -> DataLoader[str, list[api.Note]]:
    """The notes of a relationship as the caller may see them."""
    return _by_relationship(
        info,
        "/notes/batch-by-relationship",
        api.Notes,
        lambda b: b.items,
        lambda n: n.relationship_id,
    )


def feedback_of(info: Info) -> DataLoader[str, list[api.Feedback]]:
    """The feedback of a relationship as the caller may see it (each item of the
    batch read names its relationship)."""
    return _by_relationship(
        info,
        "/feedback/batch-by-relationship",
        api.FeedbackItems,
        lambda b: b.items,
        lambda f: f.relationship_id,
    )
