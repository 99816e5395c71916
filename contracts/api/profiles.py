"""The profiles service's HTTP API: request bodies the domain decides on, and the
answers of its routes (people, competencies, cohorts, HRIS imports, operations).

The SCIM routes speak SCIM 2.0 and have their own models. Timestamps that the
service has always answered as stored text (``since``, ``created_at`` …) stay
strings here: ISO 8601 date-times, as written by the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from chassis.inputs import (
    FewItems,
    Hours,
    Level,
    Name,
    Positive,
    RequestBody,
    TextMap,
)
from contracts.profiles import (
    AvailabilityWindow,
    CoachingFormat,
    DevelopmentGoal,
    EligibilityRules,
    ImportFormat,
    ImportStatus,
    MembershipStatus,
    PathwayPhase,
    PathwayStage,
    PersonStatus,
    ProgrammeRole,
    ProgrammeType,
    RecordOutcome,
    Strength,
)

# -- request bodies the domain takes as they are -----------------------------------

# A mentor takes at most 50 mentees and gives at most 200 hours a month (the contract's
# bounds); an intake's hours are the same figure seen from the mentee.
MenteeSeats = Annotated[int, Field(ge=0, le=50)]
MonthlyHours = Annotated[Hours, Field(le=200)]


class MentorProfileIn(RequestBody):
    """A mentor's catalogue entry: strengths, experience, formats, capacity."""

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


class IntakeIn(RequestBody):
    """A mentee's development goals and preferences."""

    goals: FewItems[DevelopmentGoal] = Field(min_length=1)
    learning_style: Name | None = None
    preferred_formats: FewItems[CoachingFormat] = Field(default_factory=list)
    hours_per_month: MonthlyHours
    experiences_lacking: FewItems[Name] = Field(default_factory=list)
    motivations: TextMap | None = Field(
        None, description="Competency id → why it matters to the mentee (kept private)"
    )


class CohortIn(RequestBody):
    """A new cohort's definition."""

    name: Name
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    strategic_priority: Name | None = None
    business_units: FewItems[Name] = Field(default_factory=list)
    levels: FewItems[Level] = Field(default_factory=list)
    capacity: Positive = Field(description="Mentee seats")
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    pathway: FewItems[PathwayPhase] = Field(default_factory=list)


# -- people ----------------------------------------------------------------------


class RegisteredPerson(BaseModel):
    person_id: str = Field(description="The new person's id")


class MentorProfile(BaseModel):
    """A mentor's catalogue entry as last set. A capacity change made before any
    profile was set leaves only ``max_mentees`` and ``hours_per_month``; fields
    absent from the stored entry are absent here too."""

    person_id: str | None = None
    strengths: list[Strength] | None = None
    industries: list[str] | None = None
    markets: list[str] | None = None
    functions_led: list[str] | None = None
    crisis_experience: list[str] | None = None
    leadership_style: str | None = None
    formats: list[CoachingFormat] | None = None
    max_mentees: int | None = Field(None, ge=0, le=50)
    hours_per_month: int | None = Field(None, ge=0, le=200)
    availability: list[AvailabilityWindow] | None = None


class Intake(BaseModel):
    """A mentee's intake as submitted (fields absent from it are absent here)."""

    person_id: str | None = None
    goals: list[DevelopmentGoal] | None = None
    learning_style: str | None = None
    preferred_formats: list[CoachingFormat] | None = None
    hours_per_month: int | None = Field(None, ge=0, le=200)
    experiences_lacking: list[str] | None = None
    motivations: dict[str, str] | None = Field(
        None, description="Competency id → why it matters to the mentee"
    )


class Person(BaseModel):
    """A person as the caller may see them.

    An erased person is only ``person_id``, ``status`` (``erased``) and ``erased``
    (true). The contact fields (``employee_id``, ``email``, ``hire_date``),
    ``intake`` and ``consents`` are present only for the person and those who
    provision people; ``demographics`` only for the person and admins.
    """

    person_id: str
    status: PersonStatus
    erased: bool = Field(description="True once the person was erased")
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    level: int | None = Field(None, ge=1, le=12, description="Grade, 1 (entry) to 12")
    business_unit: str | None = None
    function: str | None = None
    geography: str | None = Field(None, description="ISO 3166-1 alpha-2")
    time_zone: str | None = Field(None, description="IANA time zone")
    manager_id: str | None = Field(None, description="Person id of the line manager")
    languages: list[str] | None = None
    roles: list[ProgrammeRole] | None = None
    mentor_profile: MentorProfile | None = None
    version: int | None = Field(None, description="The person's stream version")
    employee_id: str | None = Field(None, description="Contact field (see above)")
    email: str | None = Field(None, description="Contact field (see above)")
    hire_date: date | None = Field(None, description="Contact field (see above)")
    intake: Intake | None = Field(None, description="The person and provisioners")
    consents: list[str] | None = Field(
        None, description="Purposes consented to (the person and provisioners)"
    )
    demographics: dict[str, str] | None = Field(
        None,
        description="Self-reported attributes shared with consent (the person and "
        "admins)",
    )


class PersonPage(BaseModel):
    items: list[Person]
    next: str | None = Field(description="Cursor of the next page (`after`), if any")


class People(BaseModel):
    items: list[Person] = Field(description="In the order asked; unknown ids left out")


# -- competencies ----------------------------------------------------------------


class Competency(BaseModel):
    competency_id: str
    name: str
    category: str | None
    retired: bool = Field(description="No new goal or strength may name it")


class DefinedCompetency(BaseModel):
    competency_id: str


# -- cohorts ---------------------------------------------------------------------


class CreatedCohort(BaseModel):
    cohort_id: str = Field(description="The new cohort's id")


class CohortSummary(BaseModel):
    cohort_id: str
    name: str
    capacity: int = Field(description="Mentee seats")
    stage: PathwayStage


class Participant(BaseModel):
    person_id: str
    role: ProgrammeRole


class WaitingEntry(BaseModel):
    person_id: str
    position: int = Field(ge=1, description="1 = next to take a freed seat")


class DatedParticipant(Participant):
    since: str = Field(description="When they were admitted (ISO 8601)")


class DatedWaitingEntry(WaitingEntry):
    role: ProgrammeRole
    since: str = Field(description="When they joined the list (ISO 8601)")


class _CohortDefinition(BaseModel):
    cohort_id: str
    name: str
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    strategic_priority: str | None = None
    business_units: list[str] = Field(default_factory=list)
    levels: list[int] = Field(default_factory=list)
    capacity: int = Field(description="Mentee seats")
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    pathway: list[PathwayPhase] = Field(default_factory=list)
    stage: PathwayStage
    seats_taken: int = Field(description="Seats held by admitted mentees")


class Cohort(_CohortDefinition):
    """A cohort with its participants and its ordered waiting list."""

    participants: list[Participant]
    waiting_list: list[WaitingEntry]


class CohortWithDates(_CohortDefinition):
    """A cohort with its participants and waiting list, each with since when."""

    participants: list[DatedParticipant]
    waiting_list: list[DatedWaitingEntry]


class Cohorts(BaseModel):
    items: list[CohortWithDates] = Field(
        description="In the order asked; unknown ids and other organisations' cohorts "
        "left out"
    )


class Membership(BaseModel):
    person_id: str
    cohort_id: str
    role: ProgrammeRole
    status: MembershipStatus
    since: str = Field(description="When they were admitted or joined the list")


class Memberships(BaseModel):
    items: list[Membership] = Field(description="In arrival order")


class Eligibility(BaseModel):
    eligible: bool
    reasons: list[str] = Field(description="Every reason why not (empty if eligible)")


class JoinedCohort(BaseModel):
    cohort_id: str
    person_id: str
    status: MembershipStatus
    waiting_position: int | None = Field(
        description="Place on the waiting list (1 = next), null when admitted"
    )
    admitted_on: date | None = Field(
        None, description="The day the admission took effect, null when waiting"
    )


# -- HRIS imports ----------------------------------------------------------------


class FieldProblem(BaseModel):
    path: str = Field(description="Dotted path of the field in the record")
    message: str


class RecordFailure(BaseModel):
    """Why a record failed."""

    code: str = Field(description="The error's stable name (e.g. ValidationError)")
    message: str
    fields: list[FieldProblem]


class RecordError(RecordFailure):
    """A failed record of an import."""

    row: int = Field(description="1-based position of the record in the batch")
    employee_id: str | None


class Progress(BaseModel):
    processed: int
    total: int


class Counts(BaseModel):
    """How many records had each outcome so far."""

    created: int
    updated: int
    unchanged: int
    deactivated: int
    skipped: int
    failed: int


class ImportLinks(BaseModel):
    self: str = Field(description="This report")
    records: str = Field(description="The per-record outcomes")


class ImportState(BaseModel):
    """An import job's state, progress, counts and a page of its failed records."""

    job_id: str
    status: ImportStatus
    dry_run: bool
    format: ImportFormat
    progress: Progress
    counts: Counts
    errors: list[RecordError] = Field(description="A page of the failed records")
    errors_next: int | None = Field(description="Cursor of the next page of errors")
    error: str | None = Field(description="Why the job as a whole failed")
    created_at: str
    updated_at: str
    finished_at: str | None


class ImportReport(ImportState):
    """An import job's state, progress, counts and a page of its failed records,
    with links to itself and to its per-record outcomes."""

    links: ImportLinks
    replayed: bool = Field(
        False, description="True when an Idempotency-Key replayed an earlier job"
    )


class ImportReports(BaseModel):
    items: list[ImportReport]


class RecordResult(BaseModel):
    row: int = Field(description="1-based position of the record in the batch")
    employee_id: str | None
    outcome: RecordOutcome
    person_id: str | None
    changes: list[str] = Field(description="The fields the record changed")
    error: RecordFailure | None


class RecordPage(BaseModel):
    items: list[RecordResult]
    next: int | None = Field(description="Cursor of the next page (`after`), if any")


# -- operations ------------------------------------------------------------------


class Rebuilt(BaseModel):
    events_replayed: int


class StoreConfirmation(BaseModel):
    store: str = Field(description="A table of the service's database")
    action: str = Field(description="What the erasure did to it, or why nothing")
    confirmed_at: datetime


class ServiceConfirmation(BaseModel):
    confirmed_at: datetime = Field(description="The last store's confirmation")
    complete: bool = Field(description="Every store of the service confirmed")
    stores: list[StoreConfirmation]


class ErasureReport(BaseModel):
    person_id: str
    erased_at: datetime
    key_destroyed_at: datetime | None = Field(
        description="When the person's key was destroyed (crypto-shredding)"
    )
    services: dict[str, ServiceConfirmation] = Field(
        description="Each service's confirmation, by service name"
    )
