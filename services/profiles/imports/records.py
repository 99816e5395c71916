"""One HRIS record: its shape, then the domain's rules for a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as ShapeError

from chassis.errors import FieldError, TandemError, ValidationFailed
from contracts.profiles import ProgrammeRole
from services.profiles.domain.person import PersonDetails, check_roles


class HrisRecord(BaseModel):
    """One person as an HRIS exports them (CSV columns carry the same names)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    employee_id: str = Field(min_length=1, max_length=100)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    level: int
    business_unit: str = Field(max_length=200)
    function: str = Field(max_length=200)
    geography: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    time_zone: str = Field(max_length=64, description="IANA time zone")
    title: str | None = Field(None, max_length=200)
    manager_employee_id: str | None = Field(None, max_length=100)
    hire_date: date | None = None
    languages: list[str] = Field(default_factory=list)
    roles: list[ProgrammeRole] | None = Field(
        None, description="Programme roles; left as they are when absent"
    )
    active: bool = True
    termination_date: date | None = None
    effective_on: date | None = Field(
        None, description="When a level or title change took effect"
    )

    @field_validator("geography")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


RECORD_FIELDS = frozenset(HrisRecord.model_fields)


@dataclass
class Record:
    """A record after validation: what to apply, or why it cannot be."""

    row: int
    employee_id: str | None
    details: PersonDetails | None = None
    manager_employee_id: str | None = None
    roles: list[str] | None = None
    leaving: bool = False
    effective_on: date | None = None
    termination_date: date | None = None
    error: dict[str, Any] | None = None


def _failure(error: TandemError) -> dict[str, Any]:
    fields = error.errors if isinstance(error, ValidationFailed) else []
    return {
        "code": error.code,
        "message": error.detail,
        "fields": [f.as_dict() for f in fields],
    }


def _invalid(path: str, message: str) -> dict[str, Any]:
    return _failure(ValidationFailed([FieldError(path, message)]))


def validate(item: Any, row: int, today: date) -> Record:
    """Check one raw record: shape first, then the domain's rules for a person."""
    employee_id = item.get("employee_id") if isinstance(item, dict) else None
    employee_id = str(employee_id).strip() if employee_id is not None else None
    try:
        rec = HrisRecord.model_validate(item)
    except ShapeError as exc:
        problems = [
            FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
            for e in exc.errors()
        ]
        return Record(row, employee_id, error=_failure(ValidationFailed(problems)))
    details = PersonDetails(
        given_name=rec.given_name,
        family_name=rec.family_name,
        email=rec.email,
        level=rec.level,
        business_unit=rec.business_unit,
        function=rec.function,
        geography=rec.geography,
        time_zone=rec.time_zone,
        employee_id=rec.employee_id,
        title=rec.title or None,
        hire_date=rec.hire_date,
        languages=tuple(rec.languages),
    )
    problems = []
    try:
        details.validated()
    except ValidationFailed as exc:
        problems.extend(exc.errors)
    if rec.manager_employee_id == rec.employee_id:
        problems.append(
            FieldError("manager_employee_id", "a person cannot be their own manager")
        )
    if problems:
        return Record(row, rec.employee_id, error=_failure(ValidationFailed(problems)))
    leaving = not rec.active or (
        rec.termination_date is not None and rec.termination_date <= today
    )
    return Record(
        row,
        rec.employee_id,
        details=details,
        manager_employee_id=rec.manager_employee_id or None,
        roles=check_roles(list(rec.roles)) if rec.roles is not None else None,
        leaving=leaving,
        effective_on=rec.effective_on,
        termination_date=rec.termination_date,
    )


def validate_all(people: list[Any], today: date) -> list[Record]:
    """Every record checked; a repeated employee id fails after its first record."""
    records = []
    first_row: dict[str, int] = {}
    for row, item in enumerate(people, start=1):
        rec = validate(item, row, today)
        if rec.error is None and rec.employee_id is not None:
            first = first_row.setdefault(rec.employee_id, row)
            if first != row:
                rec.error = _invalid(
                    "employee_id",
                    f"appears again in this import (first at row {first})",
                )
        records.append(rec)
    return records
