"""A service's OpenAPI document as the hostile suite reads it: its operations and
their schemas, ``$ref``s followed, ``null`` branches left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
MAX_DEPTH = 8


class Resolver:
    """Follows ``$ref``s and picks the non-null branch of ``anyOf``/``oneOf``."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc.get("components", {}).get("schemas", {})

    def deref(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        schema = schema or {}
        seen = 0
        while "$ref" in schema and seen < 32:
            name = schema["$ref"].rsplit("/", 1)[-1]
            merged = dict(self.components.get(name, {}))
            # OpenAPI 3.1 lets a $ref carry siblings (description, default).
            merged.update({k: v for k, v in schema.items() if k != "$ref"})
            schema = merged
            seen += 1
        if "allOf" in schema and len(schema["allOf"]) == 1:
            inner = self.deref(schema["allOf"][0])
            schema = {**inner, **{k: v for k, v in schema.items() if k != "allOf"}}
        return schema

    def branches(self, schema: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The alternatives a value may take, ``null`` left out."""
        schema = self.deref(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                out = []
                for branch in schema[key]:
                    out.extend(self.branches(branch))
                return out or [{"type": "null"}]
        if isinstance(schema.get("type"), list):
            return [{**schema, "type": t} for t in schema["type"] if t != "null"] or [
                {"type": "null"}
            ]
        return [schema]

    def main(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        """The first non-null alternative (what a valid value is built from)."""
        return self.branches(schema)[0]


def kind_of(schema: dict[str, Any]) -> str:
    """object, map, array, string, integer, number, boolean, null or any."""
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        if schema.get("properties"):
            return "object"
        if isinstance(schema.get("additionalProperties"), dict):
            return "map"
        return "object"
    if t in ("array", "string", "integer", "number", "boolean", "null"):
        return t
    if "enum" in schema:
        return "string"
    return "any"


@dataclass
class Operation:
    service: str
    method: str
    path: str
    parameters: list[dict[str, Any]]
    body: dict[str, Any] | None  # the JSON body schema, if the route takes one
    body_required: bool
    other_bodies: list[str] = field(default_factory=list)  # non-JSON content types

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def operations(service: str, doc: dict[str, Any]) -> list[Operation]:
    """Every operation of ``doc`` in document order."""
    resolver = Resolver(doc)
    out: list[Operation] = []
    for path, item in doc.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            params = [resolver.deref(p) for p in [*shared, *op.get("parameters", [])]]
            body = None
            body_required = False
            others: list[str] = []
            request_body = resolver.deref(op.get("requestBody"))
            if request_body:
                body_required = bool(request_body.get("required"))
                for content_type, media in request_body.get("content", {}).items():
                    if content_type == JSON or content_type.endswith("+json"):
                        body = media.get("schema", {})
                    else:
                        others.append(content_type)
            out.append(
                Operation(
                    service, method.upper(), path, params, body, body_required, others
                )
            )
    return out
