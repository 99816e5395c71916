"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas."""

from __future__ import annotations

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
    JsonObject,
    JsonValue,
)


def _one_line(description: JsonValue) -> str:
    return " ".join(str(description).split())


def _tidy(attributes: JsonValue) -> None:
    """Descriptions on one line (they come from the models' docstrings)."""
    for attribute in attributes if isinstance(attributes, list) else []:
        if not isinstance(attribute, dict):
            continue
        if attribute.get("description"):
            attribute["description"] = _one_line(attribute["description"])
        _tidy(attribute.get("subAttributes") or [])


def schema_documents(base: str) -> list[JsonObject]:
    """The core User, enterprise and Tandem extension schemas: generated from the
    models responses are built from (``scim.resources``), so they advertise every
    attribute returned, with the rules the server enforces."""
    documents = resources.schema_documents(base)
    for document in documents:
        document["description"] = _one_line(document["description"])
        _tidy(document["attributes"])
    return documents


def resource_type(base: str) -> JsonObject:
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


def service_provider_config(base: str) -> JsonObject:
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
