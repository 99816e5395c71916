"""Cohorts: seats, eligibility, the waiting list and the pathway."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.errors import NotFound
from chassis.personal_data import PersonalDataCipher
from contracts.api.profiles import (
    Cohort as CohortView,
)
from contracts.api.profiles import (
    CohortIn,
    CohortSummary,
    CohortWithDates,
    JoinedCohort,
    Membership,
    Participant,
    WaitingEntry,
)
from contracts.profiles import (
    MembershipStatus,
    PathwayStage,
    PersonStatus,
    ProgrammeRole,
)
from services.profiles.application.base import ProfilesBase
from services.profiles.domain import access
from services.profiles.domain.cohort import Cohort
from services.profiles.domain.eligibility import Applicant
from services.profiles.projections.sealed import PEOPLE


class CohortCommands(ProfilesBase):
    async def create_cohort(self, principal: Principal, definition: CohortIn) -> str:
        access.require_manager(principal)
        cohort_id = str(uuid.uuid4())
        cohort = Cohort.create(cohort_id, principal.tenant, definition)
        await self.cohorts.save(cohort, self.metadata_for(principal))
        return cohort_id

    async def _applicant(
        self, conn: AsyncConnection, tenant: str, person_id: str
    ) -> Applicant:
        row = (
            await conn.execute(
                text(
                    "SELECT level, business_unit, geography, hire_date, roles, status "
                    "FROM people WHERE person_id = :p AND tenant = :t"
                ),
                {"p": person_id, "t": tenant},
            )
        ).first()
        if row is None or row.status == PersonStatus.ERASED:
            raise NotFound(f"person {person_id} not found")
        keys = await self.cipher.keys_for(conn, [person_id])
        hire_date = PersonalDataCipher.open(
            keys[person_id], person_id, PEOPLE, "hire_date", row.hire_date
        )
        return Applicant(
            person_id=person_id,
            level=row.level,
            business_unit=row.business_unit,
            geography=row.geography,
            hire_date=date.fromisoformat(hire_date) if hire_date else None,
            roles=tuple(json.loads(row.roles)),
            active=row.status == PersonStatus.ACTIVE,
        )

    async def eligibility(
        self,
        principal: Principal,
        cohort_id: str,
        person_id: str,
        role: ProgrammeRole,
    ) -> list[str]:
        """Why this person could not join (empty = they could)."""
        access.require_self_or_manager(principal, person_id)
        async with self.engine.connect() as conn:
            cohort = await self.cohorts.get(
                cohort_id, principal.tenant, connection=conn
            )
            who = await self._applicant(conn, principal.tenant, person_id)
        return cohort.check(who, role, datetime.now(UTC).date())

    async def join_cohort(
        self,
        principal: Principal,
        cohort_id: str,
        person_id: str,
        role: ProgrammeRole,
        admitted_on: date | None = None,
    ) -> JoinedCohort:
        """Admit or queue the person; ``admitted_on`` (coordinators and admins only:
        a person joining themself joins today) dates a past admission."""
        access.require_self_or_manager(principal, person_id)
        if admitted_on is not None:
            access.require_manager(principal)
        today = datetime.now(UTC).date()

        async def decide(cohort: Cohort, conn: AsyncConnection) -> None:
            who = await self._applicant(conn, principal.tenant, person_id)
            cohort.apply(who, role, today, admitted_on)

        cohort = await self._change(
            self.cohorts, cohort_id, principal, decide, serialised=True
        )
        position = cohort.waiting_position(person_id)
        return JoinedCohort(
            cohort_id=cohort_id,
            person_id=person_id,
            status=MembershipStatus.WAITING if position else MembershipStatus.ADMITTED,
            waiting_position=position,
            admitted_on=None if position else (admitted_on or today),
        )

    async def leave_cohort(
        self, principal: Principal, cohort_id: str, person_id: str, reason: str | None
    ) -> None:
        access.require_self_or_manager(principal, person_id)
        await self._change(
            self.cohorts,
            cohort_id,
            principal,
            lambda c, _: c.withdraw(person_id, reason),
            serialised=True,
        )

    async def change_cohort_capacity(
        self, principal: Principal, cohort_id: str, capacity: int
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.cohorts,
            cohort_id,
            principal,
            lambda c, _: c.change_capacity(capacity),
            serialised=True,
        )

    async def advance_cohort(
        self, principal: Principal, cohort_id: str, stage: PathwayStage
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.cohorts,
            cohort_id,
            principal,
            lambda c, _: c.advance(stage),
            serialised=True,
        )

    async def cohort(self, principal: Principal, cohort_id: str) -> CohortView:
        """A cohort with its participants and waiting list (the shape the single-cohort
        routes have always answered: no dates; the batch answers them)."""
        found = await self.cohorts_by_ids(principal, [cohort_id])
        if not found:
            raise NotFound(f"cohort {cohort_id} not found")
        view = found[0]
        return CohortView(
            **view.model_dump(exclude={"participants", "waiting_list"}),
            participants=[
                Participant(person_id=m.person_id, role=m.role)
                for m in view.participants
            ],
            waiting_list=[
                WaitingEntry(person_id=m.person_id, position=m.position)
                for m in view.waiting_list
            ],
        )

    async def cohorts_by_ids(
        self, principal: Principal, ids: list[str]
    ) -> list[CohortWithDates]:
        """Cohorts of the caller's tenant with these ids, in the order asked (unknown
        or another tenant's ids are left out), each with its participants and its
        ordered waiting list; two queries whatever the number of ids."""
        if not ids:
            return []
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT * FROM cohorts WHERE tenant = :t AND cohort_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"t": principal.tenant, "ids": list(ids)},
                )
            ).all()
            if not rows:
                return []
            members = (
                await conn.execute(
                    text(
                        "SELECT cohort_id, person_id, role, status, since "
                        "FROM cohort_members WHERE tenant = :t AND cohort_id IN :ids "
                        "ORDER BY arrival"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"t": principal.tenant, "ids": [r.cohort_id for r in rows]},
                )
            ).all()
        by_cohort: dict[str, list[Row[Any]]] = {}
        for m in members:
            by_cohort.setdefault(m.cohort_id, []).append(m)
        views = {
            r.cohort_id: _cohort_view(r, by_cohort.get(r.cohort_id, [])) for r in rows
        }
        return [views[i] for i in ids if i in views]

    async def memberships(
        self, principal: Principal, person_ids: list[str]
    ) -> list[Membership]:
        """Where each of these people participates or waits, in one query."""
        if not person_ids:
            return []
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT cohort_id, person_id, role, status, since "
                        "FROM cohort_members WHERE tenant = :t AND person_id IN :ids "
                        "ORDER BY arrival"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"t": principal.tenant, "ids": list(person_ids)},
                )
            ).all()
        return [
            Membership(
                person_id=r.person_id,
                cohort_id=r.cohort_id,
                role=r.role,
                status=r.status,
                since=_iso(r.since),
            )
            for r in rows
        ]

    async def cohorts_list(self, principal: Principal) -> list[CohortSummary]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT cohort_id, name, capacity, stage FROM cohorts "
                        "WHERE tenant = :t ORDER BY name"
                    ),
                    {"t": principal.tenant},
                )
            ).all()
        return [CohortSummary.model_validate(r._mapping) for r in rows]


def _iso(value: str | datetime) -> str:
    """A stored time as the API has always answered it (PostgreSQL: ``isoformat``;
    SQLite stores the text)."""
    return value if isinstance(value, str) else value.isoformat()


def _cohort_view(row: Row[Any], members: list[Row[Any]]) -> CohortWithDates:
    definition: dict[str, object] = json.loads(row.definition)
    admitted = [m for m in members if m.status == MembershipStatus.ADMITTED]
    waiting = [m for m in members if m.status == MembershipStatus.WAITING]
    return CohortWithDates.model_validate(
        {
            **definition,
            "cohort_id": row.cohort_id,
            "capacity": row.capacity,
            "stage": row.stage,
            "seats_taken": sum(1 for m in admitted if m.role == ProgrammeRole.MENTEE),
            "participants": [
                {"person_id": m.person_id, "role": m.role, "since": _iso(m.since)}
                for m in admitted
            ],
            "waiting_list": [
                {
                    "person_id": m.person_id,
                    "role": m.role,
                    "position": i + 1,
                    "since": _iso(m.since),
                }
                for i, m in enumerate(waiting)
            ],
        }
    )
