"""Integration events of the profiles service (topic ``tandem.profiles.v1``).

These are what other services may know about people: pseudonymous person ids and the
attributes matching, sessions and insights need. Never names, emails or employee ids;
demographics only where the person consented. The profiles service stores richer events
of the same names and publishes each one projected onto the model below.

A field in ``personal_fields`` is the person's own words or a sensitive attribute (a
mentor's industries, a mentee's lacking experiences, a withdrawal's reason,
demographics): profiles stores it encrypted with the key of the person the event is
about (``person_id``), so erasure shreds it in the event store; it is published in
clear because a consumer needs it (matching scores on it), and that consumer must
forget it on ``PersonErased``. Every other string is declared ``@not_personal`` with
why.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from chassis.events import ContractValue, EventPayload, EventRegistry
from chassis.inputs import Code, FewItems, Name, Ref, SaneDate
from contracts import not_personal

registry = EventRegistry()


class ProgrammeRole(StrEnum):
    """A part a person plays in the mentoring programme (a person may have several)."""

    MENTEE = "mentee"
    MENTOR = "mentor"
    REVERSE_MENTOR = "reverse_mentor"
    SPONSOR = "sponsor"
    COORDINATOR = "coordinator"


class CoachingFormat(StrEnum):
    """How a mentor coaches, or how a mentee prefers to be coached."""

    ONE_TO_ONE = "one_to_one"
    GROUP = "group"
    SHADOWING = "shadowing"
    PROJECT = "project"


class OutcomeKind(StrEnum):
    """A career outcome of a person (for business impact)."""

    PROMOTION = "promotion"
    ROLE_CHANGE = "role_change"
    LATERAL_MOVE = "lateral_move"
    DEPARTURE = "departure"


class PathwayStage(StrEnum):
    """A stage of a cohort's pathway, in this order."""

    INTAKE = "intake"
    PAIRING = "pairing"
    DEVELOPMENT = "development"
    EVALUATION = "evaluation"
    CLOSED = "closed"


class ProgrammeType(StrEnum):
    """The kind of mentoring programme a cohort runs."""

    STANDARD = "standard"  # a senior mentor grows a junior mentee
    REVERSE = "reverse"  # a junior mentor teaches a senior (technology, culture)
    EXTERNAL = "external"  # an external advisor mentors
    GROUP = "group"  # one mentor for a circle of mentees with shared goals


class ChangeSource(StrEnum):
    """Who reported a change of a person's HR details: the HRIS import, SCIM
    provisioning or a coordinator."""

    HRIS = "hris"
    SCIM = "scim"
    COORDINATOR = "coordinator"


class PersonStatus(StrEnum):
    """Where a person stands: active, deactivated (``inactive``) or erased."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ERASED = "erased"


class MembershipStatus(StrEnum):
    """A person's place in a cohort: holding a seat, or on the waiting list."""

    ADMITTED = "admitted"
    WAITING = "waiting"


class ImportStatus(StrEnum):
    """The state of an HRIS import job; ``succeeded`` and ``failed`` are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportFormat(StrEnum):
    """The form an HRIS import arrived in."""

    JSON = "json"
    CSV = "csv"


class RecordOutcome(StrEnum):
    """What an import did (or, in a dry run, would do) to one record."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DEACTIVATED = "deactivated"
    SKIPPED = "skipped"
    FAILED = "failed"


@not_personal(
    person_id="pseudonymous id",
    business_unit="organisational attribute, shared for matching and equity by design",
    function="organisational attribute, shared for matching and equity by design",
    geography="ISO country code",
    time_zone="IANA time zone name",
    manager_id="pseudonymous id",
    tenure_start="year and month of hire only (eligibility by tenure)",
    languages="language codes",
)
class PersonAttributes(EventPayload):
    """Organisational attributes shared with other services (no direct identifiers)."""

    person_id: str
    level: int = Field(ge=1, le=12, description="Leadership level, 1 = most junior")
    business_unit: str
    function: str
    geography: str = Field(description="ISO 3166-1 alpha-2 country code")
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris")
    manager_id: str | None = Field(None, description="Person id of the line manager")
    tenure_start: str | None = Field(None, description="Hire year and month, YYYY-MM")
    languages: list[str] = Field(default_factory=list)
    roles: list[ProgrammeRole] = Field(default_factory=list)


@registry.register
class PersonRegistered(PersonAttributes):
    pass


@registry.register
class PersonDetailsUpdated(PersonAttributes):
    pass


@registry.register
@not_personal(person_id="pseudonymous id")
class ProgrammeRolesChanged(EventPayload):
    person_id: str
    roles: list[ProgrammeRole]


@not_personal(competency_id="id in the tenant's competency framework")
class Strength(ContractValue):
    competency_id: Ref
    proficiency: int = Field(ge=1, le=5)


@not_personal(start="a time of day (HH:MM)", end="a time of day (HH:MM)")
class AvailabilityWindow(ContractValue):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(
        max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local"
    )
    end: str = Field(
        max_length=5,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$",
        description="HH:MM local, after start (24:00 = midnight at the day's end)",
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> AvailabilityWindow:
        # A window lies within its weekday: 17:00-09:00 is refused, not read as
        # overnight (send two windows, one on each day, for an evening and a morning).
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


@registry.register
@not_personal(person_id="pseudonymous id")
class MentorProfileSet(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = (
        "industries",
        "markets",
        "functions_led",
        "crisis_experience",
        "leadership_style",
    )
    person_id: str
    strengths: list[Strength]
    industries: list[str] = Field(default_factory=list)
    markets: list[str] = Field(default_factory=list)
    functions_led: list[str] = Field(default_factory=list)
    crisis_experience: list[str] = Field(default_factory=list)
    leadership_style: str | None = None
    formats: list[CoachingFormat] = Field(default_factory=list)
    max_mentees: int = Field(ge=0, le=50)
    hours_per_month: int = Field(ge=0, le=200)
    availability: list[AvailabilityWindow] = Field(default_factory=list)


@registry.register
@not_personal(person_id="pseudonymous id")
class MentorCapacityChanged(EventPayload):
    person_id: str
    max_mentees: int = Field(ge=0, le=50)
    hours_per_month: int = Field(ge=0, le=200)


@not_personal(competency_id="id in the tenant's competency framework")
class DevelopmentGoal(ContractValue):
    competency_id: Ref
    current: int = Field(ge=1, le=5)
    target: int = Field(ge=1, le=5)


@registry.register
@not_personal(person_id="pseudonymous id")
class IntakeSubmitted(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = (
        "learning_style",
        "experiences_lacking",
    )
    person_id: str
    goals: list[DevelopmentGoal]
    learning_style: str | None = None
    preferred_formats: list[CoachingFormat] = Field(default_factory=list)
    hours_per_month: int = Field(ge=0, le=200)
    experiences_lacking: list[str] = Field(default_factory=list)


@registry.register
@not_personal(person_id="pseudonymous id")
class DemographicsShared(EventPayload):
    """Consented self-reported attributes, for equity reporting only."""

    personal_fields: ClassVar[tuple[str, ...]] = ("attributes",)
    person_id: str
    attributes: dict[str, str]


@registry.register
@not_personal(person_id="pseudonymous id")
class DemographicsWithdrawn(EventPayload):
    person_id: str


@registry.register
@not_personal(person_id="pseudonymous id")
class CareerOutcomeRecorded(EventPayload):
    """An HR outcome (from the HRIS or a coordinator), for business impact."""

    person_id: str
    kind: OutcomeKind
    from_level: int | None = None
    to_level: int | None = None
    effective_on: date
    source: ChangeSource = ChangeSource.HRIS


@registry.register
@not_personal(
    person_id="pseudonymous id",
    reason="a short code (inactive, departure, deprovisioned), not prose",
)
class PersonDeactivated(EventPayload):
    """A person no longer takes part (deactivated, deprovisioned or left).

    ``deactivated_on``: the day they stopped, when it was told after the fact (a
    leaver's termination date, a deactivation dated back); absent: the day it was
    recorded."""

    person_id: str
    reason: str = "inactive"
    deactivated_on: date | None = None


@registry.register
@not_personal(person_id="pseudonymous id")
class PersonReactivated(EventPayload):
    person_id: str


@registry.register
@not_personal(person_id="pseudonymous id")
class PersonErased(EventPayload):
    """Every service must forget or anonymise this person on receipt."""

    person_id: str
    erased_at: datetime


# -- competency framework (one per tenant) ------------------------------------------


@registry.register
@not_personal(
    competency_id="id in the tenant's competency framework",
    name="the organisation's name for a competency",
    category="the organisation's grouping of competencies",
)
class CompetencyDefined(EventPayload):
    competency_id: str
    name: str
    category: str | None = None


@registry.register
@not_personal(competency_id="id in the tenant's competency framework")
class CompetencyRetired(EventPayload):
    competency_id: str


# -- cohorts ----------------------------------------------------------------------


class PathwayPhase(ContractValue):
    stage: PathwayStage
    starts_on: SaneDate
    ends_on: SaneDate


@not_personal(
    business_units="the organisation's unit names", geographies="ISO country codes"
)
class EligibilityRules(ContractValue):
    business_units: FewItems[Name] = Field(
        default_factory=list, description="empty = any"
    )
    min_level: int | None = Field(None, ge=1, le=12)
    max_level: int | None = Field(None, ge=1, le=12)
    geographies: FewItems[Code] = Field(default_factory=list, description="empty = any")
    min_tenure_months: int | None = Field(None, ge=0, le=1200)


@registry.register
@not_personal(
    cohort_id="id",
    name="the programme's name for a cohort",
    strategic_priority="the programme's stated priority, about no one",
    business_units="the organisation's unit names",
)
class CohortCreated(EventPayload):
    cohort_id: str
    name: str
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    strategic_priority: str | None = None
    business_units: list[str] = Field(default_factory=list)
    levels: list[int] = Field(default_factory=list)
    capacity: int = Field(ge=1, description="Mentee seats")
    eligibility: EligibilityRules = Field(default_factory=lambda: EligibilityRules())
    pathway: list[PathwayPhase] = Field(default_factory=list)


@registry.register
@not_personal(cohort_id="id")
class CohortCapacityChanged(EventPayload):
    cohort_id: str
    capacity: int = Field(ge=1)


@registry.register
@not_personal(cohort_id="id")
class CohortStageAdvanced(EventPayload):
    cohort_id: str
    stage: PathwayStage


@registry.register
@not_personal(cohort_id="id", person_id="pseudonymous id")
class ParticipantAdmitted(EventPayload):
    """A person took a seat (or a mentor's place) in the cohort.

    ``admitted_on`` is the day it happened, which may be before the day it was
    recorded (a programme's history); null on events recorded before the field
    existed, which were admitted the day they were recorded."""

    cohort_id: str
    person_id: str
    role: ProgrammeRole
    from_waiting_list: bool = False
    admitted_on: date | None = Field(
        None, description="The day the person was admitted; null: the event's day"
    )


@registry.register
@not_personal(cohort_id="id", person_id="pseudonymous id")
class ParticipantWaitlisted(EventPayload):
    cohort_id: str
    person_id: str
    role: ProgrammeRole


@registry.register
@not_personal(cohort_id="id", person_id="pseudonymous id")
class ParticipantWithdrew(EventPayload):
    """A participant left the cohort; ``reason`` is theirs, in their words."""

    personal_fields: ClassVar[tuple[str, ...]] = ("reason",)
    cohort_id: str
    person_id: str
    reason: str | None = None


# -- HRIS imports (progress of a job, for live progress displays) -----------------


class ImportCounts(ContractValue):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    skipped: int = 0
    failed: int = 0


@registry.register
@not_personal(job_id="id")
class ImportProgressed(EventPayload):
    """An import job applied another chunk of its records (no personal data)."""

    job_id: str
    dry_run: bool = False
    processed: int = Field(ge=0)
    total: int = Field(ge=0)
    counts: ImportCounts = Field(default_factory=lambda: ImportCounts())


@registry.register
@not_personal(
    job_id="id", error="the service's own fixed message, never a record's content"
)
class ImportFinished(EventPayload):
    """An import job ended: ``succeeded`` (every record handled) or ``failed``."""

    job_id: str
    dry_run: bool = False
    status: Literal[ImportStatus.SUCCEEDED, ImportStatus.FAILED]
    processed: int = Field(ge=0)
    total: int = Field(ge=0)
    counts: ImportCounts = Field(default_factory=lambda: ImportCounts())
    error: str | None = None
