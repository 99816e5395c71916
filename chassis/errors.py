"""Typed errors shared by every service.

Domain code raises these (or subclasses of them); the HTTP layer maps each to an
RFC 9457 problem document once; the gateway maps the same ``code`` to a typed
GraphQL error. Nothing here imports a framework, so domain modules may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: a dotted path into the request and what is wrong."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class TandemError(Exception):
    """Base of every error Tandem reports to a caller on purpose.

    ``code`` is the stable machine-readable name (also the GraphQL error type);
    ``status`` the HTTP status it maps to; ``title`` a short human summary.
    """

    code: ClassVar[str] = "TandemError"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request could not be processed"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """RFC 9457 members of this error (the HTTP layer adds ``instance``)."""
        body: dict[str, Any] = {
            "type": f"urn:tandem:error:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        body.update(self.extra)
        return body


class DomainError(TandemError):
    """A business rule refused the command (422 unless a subclass says otherwise)."""

    code = "DomainError"
    status = 422
    title = "Business rule violated"


class ValidationFailed(TandemError):
    """The input does not have the required shape; lists every bad field."""

    code = "ValidationError"
    status = 422
    title = "Invalid input"

    def __init__(self, errors: list[FieldError], detail: str = "") -> None:
        summary = detail or "; ".join(f"{e.path}: {e.message}" for e in errors)
        super().__init__(summary, errors=[e.as_dict() for e in errors])
        self.errors = errors


class NotFound(TandemError):
    code = "NotFound"
    status = 404
    title = "Not found"


class ConcurrencyConflict(TandemError):
    """A writer appended on a stale version of a stream; nothing was written."""

    code = "ConcurrencyConflict"
    status = 409
    title = "Concurrent modification"

    def __init__(
        self, stream_id: str, expected_version: int, actual_version: int | None = None
    ) -> None:
        detail = f"stream {stream_id} is not at version {expected_version}"
        if actual_version is not None:
            detail += f" (it is at {actual_version})"
        super().__init__(
            detail,
            stream_id=stream_id,
            expected_version=expected_version,
            actual_version=actual_version,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class Conflict(TandemError):
    """The request clashes with the current state (duplicate, already done, …)."""

    code = "Conflict"
    status = 409
    title = "Conflict with current state"


class Unauthenticated(TandemError):
    code = "Unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(TandemError):
    code = "Forbidden"
    status = 403
    title = "Not allowed"


class PersonGone(TandemError):
    """The person was erased: nothing about them can be read or changed."""

    code = "PersonErased"
    status = 410
    title = "Person erased"


class ServiceUnavailable(TandemError):
    """A dependency (database, broker) is down; the caller may retry later."""

    code = "ServiceUnavailable"
    status = 503
    title = "Service temporarily unavailable"

    def __init__(self, detail: str = "", retry_after_s: int = 5) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


@dataclass
class ErrorCatalogue:
    """The error classes a service can raise, so documentation can list them."""

    classes: list[type[TandemError]] = field(default_factory=list)

    def register(self, cls: type[TandemError]) -> type[TandemError]:
        self.classes.append(cls)
        return cls


class PayloadTooLarge(TandemError):
    """The request body is larger than this endpoint accepts; nothing was read."""

    code = "PayloadTooLarge"
    status = 413
    title = "Request body too large"
