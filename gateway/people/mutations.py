"""Mutations of the people part: each answers its payload or a typed error."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import profiles as api
from gateway.answers import read
from gateway.context import ctx
from gateway.enums import (
    CoachingFormat,
    ImportFormat,
    MembershipStatus,
    OutcomeKind,
    PathwayStage,
    ProgrammeRole,
    ProgrammeType,
)
from gateway.errors import (
    COMMON,
    CommonErrors,
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotEligible,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationError,
    invalid,
)
from gateway.ids import global_id, is_local_id, local_id
from gateway.mutations import run
from gateway.people.types import (
    Cohort,
    Competency,
    ImportJob,
    Person,
    cohort_by_id,
    competency_by_id,
    person_by_id,
)
from gateway.upstream import upstream_path

ALL = (*COMMON, NotEligible)
SERVICE = "profiles"


def _values(items: list[Any] | None) -> list[Any]:
    return [i.value for i in items or []]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- people --------------------------------------------------------------------------


@strawberry.input(description="HR details of a person.")
class PersonDetailsInput:
    given_name: str = strawberry.field(description="Given name.")
    family_name: str = strawberry.field(description="Family name.")
    email: str = strawberry.field(description="Work email (unique).")
    level: int = strawberry.field(description="Leadership level, 1 = most junior.")
    business_unit: str = strawberry.field(description="Business unit.")
    function: str = strawberry.field(description="Function, e.g. Finance.")
    geography: str = strawberry.field(description="Country (ISO 3166-1 alpha-2).")
    time_zone: str = strawberry.field(description="IANA time zone.")
    employee_id: str | None = strawberry.field(
        default=None, description="The HRIS's employee id (unique)."
    )
    title: str | None = strawberry.field(default=None, description="Job title.")
    manager_id: strawberry.ID | None = strawberry.field(
        default=None, description="The line manager (a Person)."
    )
    hire_date: date | None = strawberry.field(default=None, description="Hire date.")
    languages: list[str] = strawberry.field(
        default_factory=list, description="Languages spoken."
    )


def _details(d: PersonDetailsInput, path: str) -> dict[str, Any]:
    return {
        "given_name": d.given_name,
        "family_name": d.family_name,
        "email": d.email,
        "level": d.level,
        "business_unit": d.business_unit,
        "function": d.function,
        "geography": d.geography,
        "time_zone": d.time_zone,
        "employee_id": d.employee_id,
        "title": d.title,
        "manager_id": local_id(d.manager_id, "Person", f"{path}.managerId")
        if d.manager_id
        else None,
        "hire_date": _iso(d.hire_date),
        "languages": list(d.languages),
    }


@strawberry.input(description="A new person.")
class RegisterPersonInput:
    details: PersonDetailsInput = strawberry.field(description="HR details.")
    roles: list[ProgrammeRole] = strawberry.field(
        default_factory=list, description="Programme roles."
    )


@strawberry.input(description="New HR details of a person (replacing the old).")
class UpdatePersonInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    details: PersonDetailsInput = strawberry.field(description="HR details.")
    effective_on: date | None = strawberry.field(
        default=None, description="When a level or title change took effect."
    )


@strawberry.input(description="A person's programme roles (replacing the old).")
class SetProgrammeRolesInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    roles: list[ProgrammeRole] = strawberry.field(description="The roles.")


@strawberry.input(description="A competency offered, with proficiency.")
class StrengthInput:
    competency_id: str = strawberry.field(description="The competency.")
    proficiency: int = strawberry.field(description="Proficiency (1 to 5).")


@strawberry.input(description="A weekly window of availability, in local time.")
class AvailabilityWindowInput:
    weekday: int = strawberry.field(description="0 = Monday … 6 = Sunday.")
    start: str = strawberry.field(description="HH:MM.")
    end: str = strawberry.field(description="HH:MM.")


@strawberry.input(description="A mentor's catalogue entry.")
class SetMentorProfileInput:
    person_id: strawberry.ID = strawberry.field(description="The mentor.")
    strengths: list[StrengthInput] = strawberry.field(
        description="Competencies offered (at least one)."
    )
    formats: list[CoachingFormat] = strawberry.field(
        description="Formats offered (at least one)."
    )
    max_mentees: int = strawberry.field(description="Mentees at most (0 to 50).")
    hours_per_month: int = strawberry.field(description="Hours a month (0 to 200).")
    industries: list[str] = strawberry.field(
        default_factory=list, description="Industries known."
    )
    markets: list[str] = strawberry.field(
        default_factory=list, description="Markets known."
    )
    functions_led: list[str] = strawberry.field(
        default_factory=list, description="Functions led."
    )
    crisis_experience: list[str] = strawberry.field(
        default_factory=list, description="Crises lived through."
    )
    leadership_style: str | None = strawberry.field(
        default=None, description="Leadership style."
    )
    availability: list[AvailabilityWindowInput] = strawberry.field(
        default_factory=list, description="When they are available."
    )


@strawberry.input(description="A mentor's capacity.")
class SetMentorCapacityInput:
    person_id: strawberry.ID = strawberry.field(description="The mentor.")
    max_mentees: int = strawberry.field(description="Mentees at most (0 to 50).")
    hours_per_month: int = strawberry.field(description="Hours a month (0 to 200).")


@strawberry.input(description="A development goal.")
class DevelopmentGoalInput:
    competency_id: str = strawberry.field(description="The competency to develop.")
    current: int = strawberry.field(description="Proficiency now (1 to 5).")
    target: int = strawberry.field(description="Proficiency aimed for (1 to 5).")


@strawberry.input(description="A mentee's intake.")
class SubmitIntakeInput:
    person_id: strawberry.ID = strawberry.field(description="The mentee.")
    goals: list[DevelopmentGoalInput] = strawberry.field(
        description="Development goals (at least one)."
    )
    hours_per_month: int = strawberry.field(description="Hours a month (0 to 200).")
    learning_style: str | None = strawberry.field(
        default=None, description="How they learn best."
    )
    preferred_formats: list[CoachingFormat] = strawberry.field(
        default_factory=list, description="Formats preferred."
    )
    experiences_lacking: list[str] = strawberry.field(
        default_factory=list, description="Experiences they lack."
    )
    motivations: JSON | None = strawberry.field(
        default=None,
        description="Competency id → why it matters (kept private to the service).",
    )


@strawberry.input(description="Consent given or withdrawn for a purpose.")
class SetConsentInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    purpose: str = strawberry.field(description="The purpose, e.g. `demographics`.")
    given: bool = strawberry.field(description="True to give, false to withdraw.")


@strawberry.input(description="Self-reported demographic attributes (with consent).")
class ShareDemographicsInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    attributes: JSON = strawberry.field(
        description='Attribute → value, e.g. {"gender": "woman"}.'
    )


@strawberry.input(description="An HR outcome the HRIS did not send.")
class RecordCareerOutcomeInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    kind: OutcomeKind = strawberry.field(description="What happened.")
    effective_on: date = strawberry.field(description="When it took effect.")
    to_level: int | None = strawberry.field(default=None, description="New level.")
    to_title: str | None = strawberry.field(default=None, description="New title.")


@strawberry.input(description="A person to deactivate.")
class DeactivatePersonInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    reason: str = strawberry.field(
        default="inactive", description="Why (`departure` when they left the company)."
    )
    effective_on: date | None = strawberry.field(
        default=None,
        description="The day they stopped taking part, when told after the fact "
        "(default today, UTC); not in the future, not before their hire date.",
    )


@strawberry.input(description="A person identified by id.")
class PersonRefInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")


@strawberry.type(description="The person was changed (or registered).")
class PersonSuccess:
    person: Person | None = strawberry.field(description="The person, as now.")


@strawberry.type(description="The person was erased everywhere.")
class ErasePersonSuccess:
    erased_person_id: relay.GlobalID = strawberry.field(
        description="The id of the erased person (it now reads `erased: true`)."
    )


PersonResult = Annotated[PersonSuccess | CommonErrors, strawberry.union("PersonResult")]


@strawberry.type(description="The capacity was changed.")
class SetMentorCapacitySuccess:
    person: Person | None = strawberry.field(description="The mentor, as now.")


SetMentorCapacityResult = Annotated[
    SetMentorCapacitySuccess
    | ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | RuleViolation
    | ServiceUnavailable,
    strawberry.union("SetMentorCapacityResult"),
]
ErasePersonResult = Annotated[
    ErasePersonSuccess | CommonErrors, strawberry.union("ErasePersonResult")
]


# -- cohorts -------------------------------------------------------------------------


@strawberry.input(description="Who may join a cohort as a mentee (empty = any).")
class EligibilityRulesInput:
    business_units: list[str] = strawberry.field(
        default_factory=list, description="Business units."
    )
    min_level: int | None = strawberry.field(default=None, description="Lowest level.")
    max_level: int | None = strawberry.field(default=None, description="Highest level.")
    geographies: list[str] = strawberry.field(
        default_factory=list, description="Countries (ISO alpha-2)."
    )
    min_tenure_months: int | None = strawberry.field(
        default=None, description="Months in the company at least."
    )


@strawberry.input(description="A stage of the pathway with its dates.")
class PathwayPhaseInput:
    stage: PathwayStage = strawberry.field(description="The stage.")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day.")


@strawberry.input(description="A new cohort.")
class CreateCohortInput:
    name: str = strawberry.field(description="Its name.")
    capacity: int = strawberry.field(description="Mentee seats (at least 1).")
    programme_type: ProgrammeType = strawberry.field(
        default=ProgrammeType.STANDARD, description="The kind of programme."
    )
    strategic_priority: str | None = strawberry.field(
        default=None, description="The strategic priority it serves."
    )
    business_units: list[str] = strawberry.field(
        default_factory=list, description="Business units served."
    )
    levels: list[int] = strawberry.field(
        default_factory=list, description="Levels targeted."
    )
    eligibility: EligibilityRulesInput | None = strawberry.field(
        default=None, description="Who may join as a mentee."
    )
    pathway: list[PathwayPhaseInput] = strawberry.field(
        default_factory=list, description="Stages in order, each once."
    )


@strawberry.input(description="A person applying to a cohort.")
class AdmitParticipantInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort.")
    person_id: strawberry.ID = strawberry.field(description="The person.")
    role: ProgrammeRole = strawberry.field(
        default=ProgrammeRole.MENTEE, description="The role to join as."
    )
    admitted_on: date | None = strawberry.field(
        default=None,
        description="The day the admission took effect (coordinators and admins): "
        "default today; a past day records a programme's history (not before the "
        "person's hire date, and only when a seat is free); never in the future.",
    )


@strawberry.input(description="A person leaving a cohort (or its waiting list).")
class WithdrawParticipantInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort.")
    person_id: strawberry.ID = strawberry.field(description="The person.")
    reason: str | None = strawberry.field(default=None, description="Why.")


@strawberry.input(description="A cohort's new number of mentee seats.")
class SetCohortCapacityInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort.")
    capacity: int = strawberry.field(
        description="Seats (at least 1, never below those taken)."
    )


@strawberry.input(description="The stage a cohort moves on to.")
class AdvanceCohortStageInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort.")
    stage: PathwayStage = strawberry.field(description="A later stage.")


@strawberry.type(description="The cohort was changed (or created).")
class CohortSuccess:
    cohort: Cohort | None = strawberry.field(description="The cohort, as now.")


@strawberry.type(description="The person was admitted, or placed on the waiting list.")
class AdmitParticipantSuccess:
    status: MembershipStatus = strawberry.field(
        description="Admitted, or waiting when every seat is taken."
    )
    waiting_position: int | None = strawberry.field(
        description="Place in line when waiting."
    )
    admitted_on: date | None = strawberry.field(
        default=None,
        description="The day the admission took effect (null when waiting).",
    )
    cohort: Cohort | None = strawberry.field(description="The cohort, as now.")
    person: Person | None = strawberry.field(description="The person.")


CohortResult = Annotated[CohortSuccess | CommonErrors, strawberry.union("CohortResult")]
AdmitParticipantResult = Annotated[
    AdmitParticipantSuccess
    | NotEligible
    | ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | Conflict
    | RuleViolation
    | ServiceUnavailable,
    strawberry.union("AdmitParticipantResult"),
]


# -- competencies --------------------------------------------------------------------


@strawberry.input(description="A competency of the framework.")
class DefineCompetencyInput:
    competency_id: str = strawberry.field(
        description="Its own id, e.g. `strategic-thinking`."
    )
    name: str = strawberry.field(description="Its name.")
    category: str | None = strawberry.field(default=None, description="Category.")


@strawberry.input(description="A competency to retire.")
class RetireCompetencyInput:
    id: strawberry.ID = strawberry.field(description="The Competency.")


@strawberry.type(description="The competency was defined or retired.")
class CompetencySuccess:
    competency: Competency | None = strawberry.field(description="As now.")


CompetencyResult = Annotated[
    CompetencySuccess | CommonErrors, strawberry.union("CompetencyResult")
]


# -- imports -------------------------------------------------------------------------


@strawberry.input(description="An HRIS export to import.")
class ImportPeopleInput:
    format: ImportFormat = strawberry.field(description="JSON records or CSV text.")
    records: JSON | None = strawberry.field(
        default=None,
        description="JSON: a list of records (employee_id, given_name, family_name, "
        "email, level, business_unit, function, geography, time_zone, title, "
        "manager_employee_id, hire_date, languages, roles, active, "
        "termination_date, effective_on).",
    )
    content: str | None = strawberry.field(
        default=None,
        description="CSV: the file's text, a header row of the same field names "
        "(lists `;`-separated).",
    )
    dry_run: bool = strawberry.field(
        default=False,
        description="Validate and report what would happen; write nothing.",
    )


@strawberry.type(description="The import job was accepted (or found again).")
class ImportPeopleSuccess:
    job: ImportJob = strawberry.field(
        description="The job; follow it with `importProgress`."
    )
    replayed: bool = strawberry.field(
        description="True when this idempotency key had already started this job."
    )


ImportPeopleResult = Annotated[
    ImportPeopleSuccess | CommonErrors, strawberry.union("ImportPeopleResult")
]


def _import_body(input: ImportPeopleInput) -> tuple[bytes | None, Any, str]:
    """``(csv content, json body, content type)`` or a ValidationError raised."""
    if input.format is ImportFormat.JSON:
        if input.content is not None:
            raise _Invalid("input.content", "send JSON records in `records`, not here")
        if not isinstance(input.records, list):
            raise _Invalid("input.records", "a list of records is required for JSON")
        return None, {"people": input.records}, "application/json"
    if input.records is not None:
        raise _Invalid("input.records", "send CSV text in `content`, not here")
    if not input.content or not input.content.strip():
        raise _Invalid("input.content", "the CSV text is required for CSV")
    try:
        next(csv.reader(io.StringIO(input.content)))
    except (csv.Error, StopIteration):
        raise _Invalid("input.content", "not readable as CSV") from None
    return input.content.encode(), None, "text/csv"


class _Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.error = invalid(path, message)


# -- the mutations -------------------------------------------------------------------


@strawberry.type
class PeopleMutation:
    # people

    @strawberry.mutation(description="Register a person (coordinators, admins).")
    async def register_person(
        self, info: Info, input: RegisterPersonInput
    ) -> PersonResult:
        c = ctx(info)

        async def call() -> str:
            body = {
                **_details(input.details, "input.details"),
                "roles": _values(input.roles),
            }
            answer = await c.caller.post(SERVICE, "/people", body)
            return read(api.RegisteredPerson, answer, SERVICE).person_id

        return await run(call, lambda pid: _person(info, pid), COMMON)

    @strawberry.mutation(
        description="Replace a person's HR details; a level or title change is "
        "recorded as a career outcome."
    )
    async def update_person(self, info: Info, input: UpdatePersonInput) -> PersonResult:
        c = ctx(info)

        async def call() -> str:
            pid = local_id(input.person_id, "Person", "input.personId")
            body = {
                **_details(input.details, "input.details"),
                "effective_on": _iso(input.effective_on),
            }
            await c.caller.put(
                "profiles", upstream_path("/people/{pid}", pid=pid), body
            )
            return pid

        return await run(call, lambda pid: _person(info, pid), COMMON)

    @strawberry.mutation(description="Set a person's programme roles.")
    async def set_programme_roles(
        self, info: Info, input: SetProgrammeRolesInput
    ) -> PersonResult:
        return await _on_person(
            info,
            input.person_id,
            "PUT",
            "/roles",
            {"roles": _values(input.roles)},
        )

    @strawberry.mutation(
        description="List a mentor in the catalogue: strengths, experience, formats, "
        "capacity."
    )
    async def set_mentor_profile(
        self, info: Info, input: SetMentorProfileInput
    ) -> PersonResult:
        body = {
            "strengths": [
                {"competency_id": s.competency_id, "proficiency": s.proficiency}
                for s in input.strengths
            ],
            "formats": _values(input.formats),
            "max_mentees": input.max_mentees,
            "hours_per_month": input.hours_per_month,
            "industries": list(input.industries),
            "markets": list(input.markets),
            "functions_led": list(input.functions_led),
            "crisis_experience": list(input.crisis_experience),
            "leadership_style": input.leadership_style,
            "availability": [
                {"weekday": a.weekday, "start": a.start, "end": a.end}
                for a in input.availability
            ],
        }
        return await _on_person(info, input.person_id, "PUT", "/mentor-profile", body)

    @strawberry.mutation(
        description="Change a mentor's capacity (never below their current mentees)."
    )
    async def set_mentor_capacity(
        self, info: Info, input: SetMentorCapacityInput
    ) -> SetMentorCapacityResult:
        c = ctx(info)

        async def call() -> str:
            pid = local_id(input.person_id, "Person", "input.personId")
            await c.caller.put(
                "profiles",
                upstream_path("/people/{pid}/capacity", pid=pid),
                {
                    "max_mentees": input.max_mentees,
                    "hours_per_month": input.hours_per_month,
                },
            )
            return pid

        async def ok(pid: str) -> SetMentorCapacitySuccess:
            return SetMentorCapacitySuccess(person=await person_by_id(info, pid))

        allowed = tuple(e for e in COMMON if e is not Conflict)
        return await run(call, ok, allowed)

    @strawberry.mutation(
        description="Submit a mentee's development goals and preferences."
    )
    async def submit_intake(self, info: Info, input: SubmitIntakeInput) -> PersonResult:
        body = {
            "goals": [
                {
                    "competency_id": g.competency_id,
                    "current": g.current,
                    "target": g.target,
                }
                for g in input.goals
            ],
            "hours_per_month": input.hours_per_month,
            "learning_style": input.learning_style,
            "preferred_formats": _values(input.preferred_formats),
            "experiences_lacking": list(input.experiences_lacking),
            "motivations": input.motivations,
        }
        return await _on_person(info, input.person_id, "PUT", "/intake", body)

    @strawberry.mutation(description="Give or withdraw consent for a purpose.")
    async def set_consent(self, info: Info, input: SetConsentInput) -> PersonResult:
        purpose = input.purpose.strip()
        if not is_local_id(purpose):
            return invalid(
                "input.purpose", "must be a purpose's name, e.g. `demographics`"
            )
        return await _on_person(
            info,
            input.person_id,
            "PUT",
            "/consents/{purpose}",
            {"given": input.given},
            purpose=purpose,
        )

    @strawberry.mutation(
        description="Share self-reported demographics (held only with consent; "
        "readable by you and by administrators only)."
    )
    async def share_demographics(
        self, info: Info, input: ShareDemographicsInput
    ) -> PersonResult:
        attrs = input.attributes
        if not isinstance(attrs, dict) or not all(
            isinstance(v, str) for v in attrs.values()
        ):
            return invalid("input.attributes", "an object of text values is required")
        return await _on_person(
            info, input.person_id, "PUT", "/demographics", {"attributes": attrs}
        )

    @strawberry.mutation(description="Record an HR outcome the HRIS did not send.")
    async def record_career_outcome(
        self, info: Info, input: RecordCareerOutcomeInput
    ) -> PersonResult:
        body = {
            "kind": input.kind.value,
            "effective_on": input.effective_on.isoformat(),
            "to_level": input.to_level,
            "to_title": input.to_title,
        }
        return await _on_person(info, input.person_id, "POST", "/outcomes", body)

    @strawberry.mutation(
        description="Deactivate a person (reason `departure` if they left), today "
        "or since `effectiveOn`; an impossible day is a ValidationError on "
        "`input.effectiveOn`."
    )
    async def deactivate_person(
        self, info: Info, input: DeactivatePersonInput
    ) -> PersonResult:
        body: dict[str, Any] = {"reason": input.reason}
        if input.effective_on is not None:
            body["effective_on"] = input.effective_on.isoformat()
        return await _on_person(info, input.person_id, "POST", "/deactivate", body)

    @strawberry.mutation(description="Reactivate a deactivated person.")
    async def reactivate_person(
        self, info: Info, input: PersonRefInput
    ) -> PersonResult:
        return await _on_person(info, input.person_id, "POST", "/reactivate", None)

    @strawberry.mutation(
        description="Erase a person: their key is destroyed and every service "
        "forgets them (administrators)."
    )
    async def erase_person(
        self, info: Info, input: PersonRefInput
    ) -> ErasePersonResult:
        c = ctx(info)

        async def call() -> str:
            pid = local_id(input.person_id, "Person", "input.personId")
            await c.caller.delete("profiles", upstream_path("/people/{pid}", pid=pid))
            return pid

        return await run(
            call,
            lambda pid: ErasePersonSuccess(erased_person_id=global_id("Person", pid)),
            COMMON,
        )

    # cohorts

    @strawberry.mutation(description="Create a cohort (coordinators, admins).")
    async def create_cohort(self, info: Info, input: CreateCohortInput) -> CohortResult:
        c = ctx(info)
        rules = input.eligibility or EligibilityRulesInput()
        body = {
            "name": input.name,
            "capacity": input.capacity,
            "programme_type": input.programme_type.value,
            "strategic_priority": input.strategic_priority,
            "business_units": list(input.business_units),
            "levels": list(input.levels),
            "eligibility": {
                "business_units": list(rules.business_units),
                "min_level": rules.min_level,
                "max_level": rules.max_level,
                "geographies": list(rules.geographies),
                "min_tenure_months": rules.min_tenure_months,
            },
            "pathway": [
                {
                    "stage": p.stage.value,
                    "starts_on": p.starts_on.isoformat(),
                    "ends_on": p.ends_on.isoformat(),
                }
                for p in input.pathway
            ],
        }

        async def call() -> str:
            answer = await c.caller.post(SERVICE, "/cohorts", body)
            return read(api.CreatedCohort, answer, SERVICE).cohort_id

        return await run(call, lambda cid: _cohort(info, cid), COMMON)

    @strawberry.mutation(
        description="Admit a person to a cohort, or place them on its waiting list "
        "when every seat is taken; `NotEligible` (with every reason) when they may "
        "not join."
    )
    async def admit_participant(
        self, info: Info, input: AdmitParticipantInput
    ) -> AdmitParticipantResult:
        c = ctx(info)

        async def call() -> api.JoinedCohort:
            cid = local_id(input.cohort_id, "Cohort", "input.cohortId")
            pid = local_id(input.person_id, "Person", "input.personId")
            body: dict[str, Any] = {"person_id": pid, "role": input.role.value}
            if input.admitted_on is not None:
                body["admitted_on"] = input.admitted_on.isoformat()
            answer = await c.caller.post(
                SERVICE, upstream_path("/cohorts/{cid}/participants", cid=cid), body
            )
            return read(api.JoinedCohort, answer, SERVICE)

        async def ok(joined: api.JoinedCohort) -> AdmitParticipantSuccess:
            return AdmitParticipantSuccess(
                status=MembershipStatus(joined.status),
                waiting_position=joined.waiting_position,
                admitted_on=joined.admitted_on,
                cohort=await cohort_by_id(info, joined.cohort_id),
                person=await person_by_id(info, joined.person_id),
            )

        return await run(call, ok, ALL)

    @strawberry.mutation(
        description="Withdraw a person from a cohort or its waiting list; the first "
        "person waiting takes a freed seat."
    )
    async def withdraw_participant(
        self, info: Info, input: WithdrawParticipantInput
    ) -> CohortResult:
        c = ctx(info)

        async def call() -> str:
            cid = local_id(input.cohort_id, "Cohort", "input.cohortId")
            pid = local_id(input.person_id, "Person", "input.personId")
            await c.caller.request(
                "profiles",
                "DELETE",
                upstream_path("/cohorts/{cid}/participants/{pid}", cid=cid, pid=pid),
                json={"reason": input.reason},
            )
            return cid

        return await run(call, lambda cid: _cohort(info, cid), COMMON)

    @strawberry.mutation(
        description="Change a cohort's mentee seats (never below those taken); "
        "people waiting take new seats in order."
    )
    async def set_cohort_capacity(
        self, info: Info, input: SetCohortCapacityInput
    ) -> CohortResult:
        return await _on_cohort(
            info, input.cohort_id, "PUT", "/capacity", {"capacity": input.capacity}
        )

    @strawberry.mutation(
        description="Move a cohort along its pathway (intake → pairing → development "
        "→ evaluation → closed)."
    )
    async def advance_cohort_stage(
        self, info: Info, input: AdvanceCohortStageInput
    ) -> CohortResult:
        return await _on_cohort(
            info, input.cohort_id, "POST", "/stage", {"stage": input.stage.value}
        )

    # competencies

    @strawberry.mutation(
        description="Define a competency of the framework (the same definition "
        "again changes nothing)."
    )
    async def define_competency(
        self, info: Info, input: DefineCompetencyInput
    ) -> CompetencyResult:
        c = ctx(info)

        async def call() -> str:
            body = {
                "competency_id": input.competency_id,
                "name": input.name,
                "category": input.category,
            }
            answer = await c.caller.post(SERVICE, "/competencies", body)
            return read(api.DefinedCompetency, answer, SERVICE).competency_id

        return await run(call, lambda cid: _competency(info, cid), COMMON)

    @strawberry.mutation(
        description="Retire a competency: no new goal or strength may name it."
    )
    async def retire_competency(
        self, info: Info, input: RetireCompetencyInput
    ) -> CompetencyResult:
        c = ctx(info)

        async def call() -> str:
            cid = local_id(input.id, "Competency", "input.id")
            await c.caller.delete(
                "profiles", upstream_path("/competencies/{cid}", cid=cid)
            )
            return cid

        return await run(call, lambda cid: _competency(info, cid), COMMON)

    # imports

    @strawberry.mutation(
        description="Import people from an HRIS export as a job (integrations, "
        "coordinators, admins). The same `idempotencyKey` with the same records "
        "answers the same job and imports nothing twice; with other records it is "
        "refused (`RuleViolation`, code `IdempotencyKeyReused`)."
    )
    async def import_people(
        self,
        info: Info,
        input: ImportPeopleInput,
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="Your key for this batch (at most 200 characters); "
                "retrying with it is safe."
            ),
        ],
    ) -> ImportPeopleResult:
        c = ctx(info)
        key = idempotency_key.strip()
        if not key or len(key) > 200:
            return invalid("idempotencyKey", "1 to 200 characters are required")
        try:
            content, body, media = _import_body(input)
        except _Invalid as exc:
            return exc.error

        async def call() -> api.ImportReport:
            answer = await c.caller.request(
                SERVICE,
                "POST",
                "/imports",
                params={"dry_run": str(input.dry_run).lower()},
                json=body,
                content=content,
                headers={"idempotency-key": key, "content-type": media},
            )
            return read(api.ImportReport, answer, SERVICE)

        def ok(report: api.ImportReport) -> ImportPeopleSuccess:
            return ImportPeopleSuccess(
                job=ImportJob.from_model(report), replayed=report.replayed
            )

        return await run(call, ok, COMMON)


async def _person(info: Info, pid: str) -> PersonSuccess:
    return PersonSuccess(person=await person_by_id(info, pid))


async def _cohort(info: Info, cid: str) -> CohortSuccess:
    return CohortSuccess(cohort=await cohort_by_id(info, cid))


async def _competency(info: Info, cid: str) -> CompetencySuccess:
    return CompetencySuccess(competency=await competency_by_id(info, cid))


async def _on_person(
    info: Info,
    person_id: strawberry.ID,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    **segments: str,
) -> Any:
    """``method /people/{pid}<suffix>``; ``suffix`` is a constant template whose
    ``{names}`` are filled from ``segments`` (checked like every path segment)."""
    c = ctx(info)

    async def call() -> str:
        pid = local_id(person_id, "Person", "input.personId")
        await c.caller.request(
            "profiles",
            method,
            upstream_path("/people/{pid}" + suffix, pid=pid, **segments),
            json=body,
        )
        return pid

    return await run(call, lambda pid: _person(info, pid), COMMON)


async def _on_cohort(
    info: Info,
    cohort_id: strawberry.ID,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> Any:
    c = ctx(info)

    async def call() -> str:
        cid = local_id(cohort_id, "Cohort", "input.cohortId")
        await c.caller.request(
            "profiles",
            method,
            upstream_path("/cohorts/{cid}" + suffix, cid=cid),
            json=body,
        )
        return cid

    return await run(call, lambda cid: _cohort(info, cid), COMMON)
