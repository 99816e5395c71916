"""Minimal valid values for a schema, so that one hostile field at a time is tested.

A documented example wins, then a seeded id for a field named like a reference (the
caller organisation's person, cohort, relationship...), then a default, an enum's
first member, a string matching the pattern and lengths, a number inside the range,
a date a little ahead of today.
"""

from __future__ import annotations

import copy
import re
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.hostile.document import MAX_DEPTH, Resolver, kind_of

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
# A field named like a date (``starts_on``, ``held_at``, ``as_of``, ``from``), even
# where its schema is a plain string.
DATE_NAMES = re.compile(r"(^|_)(on|at|date|as_of|from|to|until|since)$")
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
