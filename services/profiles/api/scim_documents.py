"""The SCIM documents of the Users endpoint: request bodies read; User resources,
list responses, ETags and error bodies written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chassis.errors import (
    ConcurrencyConflict,
    Conflict,
    DomainError,
    TandemError,
    ValidationFailed,
)
from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.mapping import DETAIL_PATHS
from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    ERROR,
    LIST_RESPONSE,
    TANDEM,
)
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


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, {}, "")}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def user_resource(row: Any, base: str) -> dict[str, Any]:
    """The SCIM User of a ``people`` row; ``base`` is the absolute ``…/scim/v2``."""
    location = f"{base}/Users/{row.person_id}"
    manager = row.manager_id
    return _present(
        {
            "schemas": [CORE, ENTERPRISE, TANDEM],
            "id": row.person_id,
            "externalId": row.scim_external_id,
            "userName": row.email,
            "name": _present(
                {
                    "givenName": row.given_name,
                    "familyName": row.family_name,
                    "formatted": f"{row.given_name} {row.family_name}",
                }
            ),
            "displayName": f"{row.given_name} {row.family_name}",
            "title": row.title,
            "active": row.status == "active",
            "timezone": row.time_zone,
            "emails": [{"value": row.email, "type": "work", "primary": True}],
            "addresses": [{"type": "work", "country": row.geography, "primary": True}],
            ENTERPRISE: _present(
                {
                    "employeeNumber": row.employee_id,
                    "department": row.business_unit,
                    "division": row.function,
                    "manager": {"value": manager, "$ref": f"{base}/Users/{manager}"}
                    if manager
                    else None,
                }
            ),
            TANDEM: _present(
                {
                    "level": row.level,
                    "function": row.function,
                    "geography": row.geography,
                    "roles": json.loads(row.roles),
                    "hireDate": row.hire_date,
                    "languages": json.loads(row.languages),
                }
            ),
            "meta": {
                "resourceType": "User",
                "created": _iso(row.created_at),
                "lastModified": _iso(row.updated_at),
                "location": location,
                "version": etag(row),
            },
        }
    )


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
    body = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return status, body
