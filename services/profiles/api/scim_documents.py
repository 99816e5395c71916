"""The SCIM documents of the Users endpoint: request bodies read; User resources,
list responses, ETags and error bodies written; and their JSON schemas for the
OpenAPI document (:data:`SCHEMAS`), generated from the same scim2-models models."""

from __future__ import annotations

import json
import re
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
from chassis.inputs import FEW_ITEMS, INT32_MAX, INT32_MIN, MAX_ITEMS, ONE_LINE
from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.mapping import DETAIL_PATHS
from services.profiles.application.scim.protocol import LIST_RESPONSE
from services.profiles.application.scim.resources import (
    Params,
    ScimUser,
    dump_user,
    user_model,
)
from services.profiles.application.scim.rows import UserRow
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


def user_resource(
    row: UserRow, base: str, params: Params | None = None
) -> dict[str, Any]:
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
    "ScimUserIn": ScimUser,
    "ScimPatchOpIn": PatchOp[ScimUser],
    "ScimSearchRequestIn": SearchRequest,
}
# The bounds of every value a body carries (the input policy: visible in the
# document, enforced by ``check_bounds`` before a body is read).
MAX_STRING = 2000
MAX_LIST = MAX_ITEMS
MAX_OBJECT = FEW_ITEMS
_SELF_BOUNDED = {"date", "date-time", "time", "uuid"}
_SCALAR: list[dict[str, Any]] = [
    {"type": "string", "maxLength": MAX_STRING, "pattern": ONE_LINE},
    {"type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX},
    {"type": "boolean"},
    {"type": "object", "maxProperties": MAX_OBJECT},
]
# A PATCH operation's value: whatever its path names (RFC 7644 §3.5.2).
PATCH_VALUE: dict[str, Any] = {
    "anyOf": [
        *_SCALAR,
        {"type": "array", "maxItems": MAX_LIST, "items": {"anyOf": _SCALAR}},
        {"type": "null"},
    ],
    "description": "The value for the attribute `path` names (the whole resource's "
    "attributes when there is no path)",
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


def _published(node: Any, names: dict[str, str]) -> Any:
    """``node`` with its references to components renamed, and SCIM references
    (``format: uri``) as what they are: URI references, which may be relative
    (RFC 7643 §2.3.7; a ResourceType's ``endpoint`` is ``/Users``)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = f"{REF}{names[value.removeprefix(REF)]}"
            elif key == "format" and value == "uri":
                out[key] = "uri-reference"
            else:
                out[key] = _published(value, names)
        return out
    if isinstance(node, list):
        return [_published(item, names) for item in node]
    return node


REF = "#/components/schemas/"


def _bounded(node: Any) -> Any:
    """Every value of a request schema bounded: a string to ``MAX_STRING`` on one
    line, an integer to 32 bits, a list to ``MAX_LIST`` items; a value of any type
    (a PATCH value) as :data:`PATCH_VALUE`."""
    if isinstance(node, list):
        return [_bounded(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _bounded(value) for key, value in node.items()}
    kind = out.get("type")
    if kind == "string" and not {"enum", "const"} & set(out):
        if out.get("format") not in _SELF_BOUNDED:
            out.setdefault("maxLength", MAX_STRING)
            if not out.get("format"):
                out.setdefault("pattern", ONE_LINE)
    elif kind == "integer":
        out.setdefault("minimum", INT32_MIN)
        out.setdefault("maximum", INT32_MAX)
    elif kind == "array":
        out.setdefault("maxItems", MAX_LIST)
    if "properties" in out and isinstance(out["properties"], dict):
        out["properties"] = {
            name: PATCH_VALUE if _untyped(prop) else prop
            for name, prop in out["properties"].items()
        }
    return out


def _untyped(schema: Any) -> bool:
    """A schema of any value (pydantic's ``Any``, possibly or-null)."""
    if not isinstance(schema, dict):
        return False
    branches = schema.get("anyOf", [schema])
    typed = ("type", "$ref", "enum", "const", "anyOf", "allOf", "oneOf")
    return any(isinstance(b, dict) and not any(k in b for k in typed) for b in branches)


def _generate(
    models: dict[str, type[BaseModel]], mode: str, suffix: str = ""
) -> dict[str, Any]:
    tops, defs = models_json_schema(
        [(model, mode) for model in models.values()],  # type: ignore[misc]
        ref_template=REF + "{model}",
        schema_generator=_ScimJsonSchema,
    )
    found = defs.get("$defs", {})
    names: dict[str, str] = {}
    for name, model in models.items():
        generated = tops[(model, mode)]["$ref"].removeprefix(REF)  # type: ignore[index]
        names.setdefault(generated, name)
    for generated in found:
        names.setdefault(generated, _component(generated) + suffix)
    assert len(set(names.values())) == len(names), f"SCIM components clash: {names}"
    schemas = {}
    for generated, schema in found.items():
        name = names[generated]
        schema = _published(schema, names)
        if "[" in str(schema.get("title", "")):  # a generic: ListResponse[…]
            schema["title"] = name
        schemas[name] = schema
    return schemas


def json_schemas() -> dict[str, Any]:
    """The components of the SCIM documents: answers as dumped (``Scim…``), bodies
    as read, with their bounds (``Scim…In``)."""
    answers = _generate(ANSWERS, "serialization")
    bodies = {
        name: _bounded(schema)
        for name, schema in _generate(BODIES, "validation", "In").items()
    }
    assert not set(answers) & set(bodies)
    return {**answers, **bodies}


SCHEMAS = json_schemas()


def check_bounds(body: Any, component: str) -> None:
    """Refuse (400 ``invalidValue``) a body with a value past the bounds its
    schema shows (``SCHEMAS[component]``); attributes it does not declare are left
    to the reader (names are matched case-insensitively, as SCIM's are)."""
    problem = _beyond(body, {"$ref": REF + component}, "")
    if problem:
        raise ScimError(400, "invalidValue", problem)


def _beyond(value: Any, schema: dict[str, Any], where: str) -> str | None:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].removeprefix(REF)]
    if "anyOf" in schema:
        fitting = [b for b in schema["anyOf"] if _fits(value, b)]
        return _beyond(value, fitting[0], where) if fitting else None
    name = where or "the body"
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            return f"{name}: at most {schema['maxLength']} characters"
        if schema.get("pattern") == ONE_LINE and re.search(r"[\x00-\x1f\x7f]", value):
            return f"{name}: control characters are not accepted"
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name}: from {low} to {high}"
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            return f"{name}: at most {schema['maxItems']} items"
        items = schema.get("items") or {}
        for i, item in enumerate(value):
            if found := _beyond(item, items, f"{where}[{i}]"):
                return found
    elif isinstance(value, dict):
        if len(value) > schema.get("maxProperties", len(value)):
            return f"{name}: at most {schema['maxProperties']} attributes"
        declared = {k.lower(): v for k, v in (schema.get("properties") or {}).items()}
        for key, item in value.items():
            inner = declared.get(str(key).lower())
            path = f"{where}.{key}" if where else str(key)
            if inner is not None and (found := _beyond(item, inner, path)):
                return found
    return None


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value``'s JSON type is the one of ``schema`` (an ``anyOf`` branch)."""
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].removeprefix(REF)]
    kind = schema.get("type")
    if kind is None:
        return True
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "null": value is None,
    }.get(str(kind), False)
