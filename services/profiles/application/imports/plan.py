"""Who is who in one import: the people the tenant has, and ids for those it gets."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from chassis.errors import FieldError, ValidationFailed
from contracts.profiles import PersonStatus
from services.profiles.application.imports.records import Record
from services.profiles.domain.person import PersonDetails


@dataclass(frozen=True)
class Known:
    """A person the tenant already has, as the current-state table holds them."""

    person_id: str
    active: bool
    roles: list[str]
    details: PersonDetails


def known_of(row: SimpleNamespace) -> Known:
    details = PersonDetails(
        given_name=row.given_name or "",
        family_name=row.family_name or "",
        email=row.email or "",
        level=row.level,
        business_unit=row.business_unit,
        function=row.function,
        geography=row.geography,
        time_zone=row.time_zone,
        employee_id=row.employee_id,
        title=row.title,
        manager_id=row.manager_id,
        hire_date=date.fromisoformat(row.hire_date) if row.hire_date else None,
        languages=tuple(json.loads(row.languages)),
    )
    active = row.status == PersonStatus.ACTIVE
    return Known(row.person_id, active, json.loads(row.roles), details)


class Plan:
    """Person ids for the employees of one import, so order in the file is free.

    A new employee's id is chosen the first time anyone needs it - their own record
    or a report naming them as manager - so a report can point at a manager who is
    registered later in the same import (or, in a dry run, never).
    """

    def __init__(self, records: list[Record]) -> None:
        self.joining = {r.employee_id for r in records if r.error is None}
        self.leaving = {r.employee_id for r in records if r.error is None and r.leaving}
        self.joining -= self.leaving
        self._ids: dict[str, str] = {}

    def person_id(self, employee_id: str) -> str:
        return self._ids.setdefault(employee_id, str(uuid.uuid4()))

    def manager(self, employee_id: str | None, known: dict[str, Known]) -> str | None:
        if not employee_id:
            return None
        if employee_id in known:
            return known[employee_id].person_id
        if employee_id in self.joining:
            return self.person_id(employee_id)
        if employee_id in self.leaving:  # a manager who left before Tandem knew them
            return None
        raise ValidationFailed(
            [
                FieldError(
                    "manager_employee_id",
                    f"no employee {employee_id} in this organisation or this import",
                )
            ]
        )
