"""The one way a mutation turns a service call into its payload or a typed error."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError

from gateway.errors import COMMON, Error, FieldProblem, ValidationError, error_data
from gateway.upstream import UpstreamError

T = TypeVar("T")


async def run(
    call: Callable[[], Awaitable[T]],
    ok: Callable[[T], object],
    allowed: tuple[type[Error], ...] = COMMON,
) -> Any:
    """``ok(result of call)`` (awaited if a coroutine), or the typed error the service's refusal maps to.

    Answers ``Any``: which member of the mutation's result union comes back (what
    ``ok`` made, or one of ``allowed``) is decided at run time; the mutation's
    declared union is its static type.

    A malformed or wrong-type id in the input (found before any call) is a
    ``ValidationError`` too, with ``code: InvalidId`` and the path of the field; a
    value the gateway refuses itself (``InvalidInput``) likewise, with its path.
    """
    try:
        data = await call()
    except UpstreamError as exc:
        return error_data(exc, allowed)
    except GraphQLError as exc:
        ext = exc.extensions or {}
        if ext.get("code") in ("ValidationError", "InvalidId"):
            path = str(ext.get("path", "input"))
            return ValidationError(
                code=str(ext["code"]),
                message=exc.message,
                fields=[FieldProblem(path=path, message=exc.message)],
            )
        raise
    result = ok(data)
    return await result if inspect.isawaitable(result) else result
