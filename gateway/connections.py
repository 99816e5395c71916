"""Relay-style connections over the services' pages.

The services page with an opaque ``after`` token and answer ``{"items": [...],
"next": token | null}``. A GraphQL cursor here is the upstream token of the page an
item came from plus the item's position in it, so every edge has a cursor a client
can resume from, whatever the service's own token looks like. Lists a service
returns whole are sliced the same way (the upstream token is then ``None``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from graphql import GraphQLError
from strawberry import relay

T = TypeVar("T")
Item = TypeVar("Item")


if TYPE_CHECKING:

    class Connection(relay.Connection[Any], Generic[T]):
        """``relay.Connection`` as mypy checks it: a page of any object type.

        Strawberry bounds the connection's type variable to ``relay.Node``, yet
        pages any object type at run time, and the schema has connections of types
        that are no ``Node`` (``NoteConnection``, ``FeedbackConnection`` …). This
        view lifts the bound; at run time the name is ``relay.Connection`` itself, so
        the schema is the same.
        """

else:
    Connection = relay.Connection

DEFAULT_PAGE = 20


def encode_cursor(upstream: str | None, skip: int) -> str:
    return _cursor(_cursor_head(upstream), skip)


def _cursor_head(upstream: str | None) -> str:
    # ``json.dumps({"a": upstream, "s": skip}, separators=(",", ":"))`` up to the
    # skip, written once per page rather than once per edge.
    return '{"a":' + json.dumps(upstream) + ',"s":'


def _cursor(head: str, skip: int) -> str:
    raw = f"{head}{skip}}}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str | None, int]:
    """``(upstream token, items to skip)``; a malformed cursor is a clear error."""
    if not cursor:
        return None, 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        upstream, skip = data["a"], int(data["s"])
        if skip < 0 or (upstream is not None and not isinstance(upstream, str)):
            raise ValueError
        return upstream, skip
    except (ValueError, KeyError, TypeError):
        raise GraphQLError(
            "`after` is not a cursor this API returned",
            extensions={"code": "ValidationError", "path": "after"},
        ) from None


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > maximum:
        raise GraphQLError(
            f"`first` must be between 0 and {maximum}",
            extensions={"code": "ValidationError", "path": "first"},
        )
    return first


def connection(
    items: Sequence[Item],
    make: Callable[[Item], T],
    *,
    upstream: str | None,
    skip: int,
    first: int,
    upstream_next: str | None = None,
) -> Connection[T]:
    """Edges ``items[skip:skip+first]`` of one upstream page (or a whole list)."""
    window = list(items[skip : skip + first])
    edges: list[relay.Edge[Any]] = []
    head = _cursor_head(upstream)
    for offset, item in enumerate(window, start=skip + 1):
        if offset == len(items) and upstream_next is not None:
            cursor = encode_cursor(upstream_next, 0)
        else:
            cursor = _cursor(head, offset)
        edges.append(relay.Edge(cursor=cursor, node=make(item)))
    has_next = len(items) > skip + first or (
        upstream_next is not None and len(window) == first
    )
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=skip > 0 or upstream is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def from_list(
    items: Sequence[Item],
    make: Callable[[Item], T],
    first: int | None,
    after: str | None,
    maximum: int = 100,
) -> Connection[T]:
    """A connection over a list already in hand (no upstream paging)."""
    _, skip = decode_cursor(after)
    return connection(
        items, make, upstream=None, skip=skip, first=page_size(first, maximum)
    )


async def from_pages(
    fetch: Callable[[str | None, int], Awaitable[tuple[Sequence[Item], str | None]]],
    make: Callable[[Item], T],
    first: int | None,
    after: str | None,
    maximum: int = 100,
    *,
    upstream_limit: int = 500,
) -> Connection[T]:
    """A connection over an upstream paged list read as models.

    ``fetch(upstream_after, limit)`` answers one page's items and the service's
    cursor of the next page (None at the end); ``upstream_limit`` is the largest
    page the service serves.
    """
    upstream, skip = decode_cursor(after)
    size = page_size(first, maximum)
    items, upstream_next = await fetch(
        upstream, min(max(skip + size, 1), upstream_limit)
    )
    return connection(
        items,
        make,
        upstream=upstream,
        skip=skip,
        first=size,
        upstream_next=upstream_next,
    )


__all__ = [
    "Connection",
    "connection",
    "decode_cursor",
    "encode_cursor",
    "from_list",
    "from_pages",
]
