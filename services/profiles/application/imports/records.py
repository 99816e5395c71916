"""One HRIS record: its shape, then the domain's rules for a person."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as ShapeError

from chassis.errors import FieldError, TandemError, ValidationFailed
from chassis.inputs import (
    MAX_REF,
    REF_PATTERN,
    Code,
    Email,
    FewItems,
    Level,
    Name,
    Ref,
    SaneDate,
)
from contracts.api.profiles import FieldProblem, RecordFailure
from contracts.profiles import ProgrammeRole
from services.profiles.domain.person import PersonDetails, check_roles

_REF = re.compile(REF_PATTERN)


class HrisRecord(BaseModel):
    """One person as an HRIS exports them (CSV columns carry the same names)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    employee_id: Ref
    given_name: Name
    family_name: Name
    email: Email
    level: Level
    business_unit: Name
    function: Name
    geography: Annotated[Code, Field(max_length=2, description="ISO 3166-1 alpha-2")]
    time_zone: Annotated[Code, Field(description="IANA time zone")]
    title: Name | None = None
    manager_employee_id: Ref | None = None
    hire_date: SaneDate | None = None
    languages: FewItems[Code] = Field(default_factory=list)
    roles: FewItems[ProgrammeRole] | None = Field(
        None, description="Programme roles; left as they are when absent"
    )
    active: bool = True
    termination_date: SaneDate | None = None
    effective_on: SaneDate | None = Field(
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
    roles: list[ProgrammeRole] | None = None
    leaving: bool = False
    effective_on: date | None = None
    termination_date: date | None = None
    error: RecordFailure | None = None
    # The record as it came (what its import digest is taken of), and - when it
    # matches the person's digest of their last imported record - that person's id:
    # an unchanged record, known without validating it.
    item: object = None
    unchanged: str | None = None
    item_hash: bytes | None = None  # the item's ``record_hash``, once taken


def failure_of(error: TandemError) -> RecordFailure:
    fields = error.errors if isinstance(error, ValidationFailed) else []
    return RecordFailure(
        code=error.code,
        message=error.detail,
        fields=[FieldProblem(path=f.path, message=f.message) for f in fields],
    )


def _invalid(path: str, message: str) -> RecordFailure:
    return failure_of(ValidationFailed([FieldError(path, message)]))


def validate(item: object, row: int, today: date) -> Record:
    """Check one raw record (a decoded JSON value or CSV row of unknown shape): shape
    first, then the domain's rules for a person."""
    employee_id = item.get("employee_id") if isinstance(item, dict) else None
    employee_id = str(employee_id).strip() if employee_id is not None else None
    if employee_id is not None and not _REF.fullmatch(employee_id[: MAX_REF + 1]):
        # A failed record is reported by its employee id; one the policy refuses
        # (NUL, 1 MB) is not kept, so the report itself stays storable.
        employee_id = None
    try:
        rec = HrisRecord.model_validate(item)
    except ShapeError as exc:
        problems = [
            FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
            for e in exc.errors()
        ]
        return Record(row, employee_id, error=failure_of(ValidationFailed(problems)))
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
        # The record's types keep every bound of the domain's (length, one line)
        # but DEL in an email, which their pattern lets through: such a record is
        # checked in full; any other by the domain's own rules alone.
        if "\x7f" in rec.email:
            details.validated()
        else:
            details.within_bounds()
    except ValidationFailed as exc:
        problems.extend(exc.errors)
    if rec.manager_employee_id == rec.employee_id:
        problems.append(
            FieldError("manager_employee_id", "a person cannot be their own manager")
        )
    if problems:
        return Record(
            row, rec.employee_id, error=failure_of(ValidationFailed(problems))
        )
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


def raw_employee_id(item: object, name: str = "employee_id") -> str | None:
    """An employee id as a raw record gives it (before validation), or None."""
    value = item.get(name) if isinstance(item, dict) else None
    return str(value).strip() or None if value is not None else None


class Validator:
    """Records checked in file order, a chunk at a time; a repeated employee id fails
    after its first valid record (the ids seen are all it keeps of earlier chunks)."""

    def __init__(self, today: date, validated: dict[int, Record] | None = None) -> None:
        self.today = today
        self._first_row: dict[str, int] = {}
        # Records validated already (the plan's scan of the same file, the same
        # day), by row: each is taken once, when its row comes.
        self._validated = validated if validated is not None else {}

    def seen(self, employee_id: str) -> bool:
        """Whether a valid record of this employee id came earlier in the file."""
        return employee_id in self._first_row

    def unchanged(self, row: int, employee_id: str, person_id: str) -> Record:
        """A record known unchanged by its digest (valid, as it was last imported):
        never built, so it holds no item."""
        self._first_row.setdefault(employee_id, row)
        self._validated.pop(row, None)
        return Record(row, employee_id, unchanged=person_id)

    def __call__(self, item: object, row: int) -> Record:
        rec = self._validated.pop(row, None)
        if rec is None or rec.employee_id != raw_employee_id(item):
            rec = validate(item, row, self.today)
        rec.item = item
        if rec.error is None and rec.employee_id is not None:
            first = self._first_row.setdefault(rec.employee_id, row)
            if first != row:
                rec.error = _invalid(
                    "employee_id",
                    f"appears again in this import (first at row {first})",
                )
        return rec


def validate_all(people: Sequence[object], today: date) -> list[Record]:
    """Every record checked; a repeated employee id fails after its first record."""
    check = Validator(today)
    return [check(item, row) for row, item in enumerate(people, start=1)]
