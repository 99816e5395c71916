"""SCIM filters (RFC 7644 §3.4.2.2) parsed and translated to a SQL condition."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from chassis.inputs import INT32_MAX, INT32_MIN, has_control_characters
from services.profiles.scim.errors import ScimError
from services.profiles.scim.mapping import _SCHEMAS, FIELDS, Field, _split, resolve
from services.profiles.scim.protocol import CORE

_TOKEN = re.compile(r'\s*(?:(?P<p>[()])|(?P<s>"(?:[^"\\]|\\.)*")|(?P<w>[^\s()"]+))')
_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
_COMPARE = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_FILTER_EXTRA = {
    (CORE, "id"): Field("id", "id", "p.person_id", case_exact=True),
    (CORE, "emails"): FIELDS["userName"],
    (CORE, "emails.value"): FIELDS["userName"],
    (CORE, "meta.created"): Field("created", "meta.created", "p.created_at", "time"),
    (CORE, "meta.lastmodified"): Field(
        "lm", "meta.lastModified", "p.updated_at", "time"
    ),
}


MAX_LENGTH = 2000  # characters of one filter
MAX_DEPTH = 16  # parentheses (and ``not``) nested in one filter; IdPs send one or two


def _bad_filter(detail: str) -> ScimError:
    return ScimError(400, "invalidFilter", detail)


class _FilterCompiler:
    """RFC 7644 §3.4.2.2 filters (and, or, not, parentheses, every operator) to SQL."""

    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        source = source.strip()
        while position < len(source):
            m = _TOKEN.match(source, position)
            if m is None or m.end() == position:
                raise _bad_filter(f"cannot read the filter at {source[position:]!r}")
            kind = m.lastgroup or "w"
            self.tokens.append((kind, m[kind]))
            position = m.end()
        self.at = 0
        self.depth = 0
        self.params: dict[str, Any] = {}

    def compile(self) -> tuple[str, dict[str, Any]]:
        if not self.tokens:
            raise _bad_filter("the filter is empty")
        sql = self._any()
        if self.at < len(self.tokens):
            raise _bad_filter(f"unexpected {self.tokens[self.at][1]!r}")
        return sql, self.params

    def _next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise _bad_filter("the filter ends too early")
        self.at += 1
        return self.tokens[self.at - 1]

    def _word(self, *words: str) -> bool:
        if self.at < len(self.tokens) and self.tokens[self.at][0] == "w":
            if self.tokens[self.at][1].lower() in words:
                self.at += 1
                return True
        return False

    def _any(self) -> str:
        parts = [self._all()]
        while self._word("or"):
            parts.append(self._all())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _all(self) -> str:
        parts = [self._one()]
        while self._word("and"):
            parts.append(self._one())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _group(self) -> str:
        # Bounded here, before recursing: a deep filter would otherwise exhaust the
        # parser's stack or the database's (an outage-looking error, not a 400).
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _bad_filter(f"the filter nests deeper than {MAX_DEPTH} parentheses")
        inner = self._any()
        if self._next() != ("p", ")"):
            raise _bad_filter("a parenthesis is not closed")
        self.depth -= 1
        return f"({inner})"

    def _one(self) -> str:
        kind, word = self._next()
        if (kind, word) == ("p", "("):
            return self._group()
        if kind == "w" and word.lower() == "not":
            if self._next() != ("p", "("):
                raise _bad_filter("not must be followed by a parenthesis")
            return f"NOT COALESCE({self._group()}, FALSE)"  # unknown is not a match
        if kind != "w":
            raise _bad_filter(f"expected an attribute, found {word!r}")
        field = self._field(word)
        op = self._next()[1].lower()
        if op == "pr":
            column = field.column
            if field.kind == "boolean":
                return "TRUE"
            if field.kind in ("string", "reference"):
                return f"({column} IS NOT NULL AND {column} <> '')"
            return f"{column} IS NOT NULL"
        if op not in _OPS:
            raise _bad_filter(f"unknown operator {op!r}")
        return self._compare(field, op, self._value())

    def _field(self, path: str) -> Field:
        urn, rest = _split(path)
        for schema in (urn,) if urn else _SCHEMAS:
            extra = _FILTER_EXTRA.get((schema, rest.lower()))
            if extra is not None:
                return extra
        target = resolve(path, "invalidFilter")[0]
        if target not in FIELDS:
            raise _bad_filter(f"cannot filter on {path!r}")
        return FIELDS[target]

    def _value(self) -> Any:
        kind, word = self._next()
        if kind == "s":
            try:
                value = json.loads(word)
            except ValueError as exc:
                raise _bad_filter(f"{word[:80]} is not a JSON string") from exc
            if has_control_characters(value):
                raise _bad_filter("a filter value must not hold control characters")
            return value
        literal = {"true": True, "false": False, "null": None}
        if kind == "w" and word.lower() in literal:
            return literal[word.lower()]
        if kind == "w" and re.fullmatch(r"-?\d{1,10}", word):
            number = int(word)
            if INT32_MIN <= number <= INT32_MAX:
                return number
        raise _bad_filter(f"{word!r} is not a value")

    def _param(self, value: Any) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def _compare(self, field: Field, op: str, value: Any) -> str:
        column = field.column
        if value is None and op in ("eq", "ne"):
            return f"{column} IS {'' if op == 'eq' else 'NOT '}NULL"
        if field.kind == "boolean":
            if not isinstance(value, bool) or op not in ("eq", "ne"):
                raise _bad_filter(f"{field.path} takes eq/ne true or false")
            return f"({column})" if value == (op == "eq") else f"NOT ({column})"
        if field.kind == "strings":
            if op not in ("eq", "ne") or not isinstance(value, str):
                raise _bad_filter(f"{field.path} takes eq/ne and a string")
            like = f"{column} LIKE {self._param(f'%{json.dumps(value)}%')}"
            return like if op == "eq" else f"NOT ({like})"
        if field.kind == "integer":
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or op not in _COMPARE
            ):
                raise _bad_filter(f"{field.path} takes a comparison and an integer")
            return f"{column} {_COMPARE[op]} {self._param(value)}"
        if field.kind == "time":
            try:
                stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError as exc:
                raise _bad_filter(f"{field.path} takes an ISO 8601 time") from exc
            if op not in _COMPARE:
                raise _bad_filter(f"{field.path} takes eq, ne, gt, ge, lt or le")
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return f"{column} {_COMPARE[op]} {self._param(stamp)}"
        if not isinstance(value, str):
            raise _bad_filter(f"{field.path} takes a string")
        if not field.case_exact:
            column, value = f"lower({column})", value.lower()
        if op in _COMPARE:
            sql = f"{column} {_COMPARE[op]} {self._param(value)}"
            return f"({column} IS NULL OR {sql})" if op == "ne" else sql
        escaped = re.sub(r"([\\%_])", r"\\\1", value)
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return f"{column} LIKE {self._param(pattern)} ESCAPE '\\'"


def compile_filter(source: str) -> tuple[str, dict[str, Any]]:
    """SQL condition and parameters of a SCIM filter, or ``invalidFilter``."""
    if len(source) > MAX_LENGTH:
        raise _bad_filter(f"the filter is longer than {MAX_LENGTH} characters")
    if has_control_characters(source):
        raise _bad_filter("the filter must not hold control characters")
    compiler = _FilterCompiler(source)
    sql, params = compiler.compile()
    return sql, params
