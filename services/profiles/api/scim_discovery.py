"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Meta,
    Patch,
    ResourceType,
    SchemaExtension,
    ServiceProviderConfig,
    Sort,
)

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
    """The User resource type (RFC 7643 §6), built as scim2-models' ``ResourceType``."""
    document = ResourceType(
        id="User",
        name="User",
        endpoint="/Users",
        description="A person of the programme",
        schema_=CORE,
        schema_extensions=[
            SchemaExtension(schema_=ENTERPRISE, required=False),
            SchemaExtension(schema_=TANDEM, required=True),
        ],
        meta=Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/User"),
    )
    return document.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def service_provider_config(base: str) -> dict[str, Any]:
    """What this SCIM service supports (RFC 7643 §5), built as scim2-models'
    ``ServiceProviderConfig``."""
    document = ServiceProviderConfig(
        documentation_uri=f"{base}/Schemas",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        # maxResults is also the largest page: a larger count reads as this one.
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="A Tandem bearer JWT with the integration (or admin) role",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=f"{base}/ServiceProviderConfig",
        ),
    )
    return document.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
