"""Every place of an operation a hostile value can go, one at a time.

The hostile suite is generated from ``app.openapi()`` (``document``), so a route or a
field added tomorrow is covered without anyone listing it. ``slots(op, synth)`` yields
each path, query and header parameter and each body member at any depth (array items
and map values included), with a builder that returns the whole request, valid
(``synthesis``) but for that one place. Nothing here knows HTTP or databases.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.hostile.document import MAX_DEPTH, Operation, kind_of
from tests.hostile.synthesis import Synthesiser


@dataclass
class Request:
    method: str
    path_params: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any  # None: no body


@dataclass
class Slot:
    """One field of one operation, and how to build a request with it changed."""

    location: str  # path, query, header, body
    name: str  # the field's own name
    where: str  # path/query/header name, or the body member path ``a.b[0].c``
    schema: dict[str, Any]  # resolved (main branch)
    alternatives: list[dict[str, Any]]  # every non-null branch
    build: Callable[[Any], Request]

    def describe(self) -> str:
        return f"{self.location}:{self.where}"


def baseline(op: Operation, synth: Synthesiser) -> Request:
    """A request every part of which is valid (as far as the schema tells)."""
    path_params: dict[str, Any] = {}
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for p in op.parameters:
        where = p.get("in")
        if where == "path":
            path_params[p["name"]] = synth.value(p.get("schema"), p["name"], op.path)
        elif p.get("required") and where == "query":
            query[p["name"]] = synth.value(p.get("schema"), p["name"], op.path)
        elif p.get("required") and where == "header":
            headers[p["name"]] = str(synth.value(p.get("schema"), p["name"], op.path))
    body = synth.value(op.body, "body", op.path) if op.body is not None else None
    return Request(op.method, path_params, query, headers, body)


def slots(op: Operation, synth: Synthesiser) -> Iterator[Slot]:
    """Every parameter and body member of ``op`` as a ``Slot``."""
    resolver = synth.resolver
    base = baseline(op, synth)

    for p in op.parameters:
        where = p.get("in")
        if where not in ("path", "query", "header"):
            continue
        name = p["name"]

        def build(value: Any, name: str = name, where: str = where) -> Request:
            r = copy.deepcopy(base)
            target = {"path": r.path_params, "query": r.query, "header": r.headers}
            target[where][name] = value
            return r

        yield Slot(
            where,
            name,
            name,
            resolver.main(p.get("schema")),
            resolver.branches(p.get("schema")),
            build,
        )

    if op.body is None:
        return

    def set_body(value: Any) -> Request:
        r = copy.deepcopy(base)
        r.body = value
        return r

    yield from _body_slots(op, synth, op.body, "body", "", set_body, 0)


def _body_slots(
    op: Operation,
    synth: Synthesiser,
    schema: dict[str, Any],
    name: str,
    where: str,
    build: Callable[[Any], Request],
    depth: int,
) -> Iterator[Slot]:
    resolver = synth.resolver
    s = resolver.main(schema)
    kind = kind_of(s)
    if where:  # the body as a whole is the guard's business, not a field
        yield Slot("body", name, where, s, resolver.branches(schema), build)
    if depth > MAX_DEPTH:
        return
    if kind == "object":
        for prop, prop_schema in s.get("properties", {}).items():

            def child(value: Any, prop: str = prop) -> Request:
                parent = synth.value(s, name, op.path)
                parent = parent if isinstance(parent, dict) else {}
                parent[prop] = value
                return build(parent)

            path = f"{where}.{prop}" if where else prop
            yield from _body_slots(op, synth, prop_schema, prop, path, child, depth + 1)
    elif kind == "map":

        def entry(value: Any) -> Request:
            return build({"k1": value})

        yield from _body_slots(
            op,
            synth,
            s["additionalProperties"],
            name,
            f"{where}{{k1}}",
            entry,
            depth + 1,
        )
    elif kind == "array":
        items = s.get("items", {})

        def item(value: Any) -> Request:
            return build([value])

        item_name = name[:-1] if name.endswith("s") and name != "ids" else name
        yield from _body_slots(
            op, synth, items, item_name, f"{where}[0]", item, depth + 1
        )


UNDECLARED = "undeclared"


def undeclared_query(op: Operation, synth: Synthesiser) -> Slot:
    """A query parameter the route does not declare: the one place a hostile value
    can go in a route without parameters or body (the input guard reads every URL)."""
    base = baseline(op, synth)

    def build(value: Any) -> Request:
        r = copy.deepcopy(base)
        r.query[UNDECLARED] = value
        return r

    string = {"type": "string"}
    return Slot(
        "query", UNDECLARED, f"{UNDECLARED}(not declared)", string, [string], build
    )
