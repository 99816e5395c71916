"""A programme's history, profiles' part: past cohorts with their members, and past
career outcomes (issue 20).

Each record goes through the domain as a live command would, dated: a cohort is
created with its dates as its development phase and each member admitted on the day
they were (``Cohort.apply`` with ``admitted_on``: eligibility judged as of that day,
nothing after today, nothing before the person's hire date); an outcome is recorded
as ``POST /people/{id}/outcomes`` records it (``Person.record_outcome``). People are
referred to by employee id, resolved here; one this organisation does not know is the
record's error ``unknown_person``.

A cohort record is all or nothing: its cohort and every admission are saved in one
transaction, or, when one member cannot be admitted, nothing is and the record's error
names the member. The job, its idempotency and its report are ``chassis.history_jobs``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.errors import FieldError, NotFound, TandemError, ValidationFailed
from chassis.history_jobs import Entry, HistoryJobs, Refused, problem_of
from contracts.api.history import (
    HistoryCareerOutcome,
    HistoryCohort,
    HistoryImportJob,
    HistoryRecordPage,
    ProfilesHistoryIn,
)
from contracts.api.profiles import CohortIn
from contracts.profiles import PathwayPhase, PathwayStage, ProgrammeRole
from services.profiles.application import Profiles
from services.profiles.domain import access
from services.profiles.domain.cohort import Cohort

SECTIONS = ("cohorts", "outcomes")


def _today() -> datetime:
    return datetime.now(UTC)


class ProfilesHistory:
    """The profiles history import: its jobs, and what each record means here."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles
        self.jobs = HistoryJobs(
            profiles.engine,
            secret=profiles.import_secret,
            sections=SECTIONS,
            apply=self._apply,
            require=access.require_manager,
        )

    async def stop(self) -> None:
        await self.jobs.stop()

    # -- commands --------------------------------------------------------------------

    async def submit(
        self,
        principal: Principal,
        document: ProfilesHistoryIn,
        *,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> tuple[str, bool]:
        entries = [Entry("cohorts", c.key, c) for c in document.cohorts] + [
            Entry("outcomes", o.key, o) for o in document.outcomes
        ]
        return await self.jobs.submit(
            principal, entries, dry_run=dry_run, idempotency_key=idempotency_key
        )

    async def wait(self, job_id: str, timeout_s: float) -> None:
        await self.jobs.wait(job_id, timeout_s)

    async def _apply(
        self, conn: AsyncConnection, principal: Principal, entry: Entry
    ) -> str:
        if isinstance(entry.record, HistoryCohort):
            return await self._cohort(conn, principal, entry.record)
        return await self._outcome(
            conn, principal, cast(HistoryCareerOutcome, entry.record)
        )

    async def _person(
        self, conn: AsyncConnection, tenant: str, employee_id: str, field: str
    ) -> str:
        person_id = await self.profiles._person_by_employee(conn, tenant, employee_id)
        if person_id is None:
            raise Refused(
                "unknown_person", field, "no person of the organisation has this id"
            )
        return person_id

    async def _cohort(
        self, conn: AsyncConnection, principal: Principal, rec: HistoryCohort
    ) -> str:
        today = _today().date()
        if rec.starts_on > today:
            raise Refused("invalid", "starts_on", "must not be in the future")
        if rec.ends_on < rec.starts_on:
            raise Refused("invalid", "ends_on", "before starts_on")
        people: list[str] = []
        for i, m in enumerate(rec.members):
            person_id = await self._person(
                conn, principal.tenant, m.employee_id, f"members.{i}.employee_id"
            )
            if person_id in people:
                raise Refused(
                    "invalid", f"members.{i}.employee_id", "listed twice in the cohort"
                )
            if m.admitted_on > rec.ends_on:
                raise Refused(
                    "invalid", f"members.{i}.admitted_on", "after the cohort ended"
                )
            people.append(person_id)
        mentees = sum(1 for m in rec.members if m.role == ProgrammeRole.MENTEE)
        definition = CohortIn(
            name=rec.name,
            programme_type=rec.programme_type,
            capacity=rec.capacity or max(1, mentees),
            pathway=[
                PathwayPhase(
                    stage=PathwayStage.DEVELOPMENT,
                    starts_on=rec.starts_on,
                    ends_on=rec.ends_on,
                )
            ],
        )
        cohort_id = str(uuid.uuid4())
        cohort = Cohort.create(cohort_id, principal.tenant, definition)
        # Admitted in the order they joined (a seat freed later is not refilled).
        order = sorted(range(len(people)), key=lambda i: rec.members[i].admitted_on)
        for i in order:
            member = rec.members[i]
            where = f"members.{i}"
            try:
                who = await self.profiles._applicant(conn, principal.tenant, people[i])
                cohort.apply(who, member.role, today, member.admitted_on)
            except NotFound as exc:
                raise Refused(
                    "unknown_person", f"{where}.employee_id", exc.detail
                ) from exc
            except ValidationFailed as exc:
                raise _prefixed(exc, where) from exc
            except TandemError as exc:
                problem = problem_of(exc)
                raise Refused(problem.code, where, problem.message) from exc
            if cohort.waiting:
                raise Refused(
                    "invalid",
                    "capacity",
                    "fewer seats than the mentees admitted; raise the capacity",
                )
        await self.profiles.cohorts.save(
            cohort, self.profiles.metadata_for(principal), connection=conn
        )
        return cohort_id

    async def _outcome(
        self, conn: AsyncConnection, principal: Principal, rec: HistoryCareerOutcome
    ) -> str:
        person_id = await self._person(
            conn, principal.tenant, rec.employee_id, "employee_id"
        )
        person = await self.profiles.people.find(
            person_id, principal.tenant, connection=conn
        )
        if person is None:
            raise Refused("unknown_person", "employee_id", "the person was not found")
        person.record_outcome(
            rec.kind, rec.effective_on, to_level=rec.to_level, to_title=rec.detail
        )
        await self.profiles.people.save(
            person, self.profiles.metadata_for(principal), connection=conn
        )
        return person_id

    # -- queries ---------------------------------------------------------------------

    async def job(
        self, principal: Principal, job_id: str, *, replayed: bool = False
    ) -> HistoryImportJob:
        state = await self.jobs.state(principal, job_id)
        return HistoryImportJob.of(state, replayed=replayed)

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: str | None,
        after: int,
        limit: int,
    ) -> HistoryRecordPage:
        items, cursor = await self.jobs.records(
            principal, job_id, outcome=outcome, after=after, limit=limit
        )
        return HistoryRecordPage.of(items, cursor)


def _prefixed(exc: ValidationFailed, where: str) -> ValidationFailed:
    return ValidationFailed(
        [FieldError(f"{where}.{e.path}", e.message) for e in exc.errors]
    )
