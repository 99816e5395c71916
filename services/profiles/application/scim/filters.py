"""SCIM filters (RFC 7644 §3.4.2.2): parsed, then decided by SQL where it can.

A person's names, email, title, employee number, hire date and the IdP's externalId
are sealed in the database (``services.profiles.projections.sealed``), so SQL cannot compare them.
A filter is planned (``Filter.plan``): what SQL can decide becomes a condition - every
comparison of a clear attribute, ``eq``/``ne`` on ``userName`` (``emails.value``) and
``externalId`` through their blind indexes, and ``eq null``/``ne null`` on any
attribute - and the rest is a predicate evaluated in Python over the opened rows
SQL lets through. A filter SQL decides entirely reads a page; one with a residual
predicate reads every row the SQL part lets through (the tenant's users, for
``userName co "x"``) and counts and pages in Python.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Union

from chassis.inputs import INT32_MAX, INT32_MIN, has_control_characters
from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.mapping import (
    FIELDS,
    SCHEMAS,
    Field,
    resolve,
    split_path,
)
from services.profiles.application.scim.protocol import CORE
from services.profiles.application.scim.rows import UserRow

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


# Columns sealed in the database; those with a blind index (and whether it is of the
# lower-cased value, as for a case-insensitive attribute).
SEALED_COLUMNS = frozenset(
    {"p.email", "p.given_name", "p.family_name", "p.title", "p.employee_id"}
    | {"p.hire_date", "s.external_id"}
)
INDEXES = {"p.email": "p.email_index", "s.external_id": "s.external_index"}
# The blind index of a value of one of ``INDEXES``: (column, value) -> index.
Indexer = Callable[[str, str], str]
# The parameters of a filter's SQL condition (``:f0``, ``:f1``, …).
SqlParams = dict[str, object]
# A value as a filter writes it (a JSON string, true, false, null or an integer) and
# as a comparison keeps it, checked and normalised (lower-cased, a time parsed).
FilterLiteral = str | bool | int | None
Operand = FilterLiteral | datetime
# An attribute's value in an opened row (``_actual``), and what orders (integers,
# times and strings; a bool is an int).
Actual = str | int | datetime | list[str] | None
Ordered = str | int | datetime
_PY_COMPARE: dict[str, Callable[[Ordered, Ordered], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


@dataclass(frozen=True)
class _Compare:
    field: Field
    op: str  # one of _OPS, or "pr"
    value: Operand  # checked and normalised (lower-cased, a time parsed) when parsed


@dataclass(frozen=True)
class _Junction:
    word: str  # "AND" | "OR"
    parts: tuple[_Node, ...]


@dataclass(frozen=True)
class _Group:
    inner: _Node


@dataclass(frozen=True)
class _Not:
    inner: _Group


_Node = Union[_Compare, _Junction, _Group, _Not]  # noqa: UP007


class _Parser:
    """RFC 7644 §3.4.2.2 filters (and, or, not, parentheses, every operator)."""

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

    def parse(self) -> _Node:
        if not self.tokens:
            raise _bad_filter("the filter is empty")
        node = self._any()
        if self.at < len(self.tokens):
            raise _bad_filter(f"unexpected {self.tokens[self.at][1]!r}")
        return node

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

    def _any(self) -> _Node:
        parts = [self._all()]
        while self._word("or"):
            parts.append(self._all())
        return parts[0] if len(parts) == 1 else _Junction("OR", tuple(parts))

    def _all(self) -> _Node:
        parts = [self._one()]
        while self._word("and"):
            parts.append(self._one())
        return parts[0] if len(parts) == 1 else _Junction("AND", tuple(parts))

    def _group(self) -> _Group:
        # Bounded here, before recursing: a deep filter would otherwise exhaust the
        # parser's stack or the database's (an outage-looking error, not a 400).
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _bad_filter(f"the filter nests deeper than {MAX_DEPTH} parentheses")
        inner = self._any()
        if self._next() != ("p", ")"):
            raise _bad_filter("a parenthesis is not closed")
        self.depth -= 1
        return _Group(inner)

    def _one(self) -> _Node:
        kind, word = self._next()
        if (kind, word) == ("p", "("):
            return self._group()
        if kind == "w" and word.lower() == "not":
            if self._next() != ("p", "("):
                raise _bad_filter("not must be followed by a parenthesis")
            return _Not(self._group())
        if kind != "w":
            raise _bad_filter(f"expected an attribute, found {word!r}")
        field = self._field(word)
        op = self._next()[1].lower()
        if op == "pr":
            return _Compare(field, "pr", None)
        if op not in _OPS:
            raise _bad_filter(f"unknown operator {op!r}")
        return _checked(field, op, self._value())

    def _field(self, path: str) -> Field:
        urn, rest = split_path(path)
        for schema in (urn,) if urn else SCHEMAS:
            extra = _FILTER_EXTRA.get((schema, rest.lower()))
            if extra is not None:
                return extra
        target = resolve(path, "invalidFilter")[0]
        if target not in FIELDS:
            raise _bad_filter(f"cannot filter on {path!r}")
        return FIELDS[target]

    def _value(self) -> FilterLiteral:
        kind, word = self._next()
        if kind == "s":
            try:
                value: str = json.loads(word)
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


def _checked(field: Field, op: str, value: FilterLiteral) -> _Compare:
    """A comparison whose operator and value suit the attribute, or ``invalidFilter``."""
    if value is None and op in ("eq", "ne"):
        return _Compare(field, op, None)
    if field.kind == "boolean":
        if not isinstance(value, bool) or op not in ("eq", "ne"):
            raise _bad_filter(f"{field.path} takes eq/ne true or false")
        return _Compare(field, op, value)
    if field.kind == "strings":
        if op not in ("eq", "ne") or not isinstance(value, str):
            raise _bad_filter(f"{field.path} takes eq/ne and a string")
        return _Compare(field, op, value)
    if field.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool) or op not in _COMPARE:
            raise _bad_filter(f"{field.path} takes a comparison and an integer")
        return _Compare(field, op, value)
    if field.kind == "time":
        try:
            stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad_filter(f"{field.path} takes an ISO 8601 time") from exc
        if op not in _COMPARE:
            raise _bad_filter(f"{field.path} takes eq, ne, gt, ge, lt or le")
        return _Compare(field, op, stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    if not isinstance(value, str):
        raise _bad_filter(f"{field.path} takes a string")
    return _Compare(field, op, value if field.case_exact else value.lower())


# -- SQL ---------------------------------------------------------------------------


class _NeedsPython(Exception):
    """A comparison of a sealed column SQL cannot decide."""


class _Sql:
    def __init__(self, index: Indexer | None) -> None:
        self.index = index
        self.params: SqlParams = {}

    def _param(self, value: object) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def of(self, node: _Node) -> str:
        if isinstance(node, _Junction):
            return "(" + f" {node.word} ".join(self.of(p) for p in node.parts) + ")"
        if isinstance(node, _Group):
            return f"({self.of(node.inner)})"
        if isinstance(node, _Not):
            return f"NOT COALESCE({self.of(node.inner)}, FALSE)"  # unknown: no match
        return self._compare(node)

    def _compare(self, c: _Compare) -> str:
        field, op, value = c.field, c.op, c.value
        column = field.column
        if op == "pr":
            if field.kind == "boolean":
                return "TRUE"
            if column in SEALED_COLUMNS:  # a sealed '' is not empty: Python decides
                raise _NeedsPython
            if field.kind in ("string", "reference"):
                return f"({column} IS NOT NULL AND {column} <> '')"
            return f"{column} IS NOT NULL"
        if value is None:  # None stays None when sealed
            return f"{column} IS {'' if op == 'eq' else 'NOT '}NULL"
        if column in SEALED_COLUMNS:
            indexed = column in INDEXES and op in ("eq", "ne")
            if not indexed or self.index is None or not isinstance(value, str):
                raise _NeedsPython
            index = INDEXES[column]
            sql = f"{index} = {self._param(self.index(column, value))}"
            return sql if op == "eq" else f"({index} IS NULL OR NOT {sql})"
        if field.kind == "boolean":
            return f"({column})" if value == (op == "eq") else f"NOT ({column})"
        if field.kind == "strings":
            like = f"{column} LIKE {self._param(f'%{json.dumps(value)}%')}"
            return like if op == "eq" else f"NOT ({like})"
        if field.kind in ("integer", "time"):
            return f"{column} {_COMPARE[op]} {self._param(value)}"
        if not field.case_exact:
            column = f"lower({column})"
        if op in _COMPARE:
            sql = f"{column} {_COMPARE[op]} {self._param(value)}"
            return f"({column} IS NULL OR {sql})" if op == "ne" else sql
        escaped = re.sub(r"([\\%_])", r"\\\1", str(value))  # a string
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return f"{column} LIKE {self._param(pattern)} ESCAPE '\\'"


# -- Python ------------------------------------------------------------------------


def _actual(field: Field, row: UserRow) -> Actual:
    """The attribute's value in an opened row (see ``sealed.open_row``)."""
    if field.kind == "boolean":
        return row.status == "active"
    name = field.column.partition(".")[2]
    value = getattr(row, "scim_external_id" if name == "external_id" else name)
    if value is None:
        return None
    if field.kind == "strings":
        return json.loads(value)
    if field.kind == "time" and isinstance(value, str):
        value = datetime.fromisoformat(value)
    if field.kind == "time" and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _holds(node: _Node, row: UserRow) -> bool | None:
    """The node's truth for ``row`` as SQL would have it (None: unknown)."""
    if isinstance(node, _Group):
        return _holds(node.inner, row)
    if isinstance(node, _Not):
        return _holds(node.inner, row) is not True
    if isinstance(node, _Junction):
        seen = [_holds(p, row) for p in node.parts]
        decisive = node.word == "OR"  # True decides an OR, False an AND
        if decisive in seen:
            return decisive
        return None if None in seen else not decisive
    return _compare(node, _actual(node.field, row))


def _compare(c: _Compare, actual: Actual) -> bool | None:
    field, op, value = c.field, c.op, c.value
    if op == "pr":
        if field.kind == "boolean":
            return True
        if field.kind in ("string", "reference"):
            return actual is not None and actual != ""
        return actual is not None
    if value is None:
        return (actual is None) == (op == "eq")
    if field.kind == "boolean":
        return bool(actual) if value == (op == "eq") else not actual
    if actual is None:
        return True if op == "ne" and field.kind not in _NOT_NULL_NE else None
    if isinstance(actual, list):  # the strings kind
        return (value in actual) == (op == "eq")
    if field.kind in ("integer", "time"):
        return _PY_COMPARE[op](actual, value)
    text, wanted = str(actual), str(value)  # the string kinds: strings already
    if not field.case_exact:
        text = text.lower()
    if op in _PY_COMPARE:
        return _PY_COMPARE[op](text, wanted)
    if op == "co":
        return wanted in text
    return text.startswith(wanted) if op == "sw" else text.endswith(wanted)


# ``ne`` of these kinds is a plain SQL comparison: unknown, not true, on NULL.
_NOT_NULL_NE = ("strings", "integer", "time")


# -- the plan ----------------------------------------------------------------------

Predicate = Callable[[UserRow], bool]


@dataclass(frozen=True)
class Filter:
    """A parsed filter; ``plan`` says what SQL decides and what Python must."""

    root: _Node

    def plan(
        self, index: Indexer | None = None
    ) -> tuple[str, SqlParams, Predicate | None]:
        """(SQL condition, its parameters, the predicate left for Python or None).

        The whole filter goes to SQL when it can; otherwise its top-level ``and``
        terms that SQL can decide do, and the others are left to the predicate.
        """
        sql = _Sql(index)
        try:
            return sql.of(self.root), sql.params, None
        except _NeedsPython:
            pass
        sql = _Sql(index)
        decided, left = [], []
        for term in _terms(self.root):
            try:
                decided.append(sql.of(term))
            except _NeedsPython:
                left.append(term)
        where = " AND ".join(f"({t})" for t in decided) or "TRUE"
        return where, sql.params, lambda row: all(_holds(t, row) is True for t in left)


def _terms(node: _Node) -> list[_Node]:
    """The terms of a top-level conjunction (parentheses around it looked through)."""
    if isinstance(node, _Group):
        return _terms(node.inner)
    if isinstance(node, _Junction) and node.word == "AND":
        return [t for part in node.parts for t in _terms(part)]
    return [node]


def parse_filter(source: str) -> Filter:
    """A SCIM filter parsed and checked, or ``invalidFilter``."""
    if len(source) > MAX_LENGTH:
        raise _bad_filter(f"the filter is longer than {MAX_LENGTH} characters")
    if has_control_characters(source):
        raise _bad_filter("the filter must not hold control characters")
    return Filter(_Parser(source).parse())


def compile_filter(source: str) -> tuple[str, SqlParams]:
    """SQL condition and parameters of a filter SQL decides alone (clear attributes,
    ``null`` tests), or ``invalidFilter``; the users service plans with indexes."""
    where, params, left = parse_filter(source).plan()
    if left is not None:
        raise _bad_filter("this filter needs the users service (sealed attributes)")
    return where, params
