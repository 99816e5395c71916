"""The input policy, read from each service's OpenAPI document.

Every value a caller sends must be bounded where integrators can see it, so a field
added tomorrow without bounds fails here, not in production:

- a string has ``maxLength`` and a ``pattern`` or ``format`` (an ``enum`` bounds it by
  itself; so do the formats a parser reads whole: ``date``, ``date-time``, ``time``,
  ``uuid``);
- an integer has ``minimum`` and ``maximum``;
- an array has ``maxItems``;
- an object with ``additionalProperties`` (a map) has ``maxProperties``.

Checked: path, query and header parameters, and JSON request bodies at any depth
(``anyOf`` branches included). Not checked: non-JSON bodies (CSV and multipart
imports), which the input guard bounds by size before parsing.

The shared types in ``chassis.inputs`` satisfy every rule; a request model built from
them passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from chassis.inputs import Count, FewItems, Name, RequestBody, TextMap
from tests.hostile.document import Resolver, kind_of, operations
from tests.hostile.platform import SERVICES

SELF_BOUNDED_FORMATS = {"date", "date-time", "time", "uuid"}


def openapi_of(service: str) -> dict[str, Any]:
    """The service's document, built without a database or a broker."""
    import importlib

    module = importlib.import_module(f"services.{service}.main")
    settings = module.Settings(
        environment="test",
        database_url="postgresql+asyncpg://policy@localhost/unused",
        kafka_bootstrap_servers="",
    )
    return module.build_app(settings).openapi()


def _broken(schema: dict[str, Any]) -> list[str]:
    """The rules ``schema`` (one resolved, non-null branch) breaks."""
    kind = kind_of(schema)
    if kind == "string":
        if "enum" in schema or "const" in schema:
            return []
        if schema.get("format") in SELF_BOUNDED_FORMATS:
            return []
        if schema.get("format") == "binary":
            return []
        missing = []
        if "maxLength" not in schema:
            missing.append("maxLength")
        if not (schema.get("pattern") or schema.get("format")):
            missing.append("pattern or format")
        return [f"string without {' and '.join(missing)}"] if missing else []
    if kind == "integer":
        missing = [k for k in ("minimum", "maximum") if k not in schema]
        alt = {"minimum": "exclusiveMinimum", "maximum": "exclusiveMaximum"}
        missing = [k for k in missing if alt[k] not in schema]
        return [f"integer without {' and '.join(missing)}"] if missing else []
    if kind == "array" and "maxItems" not in schema:
        return ["array without maxItems"]
    if kind == "map" and "maxProperties" not in schema:
        return ["map without maxProperties"]
    if kind == "any":
        return ["value of any type (no schema)"]
    return []


def _walk(
    resolver: Resolver,
    schema: dict[str, Any] | None,
    where: str,
    model: str,
    depth: int = 0,
) -> Iterator[tuple[str, str, str]]:
    """(field, model.field, broken rule) for ``schema`` and everything inside it."""
    raw = schema or {}
    if "$ref" in raw:
        model = raw["$ref"].rsplit("/", 1)[-1]
    for branch in resolver.branches(raw):
        if branch.get("type") == "null":
            continue
        for rule in _broken(branch):
            yield where, model, rule
        if depth > 10:
            continue
        kind = kind_of(branch)
        if kind == "object":
            for name, prop in branch.get("properties", {}).items():
                yield from _walk(
                    resolver, prop, f"{where}.{name}", f"{model}.{name}", depth + 1
                )
        elif kind == "map":
            yield from _walk(
                resolver,
                branch["additionalProperties"],
                f"{where}{{}}",
                f"{model}{{}}",
                depth + 1,
            )
        elif kind == "array":
            yield from _walk(
                resolver, branch.get("items"), f"{where}[]", f"{model}[]", depth + 1
            )


def offenders(service: str, doc: dict[str, Any]) -> list[str]:
    """Every field of every request of ``doc`` that breaks the policy, one a line."""
    resolver = Resolver(doc)
    out = []
    for op in operations(service, doc):
        for p in op.parameters:
            if p.get("in") not in ("path", "query", "header"):
                continue
            where = f"{p['in']}:{p['name']}"
            for field, _model, rule in _walk(resolver, p.get("schema"), where, where):
                out.append(f"{op.label} {field}: {rule}")
        if op.body is not None:
            for field, model, rule in _walk(resolver, op.body, "body", "body"):
                named = f" ({model})" if not model.startswith("body") else ""
                out.append(f"{op.label} {field}{named}: {rule}")
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_field_is_bounded_in_the_openapi_document(service: str) -> None:
    found = offenders(service, openapi_of(service))
    assert not found, f"{service}: {len(found)} unbounded request fields\n" + "\n".join(
        found
    )


class Bounded(RequestBody):
    name: Name
    count: Count
    tags: FewItems[Name] = []
    labels: TextMap = {}


class Unbounded(RequestBody):
    name: str
    count: int
    tags: list[str]
    labels: dict[str, str]


def test_the_policy_check_catches_an_unbounded_field() -> None:
    """The check itself: a model of chassis.inputs types passes, each unbounded kind
    of field is caught."""
    app = FastAPI()

    @app.post("/bounded")
    def bounded(body: Bounded) -> None: ...

    @app.post("/unbounded")
    def unbounded(body: Unbounded, q: str = "") -> None: ...

    found = offenders("example", app.openapi())
    assert not [f for f in found if f.startswith("POST /bounded")], found
    assert {f.split(": ", 1)[1] for f in found} == {
        "string without maxLength and pattern or format",
        "integer without minimum and maximum",
        "array without maxItems",
        "map without maxProperties",
    }
    assert any(f.startswith("POST /unbounded query:q") for f in found)
