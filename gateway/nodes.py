"""Relay nodes resolved in batches: one typed ``resolve_nodes`` for every node type.

A node type lists :class:`BatchedNode` before ``relay.Node`` and says how to load
its objects by local id (``load_nodes``, usually through a dataloader); ``node(id:)``
and ``nodes(ids:)`` then resolve it with Strawberry's contract: ``None`` for an object
that does not exist or is not visible, an error instead when every id is required.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Self, overload

from graphql import GraphQLError
from strawberry.types import Info


class BatchedNode:
    """Mixin of a ``relay.Node`` type that loads its objects in batches."""

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> Sequence[Self | None]:
        """The objects with these local ids, in order (``None`` when not found)."""
        raise NotImplementedError

    @overload
    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: Literal[True]
    ) -> Sequence[Self]: ...

    @overload
    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: Literal[False] = ...
    ) -> Sequence[Self | None]: ...

    @overload
    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool
    ) -> Sequence[Self] | Sequence[Self | None]: ...

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> Sequence[Self] | Sequence[Self | None]:
        found = await cls.load_nodes(info, list(node_ids))
        if not required:
            return found
        present = [node for node in found if node is not None]
        if len(present) < len(found):
            raise GraphQLError(
                f"{cls.__name__} not found", extensions={"code": "NotFound"}
            )
        return present


async def get_each(
    info: Info, service: str, template: str, node_ids: list[str]
) -> list[dict[str, Any] | None]:
    """One ``GET template`` per id (``{id}`` in the template), ``None`` when the
    service answers that the object does not exist or is not visible.

    For node types whose service reads them one by one (no batch route).
    """
    from gateway.context import ctx
    from gateway.upstream import UpstreamError, upstream_path

    caller = ctx(info).caller

    async def one(node_id: str) -> dict[str, Any] | None:
        try:
            body = await caller.get(service, upstream_path(template, id=node_id))
        except UpstreamError as exc:
            if exc.status in (403, 404, 410):
                return None
            raise
        return body if isinstance(body, dict) else None

    return list(await asyncio.gather(*(one(i) for i in node_ids)))
