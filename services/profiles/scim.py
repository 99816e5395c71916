"""SCIM 2.0 users (RFC 7643/7644): identity providers provision Tandem's people.

A SCIM ``User`` is a person of the token's tenant. Every change goes through
``Profiles`` (so it is an event like any other); reads come from the ``people`` table.

=======================================================  ===============================
SCIM attribute                                           person
=======================================================  ===============================
``id``                                                   ``person_id`` (read-only)
``userName`` (unique per tenant, case-insensitive)       ``email``
``emails[primary].value``                                ``email`` (read-only: userName)
``name.givenName`` / ``name.familyName``                 ``given_name`` / ``family_name``
``title``                                                ``title``
``active``                                               active / deactivated
``timezone``                                             ``time_zone``
``addresses[0].country``                                 ``geography``
``externalId``                                           kept beside the person (SCIM)
enterprise ``employeeNumber`` (unique per tenant)        ``employee_id``
enterprise ``department``                                ``business_unit``
enterprise ``division``                                  ``function``
enterprise ``manager.value`` (the manager's SCIM id)     ``manager_id``
tandem ``level`` / ``function`` / ``geography``          the same
tandem ``roles`` / ``hireDate`` / ``languages``          programme roles, hire date, …
=======================================================  ===============================

Defaults, for identity providers that know nothing of Tandem:

- required, no default (400 ``invalidValue`` naming the attribute, nothing created):
  ``userName``, ``name.givenName``, ``name.familyName``, enterprise ``department``,
  tandem ``level``, ``function`` (or enterprise ``division``) and ``geography`` (or
  ``addresses[0].country``). The Tandem extension wins where both are sent.
- ``active`` defaults to true, ``timezone`` to ``UTC``, ``roles`` and ``languages`` to
  none (a coordinator assigns programme roles).
- PUT replaces what an identity provider owns (core and enterprise attributes); the
  Tandem attributes and ``timezone``/``active`` keep their value when a PUT omits them,
  so an IdP that does not send them never wipes them.
- Tandem keeps one address: ``emails`` always reads as the userName, and ``emails``
  sent by an IdP are ignored (change the userName to change the address).
- Attributes of the core and enterprise schemas that Tandem does not keep (phone
  numbers, display name, street addresses, cost centre, …) are accepted and ignored;
  attributes of no known schema are refused (``invalidPath`` in a PATCH,
  ``invalidValue`` in a POST or PUT).

``active: false`` deactivates the person (reason ``inactive``); ``active: true``
reactivates them. DELETE *deprovisions*: the person is deactivated with reason
``deprovisioned`` and the User answers 404 from then on (RFC 7644 §3.6), but nothing is
erased: erasure destroys the person's key (crypto-shredding) and makes every service
forget them, so it stays a deliberate admin action (``DELETE /people/{id}``). A later
POST with the same ``userName`` or ``employeeNumber`` brings the deprovisioned person
back, history intact.

Filters take every operator of RFC 7644 §3.4.2.2 with ``and``/``or``/``not`` and
parentheses, on the attributes above plus ``id``, ``emails.value`` and
``meta.created``/``meta.lastModified`` (no value paths such as ``emails[type eq …]``).
Pages are 1-based (``startIndex``/``count``, at most 200 a page); ETags are weak and
change with every write; ``If-Match`` is honoured on PUT, PATCH and DELETE.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.errors import (
    ConcurrencyConflict,
    Conflict,
    DomainError,
    NotFound,
    TandemError,
    ValidationFailed,
)
from services.profiles.application import Profiles
from services.profiles.domain.errors import PersonGone
from services.profiles.domain.person import ROLES, PersonDetails, check_roles

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TANDEM = "urn:ietf:params:scim:schemas:extension:tandem:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
MAX_RESULTS = 200
DEACTIVATED = "inactive"
DEPROVISIONED = "deprovisioned"


class ScimError(TandemError):
    """An error with its SCIM status and ``scimType`` (RFC 7644 §3.12)."""

    code = "ScimError"

    def __init__(self, status: int, scim_type: str | None, detail: str) -> None:
        super().__init__(detail)
        self.scim_status = status
        self.scim_type = scim_type


def _invalid(detail: str) -> ScimError:
    return ScimError(400, "invalidValue", detail)


# -- attributes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A SCIM attribute Tandem keeps: its record key, path and filter column."""

    name: str
    path: str
    column: str
    kind: str = "string"  # string | boolean | integer | date | strings | reference
    case_exact: bool = False


FIELDS = {
    f.name: f
    for f in (
        Field("userName", "userName", "p.email"),
        Field("externalId", "externalId", "s.external_id", case_exact=True),
        Field("givenName", "name.givenName", "p.given_name"),
        Field("familyName", "name.familyName", "p.family_name"),
        Field("title", "title", "p.title"),
        Field("active", "active", "p.status = 'active'", "boolean"),
        Field("timezone", "timezone", "p.time_zone"),
        Field("employeeNumber", f"{ENTERPRISE}:employeeNumber", "p.employee_id"),
        Field("department", f"{ENTERPRISE}:department", "p.business_unit"),
        Field("manager", f"{ENTERPRISE}:manager", "p.manager_id", "reference", True),
        Field("level", f"{TANDEM}:level", "p.level", "integer"),
        Field("function", f"{TANDEM}:function", "p.function"),
        Field("geography", f"{TANDEM}:geography", "p.geography"),
        Field("roles", f"{TANDEM}:roles", "p.roles", "strings"),
        Field("hireDate", f"{TANDEM}:hireDate", "p.hire_date", "date"),
        Field("languages", f"{TANDEM}:languages", "p.languages", "strings"),
    )
}
REQUIRED = ("userName", "givenName", "familyName", "active", "department", "level")
REQUIRED += ("function", "geography")
# What a PUT replaces; the rest (Tandem's own, timezone, active) keep their value.
IDP_OWNED = ("userName", "externalId", "givenName", "familyName", "title")
IDP_OWNED += ("employeeNumber", "department", "manager")
RESET = {"timezone": "UTC", "roles": [], "languages": []}
# PersonDetails field → the SCIM attribute to name in an error.
DETAIL_PATHS = {
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "userName",
    "time_zone": "timezone",
    "employee_id": FIELDS["employeeNumber"].path,
    "business_unit": FIELDS["department"].path,
    "manager_id": FIELDS["manager"].path,
    "hire_date": FIELDS["hireDate"].path,
    **{n: FIELDS[n].path for n in ("level", "function", "geography", "roles", "title")},
}

IGNORE, READ_ONLY = "@ignore", "@readonly"
# (schema, lower-cased attribute path) → the record field or a composite handler.
_TARGETS: dict[tuple[str, str], str] = {
    (f.path.rpartition(":")[0] or CORE, f.path.rpartition(":")[2].lower()): f.name
    for f in FIELDS.values()
}
_TARGETS.update(
    {
        (CORE, "name"): "@name",
        (CORE, "addresses"): "@addresses",
        (CORE, "addresses.country"): "geography",
        (ENTERPRISE, "manager.value"): "manager",
        (ENTERPRISE, "division"): "function",
    }
)
# Standard attributes Tandem does not keep (other sub-attributes of name, addresses
# and manager included): accepted and ignored rather than failing an IdP's mapping.
_IGNORED = {
    (CORE, a)
    for a in (
        "displayname nickname profileurl usertype preferredlanguage locale password "
        "emails phonenumbers ims photos entitlements roles x509certificates name "
        "addresses"
    ).split()
} | {(ENTERPRISE, "costcenter"), (ENTERPRISE, "organization"), (ENTERPRISE, "manager")}
_READ_ONLY = {(CORE, "id"), (CORE, "meta"), (CORE, "groups"), (CORE, "schemas")}
_SCHEMAS = (CORE, ENTERPRISE, TANDEM)
_SELECTOR = re.compile(
    r"^(?P<head>[^\[\]]+)(?:\[(?P<sel>[^\]]*)\](?P<tail>\.[^\[\]]+)?)?$"
)
_VALUE_EQ = re.compile(r'^\s*value\s+eq\s+"(?P<v>[^"]*)"\s*$', re.IGNORECASE)


def _split(path: str) -> tuple[str, str]:
    """(schema URN or "", attribute path) of a SCIM path; the URN match ignores case."""
    low = path.strip().lower()
    for urn in _SCHEMAS:
        u = urn.lower()
        if low == u:
            return urn, ""
        if low.startswith(u + ":"):
            return urn, path.strip()[len(u) + 1 :]
    return "", path.strip()


def _lookup(urn: str, attr: str) -> str | None:
    if not attr:
        return "@schema"
    found = _TARGETS.get((urn, attr))
    if found:
        return found
    top = attr.split(".")[0]
    if (urn, top) in _READ_ONLY:
        return READ_ONLY
    return IGNORE if (urn, top) in _IGNORED else None


def resolve(path: str, scim_type: str = "invalidPath") -> tuple[str, str, str | None]:
    """(target, schema, value selector) of a path; unqualified names try core first."""
    urn, rest = _split(path)
    if not urn and rest.lower().startswith("urn:"):
        raise ScimError(400, scim_type, f"unknown schema in {path!r}")
    m = _SELECTOR.match(rest) if rest else None
    if rest and m is None:
        raise ScimError(400, scim_type, f"cannot parse the path {path!r}")
    attr = (m["head"] + (m["tail"] or "")).strip().lower() if m else ""
    selector = m["sel"] if m else None
    for schema in (urn,) if urn else _SCHEMAS:
        target = _lookup(schema, attr)
        if target is not None:
            return target, schema, selector
    raise ScimError(400, scim_type, f"unknown attribute {path!r}")


# -- values ----------------------------------------------------------------------------


def _coerce(field: Field, value: Any, path: str) -> Any:
    """The value in the record's form, or ``invalidValue`` naming the attribute."""
    if isinstance(value, str) and not value.strip() and field.kind != "strings":
        return None
    if value is None:
        return [] if field.kind == "strings" else None
    if field.kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # Entra ID sends "False" as a string
        if isinstance(value, bool):
            return value
    elif field.kind == "integer":
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif field.kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                pass
    elif field.kind == "strings":
        items = value if isinstance(value, list) else [value]
        items = [i.get("value") if isinstance(i, dict) else i for i in items]
        if all(isinstance(i, str) and i.strip() for i in items):
            return list(dict.fromkeys(i.strip() for i in items))
    elif field.kind == "reference" and isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        return _coerce(field, lowered.get("value"), path)
    elif isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. an employee number sent as a number
    elif isinstance(value, str):
        if len(value) > 320:
            raise _invalid(f"{path}: longer than 320 characters")
        value = value.strip()
        return value.upper() if field.name == "geography" else value
    raise _invalid(f"{path}: {json.dumps(value)[:80]} is not a valid {field.kind}")


def _country(value: Any) -> str | None:
    entries = value if isinstance(value, list) else [value]
    entries = [e for e in entries if isinstance(e, dict)]
    entries.sort(key=lambda e: not e.get("primary"))
    for entry in entries:
        country = {str(k).lower(): v for k, v in entry.items()}.get("country")
        if country:
            return country
    return None


def write(record: dict[str, Any], path: str, value: Any, op: str) -> None:
    """Apply one add/replace/remove of ``path`` to a user record."""
    target, schema, selector = resolve(path)
    if target == IGNORE:
        return
    if target == READ_ONLY:
        raise ScimError(400, "mutability", f"{path} is read-only")
    if target in ("@schema", "@name"):
        prefix = f"{schema}:" if target == "@schema" else f"{schema}:name."
        if op == "remove":
            for f in FIELDS.values():
                sub = f.path if ":" in f.path else f"{CORE}:{f.path}"
                if sub.lower().startswith(prefix.lower()):
                    record[f.name] = RESET.get(f.name)
            return
        if not isinstance(value, dict):
            raise _invalid(f"{path}: expected an object")
        for key, sub_value in value.items():
            write(record, prefix + str(key), sub_value, op)
        return
    if target == "@addresses":
        country = None if op == "remove" else _country(value)
        if country or op == "remove":
            write(record, FIELDS["geography"].path, country, "replace")
        return
    field = FIELDS[target]
    if op == "remove" and field.kind == "strings" and (selector or value):
        match = _VALUE_EQ.match(selector or "")
        if selector and not match:
            raise ScimError(400, "invalidPath", f"unsupported selector in {path!r}")
        gone = {match["v"]} if match else set(_coerce(field, value, path))
        record[field.name] = [v for v in record[field.name] if v not in gone]
    elif op == "remove":
        record[field.name] = RESET.get(field.name)
    elif op == "add" and field.kind == "strings":
        added = _coerce(field, value, path)
        record[field.name] = list(dict.fromkeys([*record[field.name], *added]))
    else:
        record[field.name] = _coerce(field, value, path)


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, or ``invalidSyntax``."""
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise ScimError(400, "invalidSyntax", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "the body must be a JSON object")
    return body


def new_record() -> dict[str, Any]:
    return {**{name: None for name in FIELDS}, **RESET, "active": True}


def record_of(row: Any) -> dict[str, Any]:
    """The user record of a ``people`` row (joined with ``scim_users``)."""
    return {
        "userName": row.email,
        "externalId": row.scim_external_id,
        "givenName": row.given_name,
        "familyName": row.family_name,
        "title": row.title,
        "active": row.status == "active",
        "timezone": row.time_zone,
        "employeeNumber": row.employee_id,
        "department": row.business_unit,
        "manager": row.manager_id,
        "level": row.level,
        "function": row.function,
        "geography": row.geography,
        "roles": json.loads(row.roles),
        "hireDate": row.hire_date,
        "languages": json.loads(row.languages),
    }


def read_user(body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """A full User resource (POST, PUT) applied over ``base``."""
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or CORE not in schemas):
        raise ScimError(400, "invalidSyntax", f"schemas must include {CORE}")
    record = dict(base)
    skip = {"schemas", "id", "meta", "groups"}
    # The Tandem extension goes last: it wins over division and addresses.
    keys = sorted(body, key=lambda k: k.lower() == TANDEM.lower())
    for key in keys:
        if key.lower() in skip:
            continue
        try:
            write(record, key, body[key], "replace")
        except ScimError as exc:
            if exc.scim_type != "invalidPath":  # a PATCH notion; here it's the value
                raise
            raise _invalid(exc.detail) from exc
    return record


def apply_patch(record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp (RFC 7644 §3.5.2) applied to a copy of ``record``."""
    ops = body.get("Operations", body.get("operations"))
    if PATCH_OP not in (body.get("schemas") or []) or not isinstance(ops, list):
        raise ScimError(400, "invalidSyntax", f"expected a {PATCH_OP} with Operations")
    record = {k: list(v) if isinstance(v, list) else v for k, v in record.items()}
    for op in ops:
        if not isinstance(op, dict):
            raise ScimError(400, "invalidSyntax", "each operation must be an object")
        kind = str(op.get("op", "")).lower()
        path, value = op.get("path"), op.get("value")
        if kind not in ("add", "replace", "remove"):
            raise ScimError(400, "invalidSyntax", f"unknown op {op.get('op')!r}")
        if path:
            write(record, str(path), value, kind)
        elif kind == "remove":
            raise ScimError(400, "noTarget", "remove needs a path")
        elif isinstance(value, dict):  # Entra ID: {"name.givenName": …, "urn:…": …}
            for key in sorted(value, key=lambda k: k.lower() == TANDEM.lower()):
                write(record, str(key), value[key], kind)
        else:
            raise ScimError(400, "invalidSyntax", "an op without path needs an object")
    return record


def require_complete(record: dict[str, Any]) -> None:
    missing = [FIELDS[n].path for n in REQUIRED if record[n] in (None, "")]
    if missing:
        raise _invalid("required attribute missing: " + ", ".join(missing))


def details_of(record: dict[str, Any]) -> PersonDetails:
    return PersonDetails(
        given_name=record["givenName"] or "",
        family_name=record["familyName"] or "",
        email=record["userName"] or "",
        level=record["level"] or 0,
        business_unit=record["department"] or "",
        function=record["function"] or "",
        geography=record["geography"] or "",
        time_zone=record["timezone"] or "UTC",
        employee_id=record["employeeNumber"],
        title=record["title"],
        manager_id=record["manager"],
        hire_date=date.fromisoformat(record["hireDate"])
        if record["hireDate"]
        else None,
        languages=tuple(record["languages"]),
    )


# -- documents ---------------------------------------------------------------------------


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, {}, "")}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def etag(row: Any) -> str:
    """The person's stream version, and the revision of what SCIM keeps beside it."""
    return f'W/"{row.version}.{row.scim_revision}"'


def user_resource(row: Any, base: str) -> dict[str, Any]:
    """The SCIM User of a ``people`` row; ``base`` is the absolute ``…/scim/v2``."""
    location = f"{base}/Users/{row.person_id}"
    manager = row.manager_id
    return _present(
        {
            "schemas": [CORE, ENTERPRISE, TANDEM],
            "id": row.person_id,
            "externalId": row.scim_external_id,
            "userName": row.email,
            "name": _present(
                {
                    "givenName": row.given_name,
                    "familyName": row.family_name,
                    "formatted": f"{row.given_name} {row.family_name}",
                }
            ),
            "displayName": f"{row.given_name} {row.family_name}",
            "title": row.title,
            "active": row.status == "active",
            "timezone": row.time_zone,
            "emails": [{"value": row.email, "type": "work", "primary": True}],
            "addresses": [{"type": "work", "country": row.geography, "primary": True}],
            ENTERPRISE: _present(
                {
                    "employeeNumber": row.employee_id,
                    "department": row.business_unit,
                    "division": row.function,
                    "manager": {"value": manager, "$ref": f"{base}/Users/{manager}"}
                    if manager
                    else None,
                }
            ),
            TANDEM: _present(
                {
                    "level": row.level,
                    "function": row.function,
                    "geography": row.geography,
                    "roles": json.loads(row.roles),
                    "hireDate": row.hire_date,
                    "languages": json.loads(row.languages),
                }
            ),
            "meta": {
                "resourceType": "User",
                "created": _iso(row.created_at),
                "lastModified": _iso(row.updated_at),
                "location": location,
                "version": etag(row),
            },
        }
    )


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
    body = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return status, body


# -- filters ---------------------------------------------------------------------------

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
        inner = self._any()
        if self._next() != ("p", ")"):
            raise _bad_filter("a parenthesis is not closed")
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
            return json.loads(word)
        literal = {"true": True, "false": False, "null": None}
        if kind == "w" and word.lower() in literal:
            return literal[word.lower()]
        if kind == "w" and re.fullmatch(r"-?\d+", word):
            return int(word)
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
    if len(source) > 2000:
        raise _bad_filter("the filter is longer than 2000 characters")
    compiler = _FilterCompiler(source)
    sql, params = compiler.compile()
    return sql, params


# -- users -----------------------------------------------------------------------------

SCHEMA_DDL = (
    """
    CREATE TABLE IF NOT EXISTS scim_users (
        person_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        external_id TEXT,
        deprovisioned INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX IF NOT EXISTS scim_users_external ON scim_users (tenant, external_id)",
)
USERS = (
    "SELECT p.*, s.external_id AS scim_external_id, "
    "COALESCE(s.deprovisioned, 0) AS scim_deprovisioned, "
    "COALESCE(s.revision, 0) AS scim_revision "
    "FROM people p LEFT JOIN scim_users s "
    "ON s.person_id = p.person_id AND s.tenant = p.tenant "
    "WHERE p.tenant = :t AND p.status <> 'erased'"
)
VISIBLE = " AND COALESCE(s.deprovisioned, 0) = 0"


class ScimUsers:
    """SCIM User operations for one profiles service."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles
        self.engine = profiles.engine
        self._ready = False
        self._preparing = asyncio.Lock()

    async def prepare(self) -> None:
        """Create the SCIM side table (``externalId``, deprovisioning) if missing."""
        if self._ready:
            return
        async with self._preparing:
            if self._ready:
                return
            async with self.engine.begin() as conn:
                if not is_sqlite(self.engine):
                    await conn.execute(text("SELECT pg_advisory_xact_lock(7264101)"))
                for ddl in SCHEMA_DDL:
                    await conn.execute(text(ddl))
            self._ready = True

    # -- reads -------------------------------------------------------------------------

    async def _rows(self, where: str, params: dict[str, Any], tail: str = "") -> list:
        await self.prepare()
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(USERS + where + tail), params)).all())

    async def get(self, principal: Principal, user_id: str) -> Any:
        rows = await self._rows(
            VISIBLE + " AND p.person_id = :id", {"t": principal.tenant, "id": user_id}
        )
        if not rows:
            raise NotFound(f"User {user_id} not found")
        return rows[0]

    async def search(
        self, principal: Principal, filter: str | None, start: int, count: int
    ) -> tuple[int, list[Any]]:
        """(totalResults, the page) of the tenant's users matching ``filter``."""
        where, params = compile_filter(filter) if filter else ("TRUE", {})
        params["t"] = principal.tenant
        condition = f"{VISIBLE} AND ({where})"
        await self.prepare()
        async with self.engine.connect() as conn:
            counted = text(
                "SELECT count(*) FROM people p LEFT JOIN scim_users s "
                "ON s.person_id = p.person_id AND s.tenant = p.tenant WHERE p.tenant = :t "
                f"AND p.status <> 'erased'{condition}"
            )
            total = (await conn.execute(counted, params)).scalar_one()
        if count == 0:
            return total, []
        page = {**params, "limit": count, "offset": start - 1}
        tail = " ORDER BY p.created_at, p.person_id LIMIT :limit OFFSET :offset"
        return total, await self._rows(condition, page, tail)

    async def _holder(self, tenant: str, where: str, value: str) -> Any:
        rows = await self._rows(f" AND {where}", {"t": tenant, "v": value})
        return rows[0] if rows else None

    # -- writes ------------------------------------------------------------------------

    async def create(self, principal: Principal, body: dict[str, Any]) -> Any:
        """Provision a user (or bring back a deprovisioned one with the same keys)."""
        record = read_user(body, new_record())
        details = await self._checked(principal, record, None)
        tenant, number = principal.tenant, record["employeeNumber"]
        async with self._claim(tenant, record["userName"]):
            by_name = await self._holder(
                tenant, "lower(p.email) = lower(:v)", details.email
            )
            by_number = number and await self._holder(
                tenant, "p.employee_id = :v", number
            )
            for holder, what in ((by_name, "userName"), (by_number, "employeeNumber")):
                if holder and not holder.scim_deprovisioned:
                    raise ScimError(409, "uniqueness", f"{what} is already provisioned")
            if by_name and by_number and by_name.person_id != by_number.person_id:
                raise ScimError(
                    409, "uniqueness", "employeeNumber belongs to another user"
                )
            returning = by_name or by_number
            if returning:
                await self._apply(principal, returning, record, details)
                person_id = returning.person_id
            else:
                person_id = await self.profiles.register(
                    principal, details, record["roles"]
                )
                await self._mark(tenant, person_id, record["externalId"], False)
                if not record["active"]:
                    await self.profiles.deactivate(principal, person_id, DEACTIVATED)
        return await self.get(principal, person_id)

    async def replace(
        self,
        principal: Principal,
        user_id: str,
        body: dict[str, Any],
        if_match: str | None,
    ) -> Any:
        """PUT: the IdP-owned attributes are replaced, Tandem's kept when omitted."""
        row = await self._current(principal, user_id, if_match)
        base = {**record_of(row), **{name: None for name in IDP_OWNED}}
        return await self._save(principal, row, read_user(body, base))

    async def patch(
        self,
        principal: Principal,
        user_id: str,
        body: dict[str, Any],
        if_match: str | None,
    ) -> Any:
        row = await self._current(principal, user_id, if_match)
        return await self._save(principal, row, apply_patch(record_of(row), body))

    async def deprovision(
        self, principal: Principal, user_id: str, if_match: str | None
    ) -> None:
        """DELETE: deactivate (reason ``deprovisioned``) and hide; never erase."""
        row = await self._current(principal, user_id, if_match)
        await self.profiles.deactivate(principal, row.person_id, DEPROVISIONED)
        await self._mark(principal.tenant, row.person_id, row.scim_external_id, True)

    async def _current(
        self, principal: Principal, user_id: str, if_match: str | None
    ) -> Any:
        row = await self.get(principal, user_id)
        wanted = {tag.strip() for tag in (if_match or "").split(",") if tag.strip()}
        if wanted and "*" not in wanted and etag(row) not in wanted:
            raise ScimError(412, None, f"User {user_id} has changed (now {etag(row)})")
        return row

    async def _checked(
        self, principal: Principal, record: dict[str, Any], user_id: str | None
    ) -> PersonDetails:
        require_complete(record)
        details = details_of(record).validated()
        check_roles(record["roles"])
        manager, path = record["manager"], FIELDS["manager"].path
        if manager and manager == user_id:
            raise _invalid(f"{path}: a user cannot be their own manager")
        if manager and not await self._rows(
            " AND p.person_id = :m", {"t": principal.tenant, "m": manager}
        ):
            raise _invalid(f"{path}: no user {manager} in this organisation")
        return details

    async def _save(
        self, principal: Principal, row: Any, record: dict[str, Any]
    ) -> Any:
        details = await self._checked(principal, record, row.person_id)
        renamed = details.email.lower() != (row.email or "").lower()
        claim = (
            self._claim(principal.tenant, details.email) if renamed else nullcontext()
        )
        async with claim:
            if renamed:
                holder = await self._holder(
                    principal.tenant, "lower(p.email) = lower(:v)", details.email
                )
                if holder and holder.person_id != row.person_id:
                    raise ScimError(
                        409, "uniqueness", "userName is already provisioned"
                    )
            await self._apply(principal, row, record, details)
        return await self.get(principal, row.person_id)

    async def _apply(
        self,
        principal: Principal,
        row: Any,
        record: dict[str, Any],
        details: PersonDetails,
    ) -> None:
        """Turn the difference between ``row`` and ``record`` into Profiles commands."""
        before, person_id = record_of(row), row.person_id
        if record["active"] and not before["active"]:
            await self.profiles.reactivate(principal, person_id)
        if details != details_of(before):
            # A level or title change records a career outcome with source "scim".
            await self.profiles.update_details(
                principal, person_id, details, source="scim"
            )
        if sorted(record["roles"]) != sorted(before["roles"]):
            await self.profiles.change_roles(principal, person_id, record["roles"])
        if record["externalId"] != before["externalId"] or row.scim_deprovisioned:
            await self._mark(principal.tenant, person_id, record["externalId"], False)
        if before["active"] and not record["active"]:
            await self.profiles.deactivate(principal, person_id, DEACTIVATED)

    async def _mark(
        self, tenant: str, person_id: str, external_id: str | None, deprovisioned: bool
    ) -> None:
        await self.prepare()
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO scim_users (person_id, tenant, external_id, deprovisioned) "
                    "VALUES (:p, :t, :x, :d) ON CONFLICT (person_id) DO UPDATE SET "
                    "external_id = excluded.external_id, deprovisioned = excluded.deprovisioned, "
                    "revision = scim_users.revision + 1"
                ),
                {
                    "p": person_id,
                    "t": tenant,
                    "x": external_id,
                    "d": int(deprovisioned),
                },
            )

    @asynccontextmanager
    async def _claim(self, tenant: str, user_name: str) -> AsyncIterator[None]:
        """Serialise provisioning of one userName (the people table does not index it
        uniquely); the lock ends with the transaction when the block is left."""
        if is_sqlite(self.engine):  # one writer at a time anyway
            yield
            return
        digest = hashlib.blake2b(
            f"scim|{tenant}|{user_name.lower()}".encode(), digest_size=8
        )
        key = int.from_bytes(digest.digest(), "big", signed=True)
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            yield


# -- discovery ---------------------------------------------------------------------------


def _attr(name: str, description: str, type_: str = "string", **spec: Any) -> dict:
    doc = {
        "name": name,
        "type": type_,
        "multiValued": spec.pop("multi", False),
        "description": description,
        "required": spec.pop("required", False),
        "caseExact": spec.pop("case_exact", False),
        "mutability": spec.pop("mutability", "readWrite"),
        "returned": "default",
        "uniqueness": spec.pop("uniqueness", "none"),
    }
    if "sub" in spec:
        doc["subAttributes"] = spec.pop("sub")
    if "refs" in spec:
        doc["referenceTypes"] = spec.pop("refs")
    if "canonical" in spec:
        doc["canonicalValues"] = spec.pop("canonical")
    return doc


_SCHEMA_DEFINITIONS = {
    CORE: (
        "User",
        "A person of the programme (the attributes Tandem keeps).",
        [
            _attr("userName", "Work e-mail address; unique per organisation.",
                  required=True, uniqueness="server"),
            _attr("name", "The person's name.", "complex", required=True, sub=[
                _attr("givenName", "Given name.", required=True),
                _attr("familyName", "Family name.", required=True),
                _attr("formatted", "Given and family name.", mutability="readOnly"),
            ]),
            _attr("displayName", "Given and family name.", mutability="readOnly"),
            _attr("title", "Job title; a change records a career outcome."),
            _attr("active", "False deactivates the person, true reactivates.",
                  "boolean"),
            _attr("timezone", "IANA time zone; UTC when not sent."),
            _attr("emails", "The userName as the primary work address (Tandem keeps "
                  "one address; sent values are ignored).", "complex", multi=True,
                  mutability="readOnly", sub=[
                      _attr("value", "Address.", mutability="readOnly"),
                      _attr("type", "Always work.", mutability="readOnly"),
                      _attr("primary", "Always true.", "boolean", mutability="readOnly"),
                  ]),
            _attr("addresses", "Only the country is kept (the geography).", "complex",
                  multi=True, sub=[
                      _attr("country", "ISO 3166-1 alpha-2 country code."),
                      _attr("type", "Always work.", mutability="readOnly"),
                  ]),
        ],
    ),
    ENTERPRISE: (
        "EnterpriseUser",
        "Enterprise User (RFC 7643 §4.3).",
        [
            _attr("employeeNumber", "HR employee number; unique per organisation.",
                  uniqueness="server"),
            _attr("department", "Business unit; required by Tandem.", required=True),
            _attr("division", "Function, when the Tandem extension gives none."),
            _attr("manager", "The manager.", "complex", sub=[
                _attr("value", "The manager's SCIM id.", case_exact=True),
                _attr("$ref", "URI of the manager.", "reference", refs=["User"],
                      mutability="readOnly"),
            ]),
        ],
    ),
    TANDEM: (
        "TandemUser",
        "What Tandem needs beyond HR data. Unsent on PUT or PATCH: kept as is.",
        [
            _attr("level", "Career level 1-12; required on create.", "integer",
                  required=True),
            _attr("function", "Function (e.g. Finance); required on create, or "
                  "enterprise division.", required=True),
            _attr("geography", "ISO 3166-1 alpha-2 country; required on create, or "
                  "addresses[0].country.", required=True),
            _attr("roles", "Programme roles; none unless sent.", multi=True,
                  case_exact=True, canonical=list(ROLES)),
            _attr("hireDate", "Hire date (YYYY-MM-DD)."),
            _attr("languages", "Languages spoken (BCP 47).", multi=True),
        ],
    ),
}  # fmt: skip


def schema_documents(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": urn,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
        }
        for urn, (name, description, attributes) in _SCHEMA_DEFINITIONS.items()
    ]


def resource_type(base: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the programme",
        "schema": CORE,
        "schemaExtensions": [
            {"schema": ENTERPRISE, "required": False},
            {"schema": TANDEM, "required": True},
        ],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{base}/ResourceTypes/User",
        },
    }


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": f"{base}/Schemas",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A Tandem bearer JWT with the integration (or admin) role",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
