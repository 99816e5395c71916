"""Request bodies of the profiles API (shapes only; business rules live in the domain)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

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


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(Body):
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    level: int
    business_unit: str = Field(max_length=200)
    function: str = Field(max_length=200)
    geography: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    time_zone: str = Field(max_length=64, description="IANA time zone")
    employee_id: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=200)
    manager_id: str | None = None
    hire_date: date | None = None
    languages: list[str] = Field(default_factory=list)

    def details(self) -> PersonDetails:
        fields = self.model_dump(include=set(PersonIn.model_fields))
        return PersonDetails(**{**fields, "languages": tuple(self.languages)})


class RegisterPerson(PersonIn):
    roles: list[ProgrammeRole] = Field(default_factory=list)


class UpdatePerson(PersonIn):
    effective_on: date | None = Field(
        None, description="When a level or title change took effect"
    )


class Roles(Body):
    roles: list[ProgrammeRole]


class MentorProfileIn(Body):
    strengths: list[Strength] = Field(min_length=1)
    industries: list[str] = Field(default_factory=list)
    markets: list[str] = Field(default_factory=list)
    functions_led: list[str] = Field(default_factory=list)
    crisis_experience: list[str] = Field(default_factory=list)
    leadership_style: str | None = None
    formats: list[CoachingFormat] = Field(min_length=1)
    max_mentees: int = Field(ge=0, le=50)
    hours_per_month: int = Field(ge=0, le=200)
    availability: list[AvailabilityWindow] = Field(default_factory=list)


class CapacityIn(Body):
    max_mentees: int = Field(ge=0, le=50)
    hours_per_month: int = Field(ge=0, le=200)


class IntakeIn(Body):
    goals: list[DevelopmentGoal] = Field(min_length=1)
    learning_style: str | None = None
    preferred_formats: list[CoachingFormat] = Field(default_factory=list)
    hours_per_month: int = Field(ge=0, le=200)
    experiences_lacking: list[str] = Field(default_factory=list)
    motivations: dict[str, str] | None = Field(
        None, description="Competency id → why it matters to the mentee (kept private)"
    )


class ConsentIn(Body):
    given: bool


class DemographicsIn(Body):
    attributes: dict[str, str]


class OutcomeIn(Body):
    kind: OutcomeKind
    effective_on: date
    to_level: int | None = Field(None, ge=1, le=12)
    to_title: str | None = None


class DeactivateIn(Body):
    reason: str = "inactive"


class BatchIn(Body):
    ids: list[str] = Field(max_length=500)


class CompetencyIn(Body):
    competency_id: str
    name: str
    category: str | None = None


class CohortIn(Body):
    name: str
    programme_type: ProgrammeType = "standard"
    strategic_priority: str | None = None
    business_units: list[str] = Field(default_factory=list)
    levels: list[int] = Field(default_factory=list)
    capacity: int = Field(ge=1)
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    pathway: list[PathwayPhase] = Field(default_factory=list)


class CohortCapacityIn(Body):
    capacity: int = Field(ge=1)


class StageIn(Body):
    stage: PathwayStage


class JoinIn(Body):
    person_id: str
    role: ProgrammeRole = "mentee"


class LeaveIn(Body):
    reason: str | None = None
