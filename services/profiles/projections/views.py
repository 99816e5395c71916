"""How a person reads to whoever asks (field-level rules from ``access``).

A row may come with its personal columns still sealed, and the person's key beside
it (``person_view(row, principal, aead)``): only the columns the caller may see are
opened, so a coordinator's page never decrypts a demographic it will not show."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chassis.auth.principal import Principal
from chassis.personal_data import PersonalDataCipher
from contracts.api.profiles import Person
from contracts.profiles import PersonStatus
from services.profiles.domain import access

CONTACT = ("employee_id", "email", "hire_date")
PEOPLE = "people"
_OPENED = object()  # the row's columns are already open


def person_fields(
    row: Any, principal: Principal, aead: AESGCM | object | None = _OPENED
) -> dict[str, Any]:
    """The fields of a person ``principal`` may see, as the API answers them (only
    these are set). ``aead``: the person's key when ``row``'s personal columns are
    still sealed (None: destroyed, they read as None)."""
    pid = row.person_id
    if row.status == PersonStatus.ERASED:
        return {"person_id": pid, "status": PersonStatus.ERASED, "erased": True}
    if aead is _OPENED:

        def opened(column: str) -> Any:
            return getattr(row, column)
    else:

        def opened(column: str) -> Any:
            return PersonalDataCipher.open(
                aead,  # type: ignore[arg-type]
                pid,
                PEOPLE,
                column,
                getattr(row, column),
            )

    profile = opened("mentor_profile")
    view: dict[str, Any] = {
        "person_id": pid,
        "status": row.status,
        "erased": False,
        "given_name": opened("given_name"),
        "family_name": opened("family_name"),
        "title": opened("title"),
        "level": row.level,
        "business_unit": row.business_unit,
        "function": row.function,
        "geography": row.geography,
        "time_zone": row.time_zone,
        "manager_id": row.manager_id,
        "languages": json.loads(row.languages),
        "roles": json.loads(row.roles),
        "mentor_profile": json.loads(profile) if profile else None,
        "version": row.version,
    }
    if access.sees_contact_details(principal, pid):
        for name in CONTACT:
            view[name] = opened(name)
        intake = opened("intake")
        view["intake"] = json.loads(intake) if intake else None
        view["consents"] = json.loads(row.consents)
    if access.sees_demographics(principal, pid):
        demographics = opened("demographics")
        view["demographics"] = json.loads(demographics) if demographics else None
    return view


def person_view(
    row: SimpleNamespace | Any,
    principal: Principal,
    aead: AESGCM | object | None = _OPENED,
) -> Person:
    """A person as ``principal`` may see them; an erased person is only a marker.

    Only the fields the caller may see are set (the API answers the set fields)."""
    return Person.model_validate(person_fields(row, principal, aead))
