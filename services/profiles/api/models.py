"""Request bodies of the profiles API (shapes only; business rules live in the domain).

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
    Hours,
    Items,
    Level,
    Name,
    NameMap,
    Positive,
    Ref,
    RequestBody,
    SaneDate,
    Text,
    TextMap,
)
from contracts.profiles import (
    AvailabilityWindow,
    CoachingFormat,
    DevelopmentGoal,
    EligibilityRules,
    OutcomeKind,
    PathwayPhase,
    PathwayStage,
    ProgrammeRole,
    ProgrammeType,
    Strength,
)
from services.profiles.domain.person import PersonDetails

Body = RequestBody  # the name the rest of the API imports

# A mentor takes at most 50 mentees and gives at most 200 hours a month (the contract's
# bounds); an intake's hours are the same figure seen from the mentee.
MenteeSeats = Annotated[int, Field(ge=0, le=50)]
MonthlyHours = Annotated[Hours, Field(le=200)]
Country = Annotated[Code, Field(max_length=2, description="ISO 3166-1 alpha-2")]


class PersonIn(Body):
    given_name: Name
    family_name: Name
    email: Email
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
    hire_date: SaneDate | None = None
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


class MentorProfileIn(Body):
    strengths: FewItems[Strength] = Field(min_length=1)
    industries: FewItems[Name] = Field(default_factory=list)
    markets: FewItems[Name] = Field(default_factory=list)
    functions_led: FewItems[Name] = Field(default_factory=list)
    crisis_experience: FewItems[Name] = Field(default_factory=list)
    leadership_style: Name | None = None
    formats: FewItems[CoachingFormat] = Field(min_length=1)
    max_mentees: MenteeSeats
    hours_per_month: MonthlyHours
    availability: FewItems[AvailabilityWindow] = Field(default_factory=list)


class CapacityIn(Body):
    max_mentees: MenteeSeats
    hours_per_month: MonthlyHours


class IntakeIn(Body):
    goals: FewItems[DevelopmentGoal] = Field(min_length=1)
    learning_style: Name | None = None
    preferred_formats: FewItems[CoachingFormat] = Field(default_factory=list)
    hours_per_month: MonthlyHours
    experiences_lacking: FewItems[Name] = Field(default_factory=list)
    motivations: TextMap | None = Field(
        None, description="Competency id → why it matters to the mentee (kept private)"
    )


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


class BatchIn(Body):
    ids: Items[Ref]


class CompetencyIn(Body):
    competency_id: Ref
    name: Name
    category: Name | None = None


class CohortIn(Body):
    name: Name
    programme_type: ProgrammeType = "standard"
    strategic_priority: Name | None = None
    business_units: FewItems[Name] = Field(default_factory=list)
    levels: FewItems[Level] = Field(default_factory=list)
    capacity: Positive = Field(description="Mentee seats")
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    pathway: FewItems[PathwayPhase] = Field(default_factory=list)


class CohortCapacityIn(Body):
    capacity: Positive


class StageIn(Body):
    stage: PathwayStage


class JoinIn(Body):
    person_id: Ref
    role: ProgrammeRole = "mentee"


class LeaveIn(Body):
    reason: Text | None = None
