"""Who is who in one import: the people the tenant has, and ids for those it gets."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from chassis.errors import FieldError, ValidationFailed
from chassis.personal_data import random_uuid_text
from contracts.profiles import PersonStatus
from services.profiles.application.imports.records import (
    Record,
    raw_employee_id,
    validate,
)
from services.profiles.application.imports.source import RecordSource
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

    Only the employees named as someone's manager need to be known in advance: the
    plan of a file is made by reading it twice (``scan``), first for the managers it
    names, then for those managers' own records, never holding the file's records.
    """

    def __init__(self, records: Sequence[Record] = ()) -> None:
        valid = [r for r in records if r.error is None and r.employee_id]
        self.leaving = {r.employee_id for r in valid if r.leaving}
        self.joining = {r.employee_id for r in valid} - self.leaving
        self._ids: dict[str, str] = {}
        # The managers' records the scan validated, by row: the import takes them
        # from here when it reaches their rows instead of validating them again.
        self.validated: dict[int, Record] = {}

    @staticmethod
    def managers_of(source: RecordSource, size: int) -> set[str]:
        """The employee ids a source's records name as their manager."""
        if source.managers is not None:
            return set(source.managers)
        managers = set()
        for chunk in source.chunks(size):
            for item in chunk:
                manager = raw_employee_id(item, "manager_employee_id")
                if manager:
                    managers.add(manager)
        return managers

    @classmethod
    def scan(
        cls,
        source: RecordSource,
        size: int,
        today: date,
        managers: set[str] | None = None,
    ) -> Plan:
        """The plan of a source's records: its managers' first valid records.
        ``managers``: those to look for (by default every manager the records name;
        one the tenant has already is found as a person, whatever the file says)."""
        if managers is None:
            managers = cls.managers_of(source, size)
        plan = cls()
        if not managers:
            return plan
        decided: set[str] = set()
        row = 0
        for chunk in source.chunks(size):
            for item in chunk:
                row += 1
                employee_id = raw_employee_id(item)
                if employee_id not in managers or employee_id in decided:
                    continue
                rec = validate(item, row, today)
                if rec.error is None and rec.employee_id == employee_id:
                    decided.add(employee_id)
                    (plan.leaving if rec.leaving else plan.joining).add(employee_id)
                    plan.validated[row] = rec
        return plan

    def person_id(self, employee_id: str) -> str:
        found = self._ids.get(employee_id)
        if found is None:
            found = self._ids[employee_id] = random_uuid_text()
        return found

    def manager(
        self, employee_id: str | None, known: Mapping[str, Known | str]
    ) -> str | None:
        """The person id of a record's manager: a person the tenant has (``known``:
        by employee id, the person or their id), or one this import registers."""
        if not employee_id:
            return None
        if employee_id in known:
            found = known[employee_id]
            return found if isinstance(found, str) else found.person_id
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
