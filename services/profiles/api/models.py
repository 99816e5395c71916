"""Request bodies of the profiles API (shapes only; business rules live in the domain).

The bodies the domain takes as they are (a mentor profile, an intake, a cohort) live in
``contracts.api.profiles`` with the answers.

Every string, list, integer and date is one of the bounded types of ``chassis.inputs``
(the one input policy), so a 1 MB name, a NUL byte or 2^31 is a typed 422 here and
never reaches an event, a column or the broker.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chassis.inputs import (
    Code,
    Email,
    FewItems,
    Items,
    Level,
    Name,
    NameMap,
    Positive,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from contracts.api.profiles import MenteeSeats, MonthlyHours
from contracts.profiles import (
    OutcomeKind,
    PathwayStage,
    ProgrammeRole,
)
from services.profiles.domain.competencies import COMPETENCY_ID
from services.profiles.domain.person import PersonDetails

Body = RequestBody  # the name the rest of the API imports

Country = Annotated[
    Code,
    Field(
        min_length=2,
        max_length=2,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country code, upper case (XK for Kosovo)",
    ),
]
# The domain's rule for an email address (a dot in the domain part), shown as the
# schema's format; the input policy's pattern still refuses control characters.
PersonEmail = Annotated[Email, Field(json_schema_extra={"format": "email"})]
# The domain's rule for a competency id (2-64 lower-case letters, digits, _ . -).
CompetencyId = Annotated[
    str,
    Field(min_length=2, max_length=64, pattern=COMPETENCY_ID.pattern),
]


class PersonIn(Body):
    given_name: Name
    family_name: Name
    email: PersonEmail
    level: Level
    business_unit: Name
    function: Name
    geography: Country
    time_zone: Annotated[Code, Field(description="IANA time zone")]
    employee_id: Ref | None = None
    title: Name | None = None
    manager_id: Ref | None = Field(
        None, description="Person id of the line manager (a person of this tenant)"
    )
    hire_date: SaneDate | None = Field(None, description="Not in the future")
    languages: FewItems[Code] = Field(default_factory=list)

    def details(self) -> PersonDetails:
        fields = self.model_dump(include=set(PersonIn.model_fields))
        return PersonDetails(**{**fields, "languages": tuple(self.languages)})


class RegisterPerson(PersonIn):
    roles: FewItems[ProgrammeRole] = Field(default_factory=list)


class UpdatePerson(PersonIn):
    effective_on: SaneDate | None = Field(
        None, description="When a level or title change took effect"
    )


class Roles(Body):
    roles: FewItems[ProgrammeRole]


class CapacityIn(Body):
    max_mentees: MenteeSeats
    hours_per_month: MonthlyHours


class ConsentIn(Body):
    given: bool


class DemographicsIn(Body):
    attributes: NameMap


class OutcomeIn(Body):
    kind: OutcomeKind
    effective_on: SaneDate
    to_level: Level | None = None
    to_title: Name | None = None


class DeactivateIn(Body):
    reason: Code = "inactive"
    effective_on: SaneDate | None = Field(
        None,
        description="the day the person stopped taking part, when told after the "
        "fact (not in the future, not before the hire date); absent: today",
    )


class BatchIn(Body):
    ids: Items[Ref]


class CompetencyIn(Body):
    competency_id: CompetencyId
    name: Name
    category: Name | None = None


class CohortCapacityIn(Body):
    capacity: Positive


class StageIn(Body):
    stage: PathwayStage


class JoinIn(Body):
    person_id: Ref
    role: ProgrammeRole = ProgrammeRole.MENTEE
    admitted_on: SaneDate | None = Field(
        None,
        description="The day the admission took effect (coordinators and admins): "
        "default today; a past day records history (not before the person's hire "
        "date, and only when a seat is free); never in the future",
    )


class LeaveIn(Body):
    reason: Text | None = None
