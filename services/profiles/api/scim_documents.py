"""The SCIM documents of the Users endpoint: request bodies read; User resources,
list responses, ETags and error bodies written."""

from __future__ import annotations

import json
from typing import Any

from scim2_models import Context, Error

from chassis.errors import (
    ConcurrencyConflict,
    Conflict,
    DomainError,
    TandemError,
    ValidationFailed,
)
from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.mapping import DETAIL_PATHS
from services.profiles.application.scim.protocol import LIST_RESPONSE
from services.profiles.application.scim.resources import dump_user, user_model
from services.profiles.application.scim.users import etag
from services.profiles.domain.errors import PersonGone


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, or ``invalidSyntax``."""
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise ScimError(400, "invalidSyntax", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "the body must be a JSON object")
    return body


def user_resource(row: Any, base: str, params: Any = None) -> dict[str, Any]:
    """The SCIM User of a ``people`` row, projected by ``params`` (RFC 7644
    §3.4.2.5); ``base`` is the absolute ``…/scim/v2`` the request came through."""
    return dump_user(user_model(row, base, etag(row)), params)


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def error_document(error: TandemError) -> tuple[int, dict[str, Any]]:
    """HTTP status and RFC 7644 §3.12 error body for any Tandem error."""
    status, scim_type, detail = error.status, None, error.detail
    if isinstance(error, ScimError):
        status, scim_type = error.scim_status, error.scim_type
    elif isinstance(error, ValidationFailed):
        status, scim_type = 400, "invalidValue"
        detail = "; ".join(
            f"{DETAIL_PATHS.get(e.path, e.path)}: {e.message}" for e in error.errors
        )
    elif isinstance(error, ConcurrencyConflict):
        status = 409  # a concurrent writer won; the client may retry
    elif isinstance(error, Conflict):
        scim_type = "uniqueness"
    elif isinstance(error, PersonGone):
        status = 404
    elif isinstance(error, DomainError):
        status = 400
    return status, scim_error(status, scim_type, detail)


def scim_error(status: int, scim_type: str | None, detail: str) -> dict[str, Any]:
    """An RFC 7644 §3.12 error body (scim2-models' ``Error``)."""
    error = Error(status=status, scim_type=scim_type or None, detail=detail)
    return error.model_dump(scim_ctx=Context.DEFAULT)
