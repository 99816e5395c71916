"""How a person reads to whoever asks (field-level rules from ``access``)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from chassis.auth.principal import Principal
from contracts.api.profiles import Person
from contracts.profiles import PersonStatus
from services.profiles.domain import access

CONTACT = ("employee_id", "email", "hire_date")


def person_view(row: SimpleNamespace, principal: Principal) -> Person:
    """A person as ``principal`` may see them; an erased person is only a marker.

    Only the fields the caller may see are set (the API answers the set fields)."""
    if row.status == PersonStatus.ERASED:
        return Person(person_id=row.person_id, status=PersonStatus.ERASED, erased=True)
    view: dict[str, object] = {
        "person_id": row.person_id,
        "status": row.status,
        "erased": False,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "title": row.title,
        "level": row.level,
        "business_unit": row.business_unit,
        "function": row.function,
        "geography": row.geography,
        "time_zone": row.time_zone,
        "manager_id": row.manager_id,
        "languages": json.loads(row.languages),
        "roles": json.loads(row.roles),
        "mentor_profile": json.loads(row.mentor_profile)
        if row.mentor_profile
        else None,
        "version": row.version,
    }
    if access.sees_contact_details(principal, row.person_id):
        view.update({name: getattr(row, name) for name in CONTACT})
        view["intake"] = json.loads(row.intake) if row.intake else None
        view["consents"] = json.loads(row.consents)
    if access.sees_demographics(principal, row.person_id):
        view["demographics"] = (
            json.loads(row.demographics) if row.demographics else None
        )
    return Person.model_validate(view)
