"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas."""

from __future__ import annotations

from typing import Any

from services.profiles.application.scim import resources
from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    MAX_RESULTS,
    TANDEM,
)


def _tidy(attributes: list[dict[str, Any]]) -> None:
    """Descriptions on one line (they come from the models' docstrings)."""
    for attribute in attributes:
        if attribute.get("description"):
            attribute["description"] = " ".join(attribute["description"].split())
        _tidy(attribute.get("subAttributes") or [])


def schema_documents(base: str) -> list[dict[str, Any]]:
    """The core User, enterprise and Tandem extension schemas: generated from the
    models responses are built from (``scim.resources``), so they advertise every
    attribute returned, with the rules the server enforces."""
    documents = resources.schema_documents(base)
    for document in documents:
        document["description"] = " ".join(document["description"].split())
        _tidy(document["attributes"])
    return documents


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
        # maxResults is also the largest page: a larger count reads as this one.
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
