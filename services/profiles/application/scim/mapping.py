"""SCIM attributes ⇄ Tandem's person: paths resolved, values coerced, records built.

A *record* is a SCIM User flattened to the attributes Tandem keeps (``FIELDS``,
``UserRecord``); it is what PUT, POST and PATCH change and what turns into
``PersonDetails``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date
from typing import TypedDict, TypeGuard, cast

from chassis.inputs import FEW_ITEMS, MAX_CODE, has_control_characters
from services.profiles.application.scim.errors import ScimError, invalid_value
from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    TANDEM,
    JsonObject,
    JsonValue,
)
from services.profiles.application.scim.rows import UserRow
from services.profiles.domain.person import PersonDetails

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
REQUIRED: tuple[str, ...] = (
    "userName",
    "givenName",
    "familyName",
    "department",
    "level",
)
REQUIRED += ("function", "geography")
# What a PUT replaces; the rest (Tandem's own, timezone, active) keep their value.
IDP_OWNED: tuple[str, ...] = (
    "userName",
    "externalId",
    "givenName",
    "familyName",
    "title",
)
IDP_OWNED += ("employeeNumber", "department", "manager")


class UserRecord(TypedDict):
    """A SCIM User flattened to what Tandem keeps: one key per ``FIELDS`` name."""

    userName: str | None
    externalId: str | None
    givenName: str | None
    familyName: str | None
    title: str | None
    active: bool
    timezone: str | None
    employeeNumber: str | None
    department: str | None
    manager: str | None
    level: int | None
    function: str | None
    geography: str | None
    roles: list[str]
    hireDate: str | None  # an ISO 8601 date
    languages: list[str]


# A value of a record, whichever its attribute.
RecordValue = str | int | bool | list[str] | None


def _slots(record: UserRecord) -> MutableMapping[str, RecordValue]:
    """The record addressed by a ``Field.name`` known only when a path is resolved
    (``FIELDS`` and ``UserRecord`` have the same keys; ``_coerce`` gives the value the
    attribute's kind)."""
    return cast("MutableMapping[str, RecordValue]", record)


# What an attribute reads as when unassigned (never sent, or removed by a PATCH).
RESET: dict[str, RecordValue] = {
    "timezone": "UTC",
    "roles": [],
    "languages": [],
    "active": True,
}
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
SCHEMAS = (CORE, ENTERPRISE, TANDEM)
_SELECTOR = re.compile(
    r"^(?P<head>[^\[\]]+)(?:\[(?P<sel>[^\]]*)\](?P<tail>\.[^\[\]]+)?)?$"
)
_VALUE_EQ = re.compile(r'^\s*value\s+eq\s+"(?P<v>[^"]*)"\s*$', re.IGNORECASE)


def split_path(path: str) -> tuple[str, str]:
    """(schema URN or "", attribute path) of a SCIM path; the URN match ignores case."""
    low = path.strip().lower()
    for urn in SCHEMAS:
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
    urn, rest = split_path(path)
    if not urn and rest.lower().startswith("urn:"):
        raise ScimError(400, scim_type, f"unknown schema in {path!r}")
    m = _SELECTOR.match(rest) if rest else None
    if rest and m is None:
        raise ScimError(400, scim_type, f"cannot parse the path {path!r}")
    attr = (m["head"] + (m["tail"] or "")).strip().lower() if m else ""
    selector = m["sel"] if m else None
    for schema in (urn,) if urn else SCHEMAS:
        target = _lookup(schema, attr)
        if target is not None:
            return target, schema, selector
    raise ScimError(400, scim_type, f"unknown attribute {path!r}")


# -- values ----------------------------------------------------------------------------


def _coerce(field: Field, value: JsonValue, path: str) -> RecordValue:
    """The value in the record's form, or ``invalidValue`` naming the attribute."""
    if field.kind == "strings":
        return _strings(field, value, path)
    if isinstance(value, str) and not value.strip():
        return None
    if value is None:
        return None
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
    elif field.kind == "reference" and isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        return _coerce(field, lowered.get("value"), path)
    elif isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. an employee number sent as a number
    elif isinstance(value, str):
        if len(value) > 320:
            raise invalid_value(f"{path}: longer than 320 characters")
        if has_control_characters(value):
            raise invalid_value(f"{path}: must not hold control characters")
        value = value.strip()
        return value.upper() if field.name == "geography" else value
    raise _not_valid(field, value, path)


def _strings(field: Field, value: JsonValue, path: str) -> list[str]:
    """A ``strings`` attribute's value: its items (or their ``value``) once each."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    items = [i.get("value") if isinstance(i, dict) else i for i in items]
    if len(items) > FEW_ITEMS:
        raise invalid_value(f"{path}: more than {FEW_ITEMS} values")
    texts = [i.strip() for i in items if _one_line(i)]
    if len(texts) == len(items) and all(texts):
        return list(dict.fromkeys(texts))
    raise _not_valid(field, value, path)


def _not_valid(field: Field, value: JsonValue, path: str) -> ScimError:
    return invalid_value(
        f"{path}: {json.dumps(value)[:80]} is not a valid {field.kind}"
    )


def _one_line(item: JsonValue) -> TypeGuard[str]:
    return (
        isinstance(item, str)
        and len(item) <= MAX_CODE
        and not has_control_characters(item)
    )


def _country(value: JsonValue) -> JsonValue:
    """The country of the primary (else the first) address that names one."""
    entries = value if isinstance(value, list) else [value]
    objects = [e for e in entries if isinstance(e, dict)]
    objects.sort(key=lambda e: not e.get("primary"))
    for entry in objects:
        country = {str(k).lower(): v for k, v in entry.items()}.get("country")
        if country:
            return country
    return None


def write(record: UserRecord, path: str, value: JsonValue, op: str) -> None:
    """Apply one add/replace/remove of ``path`` to a user record."""
    slots = _slots(record)
    target, schema, selector = resolve(path)
    if target == IGNORE:
        return
    if target == READ_ONLY:
        raise ScimError(400, "mutability", f"{path} is read-only")
    if target in ("@schema", "@name"):
        prefix = f"{schema}:" if target == "@schema" else f"{schema}:name."
        if op == "remove":
            cleared = [
                f
                for f in FIELDS.values()
                if (f.path if ":" in f.path else f"{CORE}:{f.path}")
                .lower()
                .startswith(prefix.lower())
            ]
            for f in cleared:
                _removable(f, path)
                slots[f.name] = RESET.get(f.name)
            return
        if not isinstance(value, dict):
            raise invalid_value(f"{path}: expected an object")
        for key, sub_value in value.items():
            write(record, prefix + str(key), sub_value, op)
        return
    if target == "@addresses":
        if op == "remove":
            _removable(FIELDS["geography"], path)
        country = _country(value)
        if country:
            write(record, FIELDS["geography"].path, country, "replace")
        return
    field = FIELDS[target]
    if op == "remove" and not (field.kind == "strings" and (selector or value)):
        _removable(field, path)
    if op == "remove" and field.kind == "strings" and (selector or value):
        match = _VALUE_EQ.match(selector or "")
        if selector and not match:
            raise ScimError(400, "invalidPath", f"unsupported selector in {path!r}")
        gone = {match["v"]} if match else set(_strings(field, value, path))
        slots[field.name] = [v for v in _listed(slots[field.name]) if v not in gone]
    elif op == "remove":
        slots[field.name] = RESET.get(field.name)
    elif op == "add" and field.kind == "strings":
        added = _strings(field, value, path)
        kept = _listed(slots[field.name])
        slots[field.name] = list(dict.fromkeys([*kept, *added]))
    else:
        coerced = _coerce(field, value, path)  # null unassigns (RFC 7644 §3.5.2.3)
        slots[field.name] = RESET.get(field.name) if coerced is None else coerced


def _listed(value: RecordValue) -> list[str]:
    """A ``strings`` attribute's value (a list; never None in a record)."""
    return value if isinstance(value, list) else []


def _removable(field: Field, path: str) -> None:
    """A required attribute cannot be unassigned (RFC 7644 §3.5.2.2, §3.12)."""
    if field.name in REQUIRED:
        raise ScimError(
            400, "mutability", f"{path}: {field.path} is required and cannot be removed"
        )


def new_record() -> UserRecord:
    """A record of nothing sent: every attribute unassigned (``RESET``'s defaults)."""
    return cast(UserRecord, {**dict.fromkeys(FIELDS), **RESET})


def unassigned(record: UserRecord, names: Iterable[str]) -> UserRecord:
    """A copy of ``record`` with the attributes ``names`` unassigned (None)."""
    copy = record.copy()
    _slots(copy).update(dict.fromkeys(names))
    return copy


def record_of(row: UserRow) -> UserRecord:
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


def read_user(body: JsonObject, base: UserRecord) -> UserRecord:
    """A full User resource (POST, PUT) applied over ``base``."""
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or CORE not in schemas):
        raise ScimError(400, "invalidSyntax", f"schemas must include {CORE}")
    record = base.copy()
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
            raise invalid_value(exc.detail) from exc
    return record


def require_complete(record: UserRecord) -> None:
    values: Mapping[str, object] = record
    missing = [FIELDS[n].path for n in REQUIRED if values[n] in (None, "")]
    if missing:
        raise invalid_value("required attribute missing: " + ", ".join(missing))


def details_of(record: UserRecord) -> PersonDetails:
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
