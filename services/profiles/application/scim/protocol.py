"""The names of the SCIM protocol Tandem speaks (RFC 7643/7644): schema and message
URNs, the media type and the page limit; and the shape of what travels, decoded JSON."""

from __future__ import annotations

from pydantic import JsonValue

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TANDEM = "urn:ietf:params:scim:schemas:extension:tandem:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
MAX_RESULTS = 200

# Decoded JSON: a request body, a PATCH value, a response before it is sent. The one
# boundary where a value's type is known only once looked at (``isinstance``).
JsonObject = dict[str, JsonValue]

__all__ = [
    "CORE",
    "ENTERPRISE",
    "ERROR",
    "LIST_RESPONSE",
    "MAX_RESULTS",
    "PATCH_OP",
    "SCIM_JSON",
    "TANDEM",
    "JsonObject",
    "JsonValue",
]
