"""People, cohorts, competencies and import jobs as GraphQL types."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from chassis.auth import Role
from contracts import profiles as events
from contracts.api import profiles as api
from gateway.answers import read
from gateway.connections import (
    Connection,
    from_list,
    from_pages,
)
from gateway.context import ctx
from gateway.enums import (
    ImportFormat,
    ImportStatus,
    MembershipStatus,
    PathwayStage,
    PersonStatus,
    ProgrammeRole,
    ProgrammeType,
)
from gateway.errors import query_error
from gateway.ids import local_id
from gateway.nodes import BatchedNode
from gateway.people import loaders
from gateway.upstream import UpstreamError, upstream_path

First = Annotated[
    int | None, strawberry.argument(description="Page size (default 20).")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor of the last edge already seen.")
]


SERVICE = "profiles"
T = TypeVar("T")
Item = TypeVar("Item")


def _when(value: str | None) -> datetime | None:
    """A timestamp the service answers as stored text (ISO 8601)."""
    return datetime.fromisoformat(value) if value else None


# -- people --------------------------------------------------------------------------


@strawberry.type(description="A development goal from the person's intake.")
class DevelopmentGoal:
    competency_id: str = strawberry.field(description="The competency to develop.")
    current: int = strawberry.field(description="Proficiency now (1 to 5).")
    target: int = strawberry.field(description="Proficiency aimed for (1 to 5).")

    @strawberry.field(description="The competency, from the tenant's framework.")
    async def competency(self, info: Info) -> Competency | None:
        return await competency_by_id(info, self.competency_id)


@strawberry.type(description="A competency a mentor offers, with their proficiency.")
class Strength:
    competency_id: str = strawberry.field(description="The competency.")
    proficiency: int = strawberry.field(description="Proficiency (1 to 5).")

    @strawberry.field(description="The competency, from the tenant's framework.")
    async def competency(self, info: Info) -> Competency | None:
        return await competency_by_id(info, self.competency_id)


@strawberry.type(description="A person's seat or place in line in a cohort.")
class CohortMembership:
    role: ProgrammeRole = strawberry.field(
        description="The programme role they joined as."
    )
    status: MembershipStatus = strawberry.field(
        description="Admitted, or on the waiting list."
    )
    since: datetime | None = strawberry.field(
        description="When they were admitted (the day the admission took effect, "
        "`admittedOn`, at 00:00 UTC), or joined the waiting list."
    )
    _cohort_id: strawberry.Private[str]

    @strawberry.field(description="The cohort.")
    async def cohort(self, info: Info) -> Cohort | None:
        return await cohort_by_id(info, self._cohort_id)


@strawberry.type(
    description="A person of the organisation: executive, mentor, reverse mentor, "
    "coordinator … Contact details and intake are shown to the person themselves "
    "and to coordinators; demographics and consents only to the person themselves "
    "and to administrators. An erased person keeps only their id and `erased: true`."
)
class Person(BatchedNode, relay.Node):
    person_id: relay.NodeID[str] = strawberry.field(
        description="The profiles service's id of the person."
    )
    status: PersonStatus = strawberry.field(description="Where the account stands.")
    erased: bool = strawberry.field(description="True once the person was erased.")
    given_name: str | None = strawberry.field(description="Given name.")
    family_name: str | None = strawberry.field(description="Family name.")
    email: str | None = strawberry.field(
        description="Work email (the person and coordinators only)."
    )
    title: str | None = strawberry.field(description="Job title.")
    level: int | None = strawberry.field(
        description="Grade or level (higher = more senior)."
    )
    business_unit: str | None = strawberry.field(description="Business unit.")
    function: str | None = strawberry.field(description="Function, e.g. Finance.")
    geography: str | None = strawberry.field(
        description="Country (ISO 3166-1 alpha-2)."
    )
    time_zone: str | None = strawberry.field(description="IANA time zone.")
    roles: list[ProgrammeRole] = strawberry.field(description="Programme roles.")
    languages: list[str] = strawberry.field(description="Languages spoken.")
    mentor_profile: JSON | None = strawberry.field(
        description="Strengths, formats and capacity offered as a mentor."
    )
    intake: JSON | None = strawberry.field(
        description="Goals, preferred formats and hours (the person and coordinators)."
    )
    version: int | None = strawberry.field(
        description="Version of the profile, for optimistic concurrency."
    )
    _demographics: strawberry.Private[dict[str, str] | None] = None
    _consents: strawberry.Private[list[str] | None] = None
    _manager_id: strawberry.Private[str | None] = None
    _goals: strawberry.Private[list[events.DevelopmentGoal]] = dataclasses.field(
        default_factory=list
    )
    _strengths: strawberry.Private[list[events.Strength]] = dataclasses.field(
        default_factory=list
    )

    def _own_or_admin(self, info: Info) -> bool:
        c = ctx(info)
        caller = c.principal_or_none
        own = caller is not None and caller.subject == self.person_id
        return own or c.has_role(Role.ADMIN)

    @strawberry.field(
        description="Consented demographic attributes; the person themselves and "
        "administrators only (null for everyone else, and when not shared)."
    )
    def demographics(self, info: Info) -> JSON | None:
        # profiles decides too (it sends them to no one else); this is the second
        # lock, so a coordinator never sees another person's values.
        if self._demographics is None or not self._own_or_admin(info):
            return None
        return JSON(dict(self._demographics))

    @strawberry.field(
        description="The purposes consent is given for (e.g. `demographics`); the "
        "person themselves and administrators only (null for everyone else)."
    )
    def consents(self, info: Info) -> list[str] | None:
        if self._consents is None or not self._own_or_admin(info):
            return None
        return list(self._consents)

    @strawberry.field(description="The person's line manager.")
    async def manager(self, info: Info) -> Person | None:
        if not self._manager_id:
            return None
        found = await loaders.people(info).load(self._manager_id)
        return Person.from_model(found) if found else None

    @strawberry.field(
        description="Development goals of the intake, typed (the person and "
        "coordinators; empty when no intake was submitted)."
    )
    def goals(self) -> list[DevelopmentGoal]:
        return [
            DevelopmentGoal(
                competency_id=g.competency_id, current=g.current, target=g.target
            )
            for g in self._goals
        ]

    @strawberry.field(
        description="Competencies offered as a mentor, typed (empty without a "
        "mentor profile)."
    )
    def strengths(self) -> list[Strength]:
        return [
            Strength(competency_id=s.competency_id, proficiency=s.proficiency)
            for s in self._strengths
        ]

    @strawberry.field(
        description="The cohorts the person has a seat in or waits for, oldest first."
    )
    async def cohorts(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[CohortMembership]:
        rows = await loaders.memberships(info).load(self.person_id)
        return from_list(
            rows,
            lambda m: CohortMembership(
                role=ProgrammeRole(m.role),
                status=MembershipStatus(m.status),
                since=_when(m.since),
                _cohort_id=m.cohort_id,
            ),
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @classmethod
    def from_model(cls, m: api.Person) -> Person:
        profile, intake = m.mentor_profile, m.intake
        return cls(
            person_id=m.person_id,
            status=PersonStatus(m.status),
            erased=m.erased,
            given_name=m.given_name,
            family_name=m.family_name,
            email=m.email,
            title=m.title,
            level=m.level,
            business_unit=m.business_unit,
            function=m.function,
            geography=m.geography,
            time_zone=m.time_zone,
            roles=[ProgrammeRole(r) for r in m.roles or []],
            languages=list(m.languages or []),
            mentor_profile=_json(profile),
            intake=_json(intake),
            version=m.version,
            _demographics=m.demographics,
            _consents=m.consents,
            _manager_id=m.manager_id,
            _goals=list(intake.goals or []) if intake else [],
            _strengths=list(profile.strengths or []) if profile else [],
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Person | None]:
        rows = await loaders.people(info).load_many(node_ids)
        return [cls.from_model(r) if isinstance(r, api.Person) else None for r in rows]


def _json(value: api.MentorProfile | api.Intake | None) -> JSON | None:
    """The entry as the service answered it: the fields it left out stay out."""
    return JSON(value.model_dump(mode="json", exclude_unset=True)) if value else None


async def person_by_id(info: Info, person_id: str | None) -> Person | None:
    """The person with ``person_id`` as the caller may see them (batched)."""
    if not person_id:
        return None
    try:
        found = await loaders.people(info).load(person_id)
    except UpstreamError as exc:
        raise query_error(exc) from None
    return Person.from_model(found) if found else None


async def people_by_ids(info: Info, person_ids: list[str]) -> list[Person]:
    """Several people in one batch, those not visible left out."""
    rows = await loaders.people(info).load_many(person_ids)
    return [Person.from_model(r) for r in rows if isinstance(r, api.Person)]


# -- competencies --------------------------------------------------------------------


@strawberry.type(description="A competency of the organisation's framework.")
class Competency(BatchedNode, relay.Node):
    competency_id: relay.NodeID[str] = strawberry.field(
        description="The competency's own id, e.g. `strategic-thinking`."
    )
    name: str = strawberry.field(description="Its name.")
    category: str | None = strawberry.field(description="Its category, if any.")
    retired: bool = strawberry.field(
        description="Retired: no new goal or strength may name it."
    )

    @classmethod
    def from_model(cls, m: api.Competency) -> Competency:
        return cls(
            competency_id=m.competency_id,
            name=m.name,
            category=m.category,
            retired=m.retired,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Competency | None]:
        try:
            rows = await loaders.competencies(info).load("all")
        except UpstreamError as exc:
            raise query_error(exc) from None
        found = {r.competency_id: r for r in rows}
        return [cls.from_model(found[i]) if i in found else None for i in node_ids]


async def competency_by_id(info: Info, competency_id: str) -> Competency | None:
    found = await Competency.resolve_nodes(info=info, node_ids=[competency_id])
    return found[0]


# -- cohorts -------------------------------------------------------------------------


@strawberry.type(description="Who may join a cohort as a mentee (empty lists = any).")
class EligibilityRules:
    business_units: list[str] = strawberry.field(description="Business units.")
    min_level: int | None = strawberry.field(description="Lowest level admitted.")
    max_level: int | None = strawberry.field(description="Highest level admitted.")
    geographies: list[str] = strawberry.field(description="Countries (ISO alpha-2).")
    min_tenure_months: int | None = strawberry.field(
        description="Months in the company at least."
    )


@strawberry.type(description="One stage of a cohort's pathway, with its dates.")
class PathwayPhase:
    stage: PathwayStage = strawberry.field(description="The stage.")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day.")


@strawberry.type(description="A person with a seat in a cohort.")
class CohortParticipant:
    role: ProgrammeRole = strawberry.field(
        description="The programme role they joined as."
    )
    since: datetime | None = strawberry.field(
        description="When they were admitted: the day the admission took effect "
        "(`admittedOn`, at 00:00 UTC), not when it was recorded."
    )
    _person_id: strawberry.Private[str]

    @strawberry.field(description="The participant.")
    async def person(self, info: Info) -> Person | None:
        return await person_by_id(info, self._person_id)


@strawberry.type(description="A person waiting for a seat, first come first served.")
class WaitingListEntry:
    position: int = strawberry.field(description="Place in line, 1 = next.")
    role: ProgrammeRole = strawberry.field(
        description="The programme role they wait for."
    )
    since: datetime | None = strawberry.field(
        description="When they joined the waiting list."
    )
    _person_id: strawberry.Private[str]

    @strawberry.field(description="The person waiting.")
    async def person(self, info: Info) -> Person | None:
        return await person_by_id(info, self._person_id)


@strawberry.type(description="Whether a person could join a cohort, and why not.")
class Eligibility:
    eligible: bool = strawberry.field(description="True when they could join.")
    reasons: list[str] = strawberry.field(
        description="Every reason they could not (empty when eligible)."
    )


@strawberry.type(
    description="A cohort: a segment of the programme with a pathway, mentee seats, "
    "eligibility rules and a waiting list served first come, first served."
)
class Cohort(BatchedNode, relay.Node):
    cohort_id: relay.NodeID[str] = strawberry.field(
        description="The profiles service's id of the cohort."
    )
    name: str = strawberry.field(description="Its name.")
    programme_type: ProgrammeType | None = strawberry.field(
        description="The kind of programme."
    )
    strategic_priority: str | None = strawberry.field(
        description="The strategic priority it serves."
    )
    business_units: list[str] = strawberry.field(description="Business units served.")
    levels: list[int] = strawberry.field(description="Levels targeted.")
    capacity: int = strawberry.field(description="Mentee seats.")
    seats_taken: int = strawberry.field(description="Mentee seats taken.")
    stage: PathwayStage | None = strawberry.field(description="Current stage.")
    eligibility_rules: EligibilityRules = strawberry.field(
        description="Who may join as a mentee."
    )
    pathway: list[PathwayPhase] = strawberry.field(
        description="The stages with their dates."
    )
    _participants: strawberry.Private[list[api.DatedParticipant]]
    _waiting_list: strawberry.Private[list[api.DatedWaitingEntry]]

    @strawberry.field(description="People with a seat, in order of admission.")
    def participants(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[CohortParticipant]:
        return from_list(
            self._participants,
            lambda p: CohortParticipant(
                role=ProgrammeRole(p.role),
                since=_when(p.since),
                _person_id=p.person_id,
            ),
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @strawberry.field(description="People waiting for a seat, next in line first.")
    def waiting_list(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[WaitingListEntry]:
        return from_list(
            self._waiting_list,
            lambda w: WaitingListEntry(
                position=w.position,
                role=ProgrammeRole(w.role),
                since=_when(w.since),
                _person_id=w.person_id,
            ),
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @strawberry.field(description="Whether a person could join, with every reason not.")
    async def eligibility(
        self,
        info: Info,
        person_id: Annotated[
            strawberry.ID, strawberry.argument(description="The person.")
        ],
        role: Annotated[
            ProgrammeRole, strawberry.argument(description="The role to join as.")
        ] = ProgrammeRole.MENTEE,
    ) -> Eligibility:
        pid = local_id(person_id, "Person", "personId")
        try:
            answer = await ctx(info).caller.get(
                SERVICE,
                upstream_path(
                    "/cohorts/{cohort}/eligibility/{pid}",
                    cohort=self.cohort_id,
                    pid=pid,
                ),
                role=role.value,
            )
            found = read(api.Eligibility, answer, SERVICE)
        except UpstreamError as exc:
            raise query_error(exc) from None
        return Eligibility(eligible=found.eligible, reasons=list(found.reasons))

    @classmethod
    def from_model(cls, m: api.CohortWithDates) -> Cohort:
        rules = m.eligibility
        return cls(
            cohort_id=m.cohort_id,
            name=m.name,
            programme_type=ProgrammeType(m.programme_type),
            strategic_priority=m.strategic_priority,
            business_units=list(m.business_units),
            levels=list(m.levels),
            capacity=m.capacity,
            seats_taken=m.seats_taken,
            stage=PathwayStage(m.stage),
            eligibility_rules=EligibilityRules(
                business_units=list(rules.business_units),
                min_level=rules.min_level,
                max_level=rules.max_level,
                geographies=list(rules.geographies),
                min_tenure_months=rules.min_tenure_months,
            ),
            pathway=[
                PathwayPhase(
                    stage=PathwayStage(p.stage),
                    starts_on=p.starts_on,
                    ends_on=p.ends_on,
                )
                for p in m.pathway
            ],
            _participants=list(m.participants),
            _waiting_list=list(m.waiting_list),
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Cohort | None]:
        rows = await loaders.cohorts(info).load_many(node_ids)
        return [
            cls.from_model(r) if isinstance(r, api.CohortWithDates) else None
            for r in rows
        ]


async def cohort_by_id(info: Info, cohort_id: str | None) -> Cohort | None:
    """The cohort with ``cohort_id`` (batched); ``None`` when not found."""
    if not cohort_id:
        return None
    try:
        found = await loaders.cohorts(info).load(cohort_id)
    except UpstreamError as exc:
        raise query_error(exc) from None
    return Cohort.from_model(found) if found else None


# -- imports -------------------------------------------------------------------------


@strawberry.type(description="What an import did with its records, by outcome.")
class ImportCounts:
    created: int = strawberry.field(description="New people registered.")
    updated: int = strawberry.field(description="People whose details changed.")
    unchanged: int = strawberry.field(description="Records matching the person.")
    deactivated: int = strawberry.field(description="Leavers deactivated.")
    skipped: int = strawberry.field(description="Leavers Tandem never knew.")
    failed: int = strawberry.field(description="Records that could not be applied.")

    @classmethod
    def from_model(cls, m: api.Counts | events.ImportCounts) -> ImportCounts:
        return cls(
            created=m.created,
            updated=m.updated,
            unchanged=m.unchanged,
            deactivated=m.deactivated,
            skipped=m.skipped,
            failed=m.failed,
        )


@strawberry.type(description="One invalid field of a record.")
class ImportFieldProblem:
    path: str = strawberry.field(description="The field, e.g. `email`.")
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(description="A record an import could not apply.")
class ImportRecordError:
    row: int = strawberry.field(description="Its position in the batch, from 1.")
    employee_id: str | None = strawberry.field(description="Its employee id.")
    code: str = strawberry.field(description="Why, as a stable code.")
    message: str = strawberry.field(description="Why, for a person.")
    fields: list[ImportFieldProblem] = strawberry.field(
        description="Every invalid field."
    )


@strawberry.type(
    description="An HRIS import: its status, progress, counts and failed records."
)
class ImportJob(BatchedNode, relay.Node):
    job_id: relay.NodeID[str] = strawberry.field(description="The job's id.")
    status: ImportStatus = strawberry.field(description="Where the job is.")
    dry_run: bool = strawberry.field(description="Validate and report only.")
    format: ImportFormat = strawberry.field(description="What was sent.")
    processed: int = strawberry.field(description="Records handled so far.")
    total: int = strawberry.field(description="Records in the batch.")
    counts: ImportCounts = strawberry.field(description="Records by outcome.")
    error: str | None = strawberry.field(description="Why the job failed, if it did.")
    created_at: datetime | None = strawberry.field(description="When submitted.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")

    @strawberry.field(description="The records that could not be applied, by row.")
    async def errors(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[ImportRecordError]:
        c = ctx(info)

        async def fetch(
            upstream: str | None, limit: int
        ) -> tuple[list[api.RecordResult], str | None]:
            try:
                answer = await c.caller.get(
                    SERVICE,
                    upstream_path("/imports/{job}/records", job=self.job_id),
                    outcome="failed",
                    after=int(upstream or 0),
                    limit=max(limit, 1),
                )
                page = read(api.RecordPage, answer, SERVICE)
            except UpstreamError as exc:
                raise query_error(exc) from None
            return page.items, None if page.next is None else str(page.next)

        return await from_pages(
            fetch, _record_error, first, after, c.settings.max_page_size
        )

    @classmethod
    def from_model(cls, m: api.ImportState) -> ImportJob:
        return cls(
            job_id=m.job_id,
            status=ImportStatus(m.status),
            dry_run=m.dry_run,
            format=ImportFormat(m.format),
            processed=m.progress.processed,
            total=m.progress.total,
            counts=ImportCounts.from_model(m.counts),
            error=m.error,
            created_at=_when(m.created_at),
            finished_at=_when(m.finished_at),
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[ImportJob | None]:
        rows = await loaders.import_jobs(info).load_many(node_ids)
        return [
            cls.from_model(r) if isinstance(r, api.ImportReport) else None for r in rows
        ]


def _record_error(r: api.RecordResult) -> ImportRecordError:
    err = r.error
    return ImportRecordError(
        row=r.row,
        employee_id=r.employee_id,
        code=err.code if err else "Invalid",
        message=err.message if err else "",
        fields=[
            ImportFieldProblem(path=f.path, message=f.message)
            for f in (err.fields if err else [])
        ],
    )


async def import_job_by_id(info: Info, job_id: str) -> ImportJob | None:
    try:
        found = await loaders.import_jobs(info).load(job_id)
    except UpstreamError as exc:
        raise query_error(exc) from None
    return ImportJob.from_model(found) if found else None


@strawberry.type(description="Live progress of an import job.")
class ImportProgress:
    job_id: relay.GlobalID = strawberry.field(description="The ImportJob's id.")
    status: ImportStatus = strawberry.field(description="Where the job is.")
    processed: int = strawberry.field(description="Records handled so far.")
    total: int = strawberry.field(description="Records in the batch.")
    counts: ImportCounts = strawberry.field(description="Records by outcome so far.")
    error: str | None = strawberry.field(description="Why the job failed, if it did.")

    @strawberry.field(description="True once the job has ended (the last message).")
    def finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)
