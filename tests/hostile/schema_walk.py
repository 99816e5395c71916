"""Read a service's OpenAPI document: its operations, a valid request, every field.

The hostile suite and the input-policy test are generated from ``app.openapi()``, so
a route or a field added tomorrow is covered without anyone listing it. This module
knows nothing about HTTP or databases: it turns schemas into values.

- ``operations(doc)``: every (method, path) with its parameters and JSON body schema.
- ``Synthesiser``: a minimal valid value for a schema (its example or default, an
  enum's first member, a string matching its pattern and lengths, an integer inside
  its range, a seeded id for a field named like a reference).
- ``slots(op, synth)``: every place a hostile value can go, one at a time: each path,
  query and header parameter, and each body member at any depth (array items and map
  values included), with a builder that returns the whole request with only that
  place changed.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

JSON = "application/json"
MAX_DEPTH = 8


# -- the document ----------------------------------------------------------------------


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


# -- valid values ----------------------------------------------------------------------

# A field's name says which seeded resource a valid value points at. ``ids`` and
# ``relationship_ids`` in batch routes are read from the route's first segment.
REFERENCE_NAMES: dict[str, str] = {
    "person_id": "person",
    "mentee_id": "person",
    "user_id": "person",
    "owner_id": "person",
    "sponsor_id": "person",
    "host_id": "mentor",
    "mentor_id": "mentor",
    "absent_ids": "person",
    "absent_id": "person",
    "goal_competency_id": "competency",
    "manager_id": "mentor",
    "cohort_id": "cohort",
    "competency_id": "competency",
    "goal_competency_ids": "competency",
    "job_id": "job",
    "round_id": "round",
    "pairing_id": "pairing",
    "relationship_id": "relationship",
    "rel_id": "relationship",
    "relationship_ids": "relationship",
    "session_id": "session",
    "subject_id": "session",
    "note_id": "note",
    "milestone_id": "milestone",
    "survey_id": "survey",
    "rotation_id": "rotation",
    "escalation_id": "escalation",
    "advisor_id": "advisor",
    "member_id": "advisor",
    "made_by": "advisor",
    "agreement_id": "agreement",
    "engagement_id": "engagement",
    "council_id": "council",
    "meeting_id": "meeting",
    "recommendation_id": "recommendation",
    "risk_id": "risk",
    "dead_letter_id": "dead_letter",
    "prompt_id": "prompt",
    "check": "check",
    "purpose": "purpose",
    "type_id": "scim_type",
    "schema_id": "scim_schema",
}
ROUTE_RESOURCES: dict[str, str] = {
    "people": "person",
    "cohorts": "cohort",
    "imports": "job",
    "rounds": "round",
    "pairings": "pairing",
    "relationships": "relationship",
    "sessions": "session",
    "milestones": "milestone",
    "development-items": "relationship",
    "notes": "relationship",
    "feedback": "relationship",
    "advisors": "advisor",
    "agreements": "agreement",
    "councils": "council",
    "risks": "risk",
    "scorecards": "person",
}
DATE_NAMES = re.compile(
    r"(^|_)(on|at|date|as_of|from|to|until|since|starts|ends|due|closes)($|_)"
)
LATER_NAMES = re.compile(r"(end|until|due|clos|(^|_)to$)")
STRING_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"email"), "hostile.suite@example.com"),
    (re.compile(r"time_zone|timezone"), "Europe/London"),
    (re.compile(r"geograph|country|market"), "GB"),
    (re.compile(r"language"), "en"),
    (re.compile(r"currency"), "GBP"),
    (re.compile(r"^start$"), "08:00"),
    (re.compile(r"^end$"), "12:00"),
    (re.compile(r"quarter"), "2027Q1"),
    (re.compile(r"^format$"), "json"),
    (re.compile(r"if-match|if_match"), '"1"'),
]
CANDIDATES = ["hostile", "x1", "GB", "en", "json", "08:00", "2027Q1", "a@b.example"]


def reference_key(name: str, path: str) -> str | None:
    """The seeded resource a field named ``name`` in route ``path`` refers to."""
    if name in REFERENCE_NAMES:
        return REFERENCE_NAMES[name]
    if name in ("ids", "id"):
        segments = [s for s in path.split("/") if s and not s.startswith("{")]
        for segment in segments:
            if segment in ROUTE_RESOURCES:
                return ROUTE_RESOURCES[segment]
        return None
    if name.endswith("_id") or name.endswith("_ids"):
        return "unknown"
    return None


def looks_like_reference(name: str, schema: dict[str, Any], in_path: bool) -> bool:
    return (
        in_path
        or name.endswith(("_id", "_ids"))
        or name in REFERENCE_NAMES
        or name in ("ids", "id")
    )


def looks_like_date(name: str, schema: dict[str, Any]) -> bool:
    fmt = schema.get("format")
    if fmt in ("date", "date-time"):
        return True
    return schema.get("type") == "string" and bool(DATE_NAMES.search(name))


def _fits(value: str, schema: dict[str, Any]) -> bool:
    if len(value) < schema.get("minLength", 0):
        return False
    if len(value) > schema.get("maxLength", 10**9):
        return False
    pattern = schema.get("pattern")
    if pattern:
        try:
            return re.search(pattern, value) is not None
        except re.error:
            return True
    return True


_REGEX_CACHE: dict[tuple[str, int, int], str | None] = {}


def _from_regex(pattern: str, low: int, high: int) -> str | None:
    key = (pattern, low, high)
    if key not in _REGEX_CACHE:
        from hypothesis import find
        from hypothesis import strategies as st
        from hypothesis.errors import HypothesisException, NoSuchExample

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _REGEX_CACHE[key] = find(
                    st.from_regex(pattern, fullmatch=True),
                    lambda s: low <= len(s) <= high and s.strip() == s and s != "",
                )
        except (HypothesisException, NoSuchExample, re.error, ValueError):
            _REGEX_CACHE[key] = None
    return _REGEX_CACHE[key]


class Synthesiser:
    """Builds minimal valid values; ``seeds`` maps resource names to real ids."""

    def __init__(
        self, resolver: Resolver, seeds: dict[str, str], *, today: date | None = None
    ) -> None:
        self.resolver = resolver
        self.seeds = seeds
        self.today = today or datetime.now(UTC).date()

    # The route's path is needed to read ``ids`` in a batch route.
    def value(self, schema: dict[str, Any] | None, name: str, route: str) -> Any:
        return self._value(schema, name, route, 0)

    def _value(
        self, schema: dict[str, Any] | None, name: str, route: str, depth: int
    ) -> Any:
        raw = self.resolver.deref(schema)
        s = self.resolver.main(raw)
        kind = kind_of(s)
        ref = reference_key(name, route)
        # A documented example wins, then a seeded id, then a default.
        for source in (raw, s):
            if "example" in source and source["example"] is not None:
                return copy.deepcopy(source["example"])
            if source.get("examples") and isinstance(source["examples"], list):
                return copy.deepcopy(source["examples"][0])
        if kind == "string" and ref and ref in self.seeds:
            return self.seeds[ref]
        if "default" in raw and raw["default"] is not None and kind != "object":
            return copy.deepcopy(raw["default"])
        if s.get("enum"):
            return s["enum"][0]
        if "const" in s:
            return s["const"]
        if depth > MAX_DEPTH:
            return None
        if kind == "object":
            return {
                prop: self._value(ps, prop, route, depth + 1)
                for prop, ps in s.get("properties", {}).items()
                if prop in s.get("required", [])
            }
        if kind == "map":
            count = s.get("minProperties", 0)
            return {
                f"k{i}": self._value(s["additionalProperties"], name, route, depth + 1)
                for i in range(count)
            }
        if kind == "array":
            item_name = name[:-1] if name.endswith("s") else name
            if name.endswith("_ids"):
                item_name = name[:-1]
            if name == "ids":
                item_name = "ids"
            n = max(1, s.get("minItems", 0))
            n = min(n, s.get("maxItems", n))
            items = s.get("items", {})
            if s.get("uniqueItems") and n > 1:
                return [self._value(items, item_name, route, depth + 1)]
            return [self._value(items, item_name, route, depth + 1) for _ in range(n)]
        if kind == "integer":
            return int(self._number(s, name, integer=True))
        if kind == "number":
            return self._number(s, name, integer=False)
        if kind == "boolean":
            return False
        if kind == "string":
            return self._string(s, name)
        return "hostile"

    def _number(self, s: dict[str, Any], name: str, *, integer: bool) -> float:
        low = s.get("minimum", s.get("exclusiveMinimum"))
        high = s.get("maximum", s.get("exclusiveMaximum"))
        if "exclusiveMinimum" in s and "minimum" not in s:
            low = low + (1 if integer else 0.001)
        if "exclusiveMaximum" in s and "maximum" not in s:
            high = high - (1 if integer else 0.001)
        if not integer and low is not None and high is not None:
            return (low + high) / 2
        wanted = 5 if name == "level" else 1
        if low is not None:
            wanted = max(wanted, low)
        if high is not None:
            wanted = min(wanted, high)
        return wanted

    def _string(self, s: dict[str, Any], name: str) -> str:
        fmt = s.get("format")
        if fmt == "date" or (fmt is None and self._date_named(name, s)):
            return self._date(name).isoformat()
        if fmt == "date-time":
            day = self._date(name)
            return f"{day.isoformat()}T10:00:00+00:00"
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000001"
        if fmt == "email":
            return "hostile.suite@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/x"
        lowered = name.lower()
        for pattern, value in STRING_HINTS:
            if pattern.search(lowered) and _fits(value, s):
                return value
        for value in CANDIDATES:
            if _fits(value, s):
                return value
        low = s.get("minLength", 1)
        high = s.get("maxLength", max(low, 16))
        if s.get("pattern"):
            found = _from_regex(s["pattern"], max(low, 1), high)
            if found is not None:
                return found
        return ("hostile" * (low // 7 + 1))[: max(low, min(high, 7))]

    @staticmethod
    def _date_named(name: str, s: dict[str, Any]) -> bool:
        return bool(DATE_NAMES.search(name)) and not s.get("pattern")

    def _date(self, name: str) -> date:
        if LATER_NAMES.search(name):
            return self.today + timedelta(days=120)
        if "start" in name or name in ("from", "held_on", "on", "since"):
            return self.today + timedelta(days=1)
        if name in ("hire_date",):
            return self.today - timedelta(days=400)
        return self.today


# -- the places a hostile value can go ----------------------------------------------------


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
