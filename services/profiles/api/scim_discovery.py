"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas."""

from __future__ import annotations

from typing import Any

from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    MAX_RESULTS,
    TANDEM,
)
from services.profiles.domain.person import ROLES


def _attr(name: str, description: str, type_: str = "string", **spec: Any) -> dict:
    doc = {
        "name": name,
        "type": type_,
        "multiValued": spec.pop("multi", False),
        "description": description,
        "required": spec.pop("required", False),
        "caseExact": spec.pop("case_exact", False),
        "mutability": spec.pop("mutability", "readWrite"),
        "returned": "default",
        "uniqueness": spec.pop("uniqueness", "none"),
    }
    if "sub" in spec:
        doc["subAttributes"] = spec.pop("sub")
    if "refs" in spec:
        doc["referenceTypes"] = spec.pop("refs")
    if "canonical" in spec:
        doc["canonicalValues"] = spec.pop("canonical")
    return doc


_SCHEMA_DEFINITIONS = {
    CORE: (
        "User",
        "A person of the programme (the attributes Tandem keeps).",
        [
            _attr("userName", "Work e-mail address; unique per organisation.",
                  required=True, uniqueness="server"),
            _attr("name", "The person's name.", "complex", required=True, sub=[
                _attr("givenName", "Given name.", required=True),
                _attr("familyName", "Family name.", required=True),
                _attr("formatted", "Given and family name.", mutability="readOnly"),
            ]),
            _attr("displayName", "Given and family name.", mutability="readOnly"),
            _attr("title", "Job title; a change records a career outcome."),
            _attr("active", "False deactivates the person, true reactivates.",
                  "boolean"),
            _attr("timezone", "IANA time zone; UTC when not sent."),
            _attr("emails", "The userName as the primary work address (Tandem keeps "
                  "one address; sent values are ignored).", "complex", multi=True,
                  mutability="readOnly", sub=[
                      _attr("value", "Address.", mutability="readOnly"),
                      _attr("type", "Always work.", mutability="readOnly"),
                      _attr("primary", "Always true.", "boolean", mutability="readOnly"),
                  ]),
            _attr("addresses", "Only the country is kept (the geography).", "complex",
                  multi=True, sub=[
                      _attr("country", "ISO 3166-1 alpha-2 country code."),
                      _attr("type", "Always work.", mutability="readOnly"),
                  ]),
        ],
    ),
    ENTERPRISE: (
        "EnterpriseUser",
        "Enterprise User (RFC 7643 §4.3).",
        [
            _attr("employeeNumber", "HR employee number; unique per organisation.",
                  uniqueness="server"),
            _attr("department", "Business unit; required by Tandem.", required=True),
            _attr("division", "Function, when the Tandem extension gives none."),
            _attr("manager", "The manager.", "complex", sub=[
                _attr("value", "The manager's SCIM id.", case_exact=True),
                _attr("$ref", "URI of the manager.", "reference", refs=["User"],
                      mutability="readOnly"),
            ]),
        ],
    ),
    TANDEM: (
        "TandemUser",
        "What Tandem needs beyond HR data. Unsent on PUT or PATCH: kept as is.",
        [
            _attr("level", "Career level 1-12; required on create.", "integer",
                  required=True),
            _attr("function", "Function (e.g. Finance); required on create, or "
                  "enterprise division.", required=True),
            _attr("geography", "ISO 3166-1 alpha-2 country; required on create, or "
                  "addresses[0].country.", required=True),
            _attr("roles", "Programme roles; none unless sent.", multi=True,
                  case_exact=True, canonical=list(ROLES)),
            _attr("hireDate", "Hire date (YYYY-MM-DD)."),
            _attr("languages", "Languages spoken (BCP 47).", multi=True),
        ],
    ),
}  # fmt: skip


def schema_documents(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": urn,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
        }
        for urn, (name, description, attributes) in _SCHEMA_DEFINITIONS.items()
    ]


def resource_type(base: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the programme",
        "schema": CORE,
        "schemaExtensions": [
            {"schema": ENTERPRISE, "required": False},
            {"schema": TANDEM, "required": True},
        ],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{base}/ResourceTypes/User",
        },
    }


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": f"{base}/Schemas",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A Tandem bearer JWT with the integration (or admin) role",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
