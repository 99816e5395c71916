"""SCIM errors: a status with its ``scimType`` (RFC 7644 §3.12)."""

from __future__ import annotations

from chassis.errors import TandemError


class ScimError(TandemError):
    """An error with its SCIM status and ``scimType`` (RFC 7644 §3.12)."""

    code = "ScimError"

    def __init__(self, status: int, scim_type: str | None, detail: str) -> None:
        super().__init__(detail)
        self.scim_status = status
        self.scim_type = scim_type


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, "invalidValue", detail)
