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

from typing import Any, TypeAlias

import strawberry
from graphql import GraphQLError

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


def _input_path(path: str) -> str:
    # FastAPI reports body fields as "body.max_mentees"; the GraphQL client sent
    # "input.maxMentees".
    parts = [p for p in path.split(".") if p]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(["input", *(_camel(p) for p in parts)])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


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
