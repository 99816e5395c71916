"""Each service's OpenAPI document: committed, typed, honest about errors.

``docs/openapi/<service>.json`` is what integrators read; it must be exactly what
the service serves (``python -m launcher.openapi_export`` rewrites it), it may not
change in a way that breaks a client without review, every route documents the shape
of its answer, and every route documents the errors it can answer as problem details.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chassis.http.openapi import PROBLEM_JSON, breaking_changes, operations
from launcher.openapi_export import current, document_file, render
from launcher.registry import SERVICES

pytestmark = pytest.mark.unit

_DOCUMENTS: dict[str, dict[str, Any]] = {}


def served(service: str) -> dict[str, Any]:
    if service not in _DOCUMENTS:
        _DOCUMENTS[service] = current(service)
    return _DOCUMENTS[service]


def _untyped(schema: dict[str, Any]) -> bool:
    """A body schema that says nothing of the answer's fields."""
    plain = {k: v for k, v in schema.items() if k not in ("title", "description")}
    return plain in (
        {},
        {"type": "object"},
        {"type": "object", "additionalProperties": True},
    )


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_committed_document_is_what_the_service_serves(service: str) -> None:
    path = document_file(service)
    committed = json.loads(path.read_text())
    changes = breaking_changes(committed, served(service))
    assert not changes, (
        f"breaking changes to {service}'s API: "
        + "; ".join(changes[:20])
        + " — review them, then `python -m launcher.openapi_export --accept-breaking`"
    )
    assert path.read_text() == render(served(service)), (
        f"docs/openapi/{service}.json is stale: run `python -m launcher.openapi_export`"
    )


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_route_documents_the_shape_of_its_answer(service: str) -> None:
    untyped = []
    for path, method, operation in operations(served(service)):
        success = {
            status: response
            for status, response in operation["responses"].items()
            if status.startswith("2")
        }
        if not success:
            untyped.append(f"{method.upper()} {path}: no success response")
        for status, response in success.items():
            for kind, media in (response.get("content") or {}).items():
                if kind.endswith("json") and _untyped(media.get("schema", {})):
                    untyped.append(f"{method.upper()} {path} → {status} {kind}")
    assert not untyped, (
        f"{len(untyped)} answers without a response model:\n" + "\n".join(untyped)
    )


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_route_documents_its_errors_as_problems(service: str) -> None:
    missing = []
    for path, method, operation in operations(served(service)):
        responses = operation["responses"]
        label = f"{method.upper()} {path}"
        if operation.get("security") and "401" not in responses:
            missing.append(f"{label}: 401")
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            if "404" not in responses:
                missing.append(f"{label}: 404 (it names a resource)")
        for status, response in responses.items():
            if int(status) >= 400 and not (response.get("content") or {}):
                missing.append(f"{label}: {status} has no content")
        if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
            missing.append(f"{label}: 422 is FastAPI's HTTPValidationError")
    assert not missing, "\n".join(missing)
    assert PROBLEM_JSON in json.dumps(served(service))


def test_the_breaking_change_check_catches_what_breaks_a_client() -> None:
    old = served("matching")
    path, method, _ = next(iter(operations(old)))
    new = copy.deepcopy(old)
    del new["paths"][path][method]
    assert breaking_changes(old, new) == [f"{method.upper()} {path}: operation removed"]
    assert breaking_changes(old, old) == []

    def document(response: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return {
            "paths": {
                "/things": {
                    "post": {
                        "requestBody": {
                            "content": {"application/json": {"schema": body}}
                        },
                        "responses": {
                            "200": {
                                "content": {"application/json": {"schema": response}}
                            }
                        },
                    }
                }
            }
        }

    thing = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "rating": {"type": "integer"}},
        "required": ["id"],
    }
    before = document(
        thing, {"type": "object", "properties": {"a": {"type": "string"}}}
    )
    lost_field = copy.deepcopy(thing)
    del lost_field["properties"]["rating"]
    assert breaking_changes(before, document(lost_field, {"type": "object"})) == [
        "POST /things → 200.rating: field removed"
    ]
    demanding = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["b"],
    }
    assert breaking_changes(before, document(thing, demanding)) == [
        "POST /things body.b: new required field"
    ]
    # Adding an optional field to an answer or an input breaks nobody.
    richer = copy.deepcopy(thing)
    richer["properties"]["note"] = {"type": "string"}
    assert (
        breaking_changes(
            before,
            document(
                richer,
                before["paths"]["/things"]["post"]["requestBody"]["content"][
                    "application/json"
                ]["schema"],
            ),
        )
        == []
    )


def test_a_value_dropped_from_a_nullable_enum_input_is_breaking() -> None:
    def document(values: list[str]) -> dict[str, Any]:
        status = {"anyOf": [{"enum": values, "type": "string"}, {"type": "null"}]}
        parameter = {"in": "query", "name": "status", "schema": status}
        operation = {"parameters": [parameter], "responses": {}}
        return {"paths": {"/things": {"get": operation}}}

    assert breaking_changes(document(["open", "closed"]), document(["open"])) == [
        "GET /things query status: no longer accepts ['closed']"
    ]
    assert breaking_changes(document(["open"]), document(["open", "closed"])) == []
