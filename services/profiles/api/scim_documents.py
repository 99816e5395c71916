"""The SCIM documents of the Users endpoint: request bodies read; User resources,
list responses, ETags and error bodies written; and their JSON schemas for the
OpenAPI document (:data:`SCHEMAS`), generated from the same scim2-models models."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema
from scim2_models import (
    Context,
    Error,
    ListResponse,
    PatchOp,
    ResourceType,
    Schema,
    SearchRequest,
    ServiceProviderConfig,
)

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
from services.profiles.application.scim.resources import (
    ScimUser,
    dump_user,
    user_model,
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


# --- JSON schemas of the documents (OpenAPI) ------------------------------------

ANSWERS: dict[str, type[BaseModel]] = {  # component name -> model of an answer
    "ScimUser": ScimUser,
    "ScimUserList": ListResponse[ScimUser],
    "ScimServiceProviderConfig": ServiceProviderConfig,
    "ScimResourceType": ResourceType,
    "ScimResourceTypeList": ListResponse[ResourceType],
    "ScimSchema": Schema,
    "ScimSchemaList": ListResponse[Schema],
    "ScimError": Error,
}
BODIES: dict[str, type[BaseModel]] = {  # component name -> model of a request body
    "ScimUser": ScimUser,
    "ScimPatchOp": PatchOp[ScimUser],
    "ScimSearchRequest": SearchRequest,
}


class _ScimJsonSchema(GenerateJsonSchema):
    """Answers as scim2-models dump them.

    Their wrap serializers only leave things out (empty values, an extension not
    set, attributes not asked for) but declare no return type, so pydantic would
    describe every answer as "any object": each is described as what it wraps."""

    def ser_schema(
        self,
        schema: core_schema.SerSchema
        | core_schema.IncExSeqSerSchema
        | core_schema.IncExDictSerSchema,
    ) -> JsonSchemaValue | None:
        if schema["type"] == "function-wrap":
            returned = schema.get("return_schema")
            if not isinstance(returned, dict) or returned["type"] in ("any", "dict"):
                return None
        return super().ser_schema(schema)


def _component(name: str) -> str:
    """``Meta`` -> ``ScimMeta``, ``PatchOperation_TandemCoreUser_…`` ->
    ``ScimPatchOperation``, ``scim2_models__…__Attribute__Type`` ->
    ``ScimAttributeType``: one namespace beside the service's own models."""
    if "__" in name and name.split("__")[0].islower():  # module-qualified
        name = "".join(name.split("__")[-2:])
    name = name.split("_")[0]  # a generic's parameters
    return name if name.startswith("Scim") else f"Scim{name}"


def _renamed(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"{REF}{names[value.removeprefix(REF)]}"
                if key == "$ref" and isinstance(value, str)
                else _renamed(value, names)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    return node


REF = "#/components/schemas/"


def json_schemas() -> dict[str, Any]:
    """The components of the SCIM documents: answers as dumped, bodies as read."""
    wanted = [(model, "serialization") for model in ANSWERS.values()] + [
        (model, "validation") for model in BODIES.values()
    ]
    tops, defs = models_json_schema(
        wanted,  # type: ignore[arg-type]
        ref_template=REF + "{model}",
        schema_generator=_ScimJsonSchema,
    )
    found = defs.get("$defs", {})
    names: dict[str, str] = {}
    for chosen, kinds in ((ANSWERS, "serialization"), (BODIES, "validation")):
        for name, model in chosen.items():
            generated = tops[(model, kinds)]["$ref"].removeprefix(REF)  # type: ignore[index]
            names.setdefault(generated, name)
    for generated in found:
        names.setdefault(generated, _component(generated))
    assert len(set(names.values())) == len(names), f"SCIM components clash: {names}"
    schemas = {}
    for generated, schema in found.items():
        name = names[generated]
        schema = _renamed(schema, names)
        if "[" in str(schema.get("title", "")):  # a generic: ListResponse[…]
            schema["title"] = name
        schemas[name] = schema
    return schemas


SCHEMAS = json_schemas()
