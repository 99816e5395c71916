"""Schema extensions: service errors as GraphQL errors, and upstream call counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import query_error
from gateway.upstream import UpstreamError


class UpstreamErrors(SchemaExtension):
    """A service's refusal in a query field keeps its ``code`` (and the service).

    The field becomes ``null`` with an error carrying ``extensions.code``; every
    other field of the query is still answered.
    """

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        fixed: list[GraphQLError] = []
        for err in result.errors:
            original = err.original_error
            if isinstance(original, UpstreamError):
                mapped = query_error(original)
                fixed.append(
                    GraphQLError(
                        mapped.message,
                        nodes=err.nodes,
                        path=err.path,
                        original_error=original,
                        extensions=mapped.extensions,
                    )
                )
            elif isinstance(original, GraphQLError) and original.extensions:
                fixed.append(
                    GraphQLError(
                        original.message,
                        nodes=err.nodes,
                        path=err.path,
                        original_error=original,
                        extensions=original.extensions,
                    )
                )
            else:
                fixed.append(err)
        result.errors = fixed


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
