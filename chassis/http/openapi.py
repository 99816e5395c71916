"""What every service's OpenAPI document says about errors, and how it may change.

Every error a service returns is an RFC 9457 problem (``application/problem+json``,
:mod:`chassis.http.problems`). FastAPI's generated document knows nothing of that: it
documents a 422 ``HTTPValidationError`` the services never send and no other error.
:func:`documented` rewrites the generated document once per app:

- every error response is ``application/problem+json`` with the :class:`Problem`
  schema (a route that answers in another error format, such as SCIM's
  ``application/scim+json``, keeps the content it declares);
- the statuses the chassis itself can answer on any route are added where they apply:
  401 (the route takes a bearer token), 400 and 413 (it takes a body: one that is
  not JSON, one too large), 422 (it takes any input), 429 (rate limits) and 503 (the
  database is unavailable);
- what a route adds (403, 404, 409, 410, 412 …) it declares with :func:`problems`;
- a route that answers its errors in a format of its own (SCIM) says so with
  :func:`own_format`: its errors, the common ones included, are documented in that
  format, and the schemas it brings (models FastAPI cannot describe) are added.

:func:`breaking_changes` compares two documents for what would break a client that
was written against the old one (an operation or response field gone, a field's type
changed, a new required input, an enum value gone from an input …).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
_PROBLEM_REF = "#/components/schemas/Problem"
# What FastAPI documents for a 422 the services never send (they answer problems).
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_PROBES = frozenset({"/healthz", "/readyz"})
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

WHY: dict[int, str] = {
    400: "The body could not be parsed (not JSON, or not in its declared encoding)",
    401: "No valid bearer token (`WWW-Authenticate` says why)",
    403: "The caller's roles or relation to the resource do not allow this",
    404: "No such resource in the caller's organisation",
    409: "Conflicts with the current state (a concurrent change, a duplicate, a "
    "state that does not allow it)",
    410: "The person was erased",
    412: "The `If-Match` precondition failed: the resource changed",
    413: "The body is larger than the service accepts",
    415: "The body's media type is not accepted",
    422: "Invalid input (`errors` lists each field) or a business rule refused it",
    429: "Too many requests; `Retry-After` says when to retry",
    503: "A dependency (the database) is unavailable; `Retry-After` says when to retry",
}


class FieldProblem(BaseModel):
    """One invalid input field."""

    path: str = Field(description="Dotted path of the field in the request")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: the shape of every error a Tandem service returns."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`urn:tandem:error:<code>`")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable name of the error")
    instance: str | None = Field(None, description="The request path")
    request_id: str | None = Field(None, description="Quote it when reporting")
    errors: list[FieldProblem] | None = Field(
        None, description="Each invalid field (422 ValidationError)"
    )


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it answers beyond the common
    ones, each as a problem document."""
    return {
        status: {"model": Problem, "description": WHY.get(status, "Error")}
        for status in statuses
    }


_OWN_FORMAT = "x-own-format"  # read and removed by document_errors


def own_format(
    media_type: str,
    error: str,
    schemas: Mapping[str, Any],
    invalid_input: int = 422,
) -> dict[str, Any]:
    """``openapi_extra=`` for a route whose errors are not problem documents.

    Every error the route documents without content, and every common one (401,
    413, 429, 503), is documented as ``media_type`` with the schema component
    ``error``; invalid input as ``invalid_input`` instead of 422 (FastAPI's
    ``HTTPValidationError`` 422 is dropped). ``schemas`` are added to the
    document's components (``#/components/schemas/<name>``): what the route's
    ``error`` and other documents refer to."""
    return {
        _OWN_FORMAT: {
            "media_type": media_type,
            "error": error,
            "schemas": dict(schemas),
            "invalid_input": invalid_input,
        }
    }


def documented(app: FastAPI) -> dict[str, Any]:
    """``app``'s OpenAPI document with its errors as they really are (cached)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        app.openapi_schema = document_errors(schema)
    return app.openapi_schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) serve :func:`documented`."""

    def openapi() -> dict[str, Any]:
        return documented(app)

    app.openapi = openapi  # type: ignore[method-assign]


def operations(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation) of a document."""
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``schema``'s error responses as problem documents (see module doc)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    defs = components["Problem"].pop("$defs", {})
    components.update(defs)
    for path, _, operation in operations(schema):
        responses = operation.setdefault("responses", {})
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        error_content: dict[str, Any] = {
            PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}
        }
        invalid = 422
        if own_format_ := operation.pop(_OWN_FORMAT, None):
            components.update(own_format_["schemas"])
            error_ref = f"#/components/schemas/{own_format_['error']}"
            error_content = {own_format_["media_type"]: {"schema": {"$ref": error_ref}}}
            invalid = int(own_format_["invalid_input"])
            if invalid != 422 and _FASTAPI_422 in str(responses.get("422")):
                del responses["422"]
        common: list[int] = []
        if path not in _PROBES:
            common += [429, 503]
            if operation.get("security"):
                common.append(401)
            if operation.get("requestBody"):
                common += [400, 413]  # a body that is not JSON; too large
            if takes_input:
                common.append(invalid)
        for status in common:
            responses.setdefault(str(status), {"description": WHY[status]})
        for status, response in responses.items():
            if not status[:1].isdigit() or int(status) < 400:
                continue
            content = response.get("content") or {}
            # A route that answers an error in its own shape (``/readyz``'s 503, SCIM)
            # keeps it; every other error is a problem document.
            own = {
                kind
                for kind, media in content.items()
                if kind != PROBLEM_JSON
                and (media.get("schema") or {}).get("$ref")
                not in (_PROBLEM_REF, _FASTAPI_422)
            }
            if not own:
                response["content"] = copy.deepcopy(error_content)
            if response.get("description") in (None, "", "Validation Error"):
                response["description"] = WHY.get(int(status), "Error")
        operation["responses"] = dict(
            sorted(responses.items(), key=lambda item: item[0])
        )
    # FastAPI's own 422 models, gone once nothing refers to them (HTTPValidationError
    # first: it is what refers to ValidationError).
    for name in ("HTTPValidationError", "ValidationError"):
        if name in components and f"#/components/schemas/{name}" not in _referenced(
            schema
        ):
            del components[name]
    return schema


def _referenced(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


# --- breaking changes -----------------------------------------------------------


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What in ``new`` breaks a client written against ``old``, one line each."""
    found: list[str] = []
    new_ops = {(p, m): op for p, m, op in operations(new)}
    for path, method, old_op in operations(old):
        where = f"{method.upper()} {path}"
        new_op = new_ops.get((path, method))
        if new_op is None:
            found.append(f"{where}: operation removed")
            continue
        found += _inputs(where, old, old_op, new, new_op)
        for status, old_response in old_op.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            new_response = new_op.get("responses", {}).get(status)
            if new_response is None:
                found.append(f"{where}: response {status} removed")
                continue
            for kind, media in (old_response.get("content") or {}).items():
                new_media = (new_response.get("content") or {}).get(kind)
                if new_media is None:
                    found.append(f"{where}: {status} no longer answers {kind}")
                    continue
                found += _output(
                    f"{where} → {status}",
                    old,
                    media.get("schema", {}),
                    new,
                    new_media.get("schema", {}),
                )
    return found


def _resolve(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 32:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = doc.get("components", {}).get("schemas", {}).get(name, {})
        seen += 1
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(doc, schema["allOf"][0])
    return schema


def _types(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    schema = _resolve(doc, schema)
    if "anyOf" in schema or "oneOf" in schema:
        out: set[str] = set()
        for option in schema.get("anyOf", []) + schema.get("oneOf", []):
            out |= _types(doc, option)
        return out
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if kind else {"any"}


def _enum(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Any] | None:
    """The values a schema allows when it is a closed set (``anyOf`` of enums and
    ``null``, ``const`` included); None when any value of its type is allowed."""
    schema = _resolve(doc, schema)
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    options = schema.get("anyOf", []) + schema.get("oneOf", [])
    if not options:
        return None
    values: list[Any] = []
    for option in options:
        if _resolve(doc, option).get("type") == "null":
            values.append(None)
            continue
        allowed = _enum(doc, option)
        if allowed is None:
            return None
        values += allowed
    return values


def _output(
    where: str,
    old_doc: Mapping[str, Any],
    old: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    new: Mapping[str, Any],
    depth: int = 0,
) -> list[str]:
    """A response value a client reads: nothing it relied on may go or change type."""
    if depth > 12:
        return []
    old, new = _resolve(old_doc, old), _resolve(new_doc, new)
    old_types, new_types = _types(old_doc, old), _types(new_doc, new)
    if "any" not in old_types and "any" not in new_types:
        if not new_types <= old_types:
            return [f"{where}: type {sorted(old_types)} became {sorted(new_types)}"]
    found: list[str] = []
    old_enum, new_enum = _enum(old_doc, old), _enum(new_doc, new)
    if old_enum is not None and new_enum is not None:
        added = set(map(str, new_enum)) - set(map(str, old_enum))
        if added:
            found.append(f"{where}: may now answer {sorted(added)}")
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    new_required = set(new.get("required", []))
    for name, old_prop in old_props.items():
        if name not in new_props:
            found.append(f"{where}.{name}: field removed")
            continue
        if name in set(old.get("required", [])) and name not in new_required:
            found.append(f"{where}.{name}: no longer always present")
        found += _output(
            f"{where}.{name}", old_doc, old_prop, new_doc, new_props[name], depth + 1
        )
    if "items" in old and "items" in new:
        found += _output(
            f"{where}[]", old_doc, old["items"], new_doc, new["items"], depth + 1
        )
    return found


def _input(
    where: str,
    old_doc: Mapping[str, Any],
    old: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    new: Mapping[str, Any],
    depth: int = 0,
) -> list[str]:
    """A request value a client sends: what it sent must still be accepted."""
    if depth > 12:
        return []
    old, new = _resolve(old_doc, old), _resolve(new_doc, new)
    old_types, new_types = _types(old_doc, old), _types(new_doc, new)
    if "any" not in new_types and "any" not in old_types:
        if not old_types <= new_types | (
            {"number"} if "integer" in old_types else set()
        ):
            return [f"{where}: type {sorted(old_types)} became {sorted(new_types)}"]
    found: list[str] = []
    old_enum, new_enum = _enum(old_doc, old), _enum(new_doc, new)
    if new_enum is not None:
        removed = set(map(str, old_enum or [])) - set(map(str, new_enum))
        if old_enum is None or removed:
            found.append(f"{where}: no longer accepts {sorted(removed) or 'any value'}")
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    old_required = set(old.get("required", []))
    for name in set(new.get("required", [])) - old_required:
        found.append(f"{where}.{name}: new required field")
    for name, old_prop in old_props.items():
        if name in new_props:
            found += _input(
                f"{where}.{name}",
                old_doc,
                old_prop,
                new_doc,
                new_props[name],
                depth + 1,
            )
        elif new.get("additionalProperties") is False:
            found.append(f"{where}.{name}: field no longer accepted")
    if "items" in old and "items" in new:
        found += _input(
            f"{where}[]", old_doc, old["items"], new_doc, new["items"], depth + 1
        )
    return found


def _inputs(
    where: str,
    old_doc: Mapping[str, Any],
    old_op: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    new_op: Mapping[str, Any],
) -> list[str]:
    found: list[str] = []
    old_params = {(p["in"], p["name"]): p for p in old_op.get("parameters", [])}
    for param in new_op.get("parameters", []):
        key = (param["in"], param["name"])
        label = f"{where} {param['in']} {param['name']}"
        if key not in old_params:
            if param.get("required"):
                found.append(f"{label}: new required parameter")
            continue
        if param.get("required") and not old_params[key].get("required"):
            found.append(f"{label}: now required")
        found += _input(
            label,
            old_doc,
            old_params[key].get("schema", {}),
            new_doc,
            param.get("schema", {}),
        )
    old_body = (old_op.get("requestBody") or {}).get("content", {})
    new_body = (new_op.get("requestBody") or {}).get("content", {})
    if not old_op.get("requestBody") and (new_op.get("requestBody") or {}).get(
        "required"
    ):
        found.append(f"{where}: now requires a body")
    for kind, media in old_body.items():
        if kind not in new_body:
            if new_body:
                found.append(f"{where}: body no longer accepted as {kind}")
            continue
        found += _input(
            f"{where} body",
            old_doc,
            media.get("schema", {}),
            new_doc,
            new_body[kind].get("schema", {}),
        )
    return found
