"""Typed errors as data: what a mutation can answer instead of its success payload.

Every mutation returns a union of its payload and the errors that can happen, each a
type implementing ``Error``; clients switch on ``__typename``. A service's problem
``code`` is mapped here once (CONVENTIONS.md): specific codes to their own type
(``NotEligible``, ``CapacityExceeded`` …), the rest by HTTP status (404 → ``NotFound``,
403 → ``Forbidden``, 409 → ``Conflict``, 422 → ``RuleViolation``), always keeping the
service's ``code`` and message so nothing is lost in translation. Query fields raise
instead (a GraphQL error with ``extensions.code``), leaving the rest of the query
answered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeAlias

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    get_named_type,
)

from gateway.upstream import ServiceDown, UpstreamError


@strawberry.interface(description="Something the request could not do, as data.")
class Error:
    code: str = strawberry.field(
        description="Stable machine-readable name, e.g. `NotEligible`."
    )
    message: str = strawberry.field(description="What went wrong, for a person.")


@strawberry.type(description="One invalid input field.")
class FieldProblem:
    path: str = strawberry.field(
        description="Dotted path of the field in the input, e.g. `input.email`."
    )
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(description="The input does not have the required shape.")
class ValidationError(Error):
    fields: list[FieldProblem] = strawberry.field(
        description="Every invalid field, with its path."
    )


@strawberry.type(description="The object does not exist, or is not visible to you.")
class NotFound(Error):
    pass


@strawberry.type(description="You may not do this with your roles or relationship.")
class Forbidden(Error):
    pass


@strawberry.type(
    description="Someone changed the object since you read it; reload and retry."
)
class ConcurrencyConflict(Error):
    pass


@strawberry.type(description="The object is not in a state that allows this.")
class Conflict(Error):
    pass


@strawberry.type(description="The person does not meet the eligibility rules.")
class NotEligible(Error):
    pass


@strawberry.type(description="The mentor (or advisor) has no capacity left.")
class CapacityExceeded(Error):
    pass


@strawberry.type(description="A business rule refused the command; `code` says which.")
class RuleViolation(Error):
    pass


@strawberry.type(description="A service is down or slow; retry later.")
class ServiceUnavailable(Error):
    service: str = strawberry.field(description="Which service could not answer.")
    retry_after_seconds: int = strawberry.field(
        description="How long to wait before retrying."
    )


# The errors every mutation may answer; mutations add their specific ones.
COMMON = (
    ValidationError,
    NotFound,
    Forbidden,
    ConcurrencyConflict,
    Conflict,
    RuleViolation,
    ServiceUnavailable,
)
_BY_CODE: dict[str, type[Error]] = {
    "ValidationError": ValidationError,
    "NotEligible": NotEligible,
    "CapacityExceeded": CapacityExceeded,
    "ConcurrencyConflict": ConcurrencyConflict,
}
_BY_STATUS: dict[int, type[Error]] = {
    400: ValidationError,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    412: ConcurrencyConflict,
    422: RuleViolation,
}


# The same errors as a type: a mutation's result is
# ``Annotated[ItsSuccess | specific errors | CommonErrors, strawberry.union("Name")]``.
CommonErrors: TypeAlias = (
    ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | Conflict
    | RuleViolation
    | ServiceUnavailable
)


def error_data(exc: UpstreamError, allowed: tuple[type[Error], ...] = COMMON) -> Error:
    """The typed error object for ``exc``; raises when no allowed type fits."""
    if isinstance(exc, ServiceDown):
        return ServiceUnavailable(
            code=exc.code,
            message=exc.message,
            service=exc.service,
            retry_after_seconds=int(exc.extra.get("retry_after_s", 5)),
        )
    cls = _BY_CODE.get(exc.code) or _BY_STATUS.get(exc.status)
    if cls is None or cls not in allowed:
        cls = RuleViolation if exc.status < 500 else None
    if cls is None or cls not in allowed:
        raise query_error(exc)
    if cls is ValidationError:
        return ValidationError(
            code="ValidationError",
            message=exc.message,
            fields=[
                FieldProblem(path=_input_path(f.get("path", "")), message=f["message"])
                for f in exc.fields
            ]
            or [FieldProblem(path="input", message=exc.message)],
        )
    return cls(code=exc.code, message=exc.message)


_SNAKE = re.compile(
    r"\b(?:body\.)?[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z][a-z0-9_]*)*\b"
)
_ORIGINS = ("body", "query", "path", "input")

# Where a mutation's input names a field differently from the service's request:
# the service's field (camelCase) -> the input field the client sent.
PATH_ALIASES: dict[str, dict[str, str]] = {
    "giveFeedback": {"sessionId": "subjectId", "milestoneId": "subjectId"},
}


def _input_path(path: str) -> str:
    # FastAPI reports body fields as "body.max_mentees"; the GraphQL client sent
    # "input.maxMentees". The path is checked against the input type afterwards
    # (:func:`graphql_paths`), which knows where the field really is.
    parts = [p for p in path.split(".") if p]
    if parts and parts[0] in _ORIGINS:
        parts = parts[1:]
    return ".".join(["input", *(_camel(p) for p in parts)])


def _camel(name: str) -> str:
    if name.isdigit():
        return name
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _fields_of(input_type: Any) -> dict[str, Any]:
    named = get_named_type(input_type)
    return dict(named.fields) if isinstance(named, GraphQLInputObjectType) else {}


def _resolves(input_type: Any, segments: list[str]) -> bool:
    current = input_type
    for segment in segments:
        while isinstance(current, GraphQLNonNull):
            current = current.of_type
        if isinstance(current, GraphQLList):
            if not segment.isdigit():
                return False
            current = current.of_type
            continue
        fields = _fields_of(current)
        if segment not in fields:
            return False
        current = fields[segment].type
    return True


def _leaves(input_type: Any, prefix: tuple[str, ...] = (), depth: int = 0) -> Any:
    """Every field path of an input type (a few levels deep)."""
    if depth > 4:
        return
    for name, field in _fields_of(input_type).items():
        yield (*prefix, name)
        yield from _leaves(field.type, (*prefix, name), depth + 1)


def graphql_path(path: str, input_type: Any, aliases: Mapping[str, str]) -> str:
    """``path`` (``input.…`` from a service's field) as a path of ``input_type``.

    Kept when it names a field of the input; else the one field of the input with
    the same name (or its alias) wherever it is nested (``input.geography`` ->
    ``input.details.geography``); else ``input`` itself.
    """
    segments = path.split(".")[1:]
    if _resolves(input_type, segments):
        return path
    if segments:
        leaf = aliases.get(segments[-1], segments[-1])
        found = [p for p in _leaves(input_type) if p[-1] == leaf]
        if len(found) == 1:
            return ".".join(["input", *found[0]])
        if len(found) > 1 and len(segments) > 1:
            parent = aliases.get(segments[-2], segments[-2])
            near = [p for p in found if len(p) > 1 and p[-2] == parent]
            if len(near) == 1:
                return ".".join(["input", *near[0]])
    return "input"


def _readable(
    message: str, names: set[str], values: frozenset[str] | set[str] = frozenset()
) -> str:
    """``message`` with the service's snake_case field names in GraphQL's words."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        parts = [p for p in token.split(".") if p]
        if parts and parts[0] in _ORIGINS:
            parts = parts[1:]
        camel = [_camel(p) for p in parts]
        if camel and (camel[-1] in names or token.startswith("body.")):
            return ".".join(camel)
        if token.upper() in values:
            return token.upper()
        return token.replace("_", " ") if len(parts) == 1 else token

    return _SNAKE.sub(swap, message)


def graphql_paths(error: Error, field: GraphQLField, mutation: str) -> None:
    """Rewrite ``error`` (from a service) in the names of the mutation's input."""
    arg = field.args.get("input")
    if arg is None:
        return
    names: set[str] = set()
    values: set[str] = set()
    for leaf in _leaves(arg.type):
        names.add(leaf[-1])
    for enum_type in _enums(arg.type):
        values.update(enum_type.values)
    aliases = PATH_ALIASES.get(mutation, {})
    problems: list[FieldProblem] = getattr(error, "fields", None) or []
    for problem in problems:
        problem.path = graphql_path(problem.path, arg.type, aliases)
        problem.message = _readable(problem.message, names, values)
    if isinstance(error, ValidationError) and error.code == "ValidationError":
        error.message = "; ".join(f"{f.path}: {f.message}" for f in problems)
    else:
        error.message = _readable(error.message, names, values)


def _enums(input_type: Any, depth: int = 0) -> Any:
    for field in _fields_of(input_type).values():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLEnumType):
            yield named
        elif depth < 4:
            yield from _enums(named, depth + 1)


def invalid(path: str, message: str) -> ValidationError:
    """A validation error found by the gateway itself (before any call)."""
    return ValidationError(
        code="ValidationError",
        message=f"{path}: {message}",
        fields=[FieldProblem(path=path, message=message)],
    )


def query_error(exc: UpstreamError) -> GraphQLError:
    """A GraphQL error for a query field, carrying the service's code."""
    extensions: dict[str, Any] = {"code": exc.code, "service": exc.service}
    if isinstance(exc, ServiceDown):
        extensions["retryAfterSeconds"] = exc.extra.get("retry_after_s", 5)
    return GraphQLError(exc.message, extensions=extensions)
