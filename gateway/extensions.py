"""Schema extensions: every error typed, internal errors masked; upstream call counts.

Every error of a response carries ``extensions.code``, so a client can switch on it:

- a service's refusal in a query field keeps the service's ``code`` (and names the
  service); the field becomes ``null`` and the rest of the query is still answered;
- an error the gateway raised on purpose keeps its code (``InvalidId``,
  ``Unauthenticated``, ``QueryTooExpensive`` …);
- a document that does not parse or validate is ``InvalidQuery`` (with a more
  precise code for the limits: ``QueryTooDeep``, ``TooManyAliases``,
  ``TooManyTokens``), a variable of the wrong type is a ``ValidationError``;
- anything else is a bug: outside development it is masked as ``InternalError``
  with the request id, and its text goes to the log only.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
)
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from gateway.errors import Error, graphql_paths, query_error
from gateway.upstream import UpstreamError

log = logging.getLogger(__name__)

# graphql-core and Strawberry's own limit errors carry no code: name them by message.
_LIMIT_CODES = (
    ("exceeds maximum operation depth", "QueryTooDeep"),
    ("aliases found", "TooManyAliases"),
    ("tokens. Parsing aborted", "TooManyTokens"),
)


def typed_error(
    err: GraphQLError, request_id: str | None, reveal: bool
) -> GraphQLError:
    """``err`` with an ``extensions.code``; an unexpected exception masked."""
    original = err.original_error
    if isinstance(original, UpstreamError):
        mapped = query_error(original)
        extensions = dict(mapped.extensions or {})
        if extensions.get("code") == "InternalError" and request_id:
            # A service's failure: the id an operator finds it by in the logs.
            extensions.setdefault("requestId", request_id)
        return _with(err, mapped.message, extensions)
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return _with(err, original.message, original.extensions)
    if (err.extensions or {}).get("code"):
        return err
    if isinstance(original, GlobalIDValueError):
        return _with(
            err,
            "the id is not a valid global id",
            {"code": "InvalidId", "expectedType": "Node"},
        )
    if err.path is None and (original is None or isinstance(original, GraphQLError)):
        # parsing, validation, variable coercion: the document or its values
        return _with(err, err.message, {"code": _pre_execution_code(err.message)})
    log.error(
        "unexpected error in GraphQL operation (request %s) at %s",
        request_id,
        err.path,
        exc_info=original if isinstance(original, BaseException) else None,
    )
    message = (
        err.message
        if reveal
        else "an unexpected error occurred; quote the request id when reporting it"
    )
    return _with(err, message, {"code": "InternalError", "requestId": request_id})


def _pre_execution_code(message: str) -> str:
    if message.startswith("Variable '$"):
        return "ValidationError"
    for fragment, code in _LIMIT_CODES:
        if fragment in message:
            return code
    return "InvalidQuery"


def _with(
    err: GraphQLError, message: str, extensions: Mapping[str, Any] | None
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=err.nodes,
        source=err.source,
        positions=err.positions,
        path=err.path,
        original_error=err.original_error,
        extensions=dict(extensions or {}),
    )


class TypedErrors(SchemaExtension):
    """Applies :func:`typed_error` to every error of the operation."""

    def __init__(self, *, reveal_internal_errors: bool = False) -> None:
        self.reveal = reveal_internal_errors

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [typed_error(e, request_id, self.reveal) for e in result.errors]


class UpstreamCalls(SchemaExtension):
    """``extensions.upstreamCalls``: how many service calls the operation made."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        caller = getattr(context, "_caller", None)
        if caller is None:
            return {}
        return {
            "upstreamCalls": caller.calls,
            "upstreamCallsByService": dict(caller.calls_by_service),
        }


def input_paths(schema: GraphQLSchema) -> None:
    """A mutation's typed errors speak the names of its input.

    A service reports a bad field by its own path (``body.max_mentees``,
    ``details.geography``); the mutation's answer names the input field the client
    sent (``input.maxMentees``, ``input.details.geography``), checked against the
    mutation's input type, and its message loses the service's snake_case names.

    Each mutation field's resolver is wrapped once, here (a schema extension's
    ``resolve`` would run for every field of every query).
    """
    mutation = schema.mutation_type
    if mutation is None:
        return
    for name, field in mutation.fields.items():
        field.resolve = _rewriting(field.resolve or default_field_resolver, field, name)


def _rewriting(
    resolve: Callable[..., Any], field: GraphQLField, name: str
) -> Callable[..., Any]:
    def resolver(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        result = resolve(root, info, **kwargs)

        async def rewritten() -> Any:
            value = await result if inspect.isawaitable(result) else result
            if isinstance(value, Error):
                graphql_paths(value, field, name)
            return value

        return rewritten()

    return resolver
