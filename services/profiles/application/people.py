"""People: registration, HR details, catalogue, intake, consent, outcomes, erasure."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role
from chassis.db import scrub
from chassis.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from contracts.api.profiles import ErasureReport, IntakeIn, MentorProfileIn
from contracts.profiles import ChangeSource, OutcomeKind, PersonStatus
from services.profiles.application.base import ProfilesBase, duplicate_of
from services.profiles.application.erasure import Erasure
from services.profiles.domain import access
from services.profiles.domain.person import Person, PersonDetails


class PeopleCommands(ProfilesBase):
    async def register(
        self,
        principal: Principal,
        details: PersonDetails,
        roles: Sequence[str],
        *,
        person_id: str | None = None,
        manager_joining: bool = False,
    ) -> str:
        """Register a person. ``manager_joining``: the manager is registered by the
        same HRIS import (it checked the reference itself), perhaps not yet."""
        access.require_provisioner(principal)
        person_id = person_id or str(uuid.uuid4())
        async with self.engine.begin() as conn:
            await self._unique_employee(
                conn, principal.tenant, details.employee_id, None
            )
            if not manager_joining:
                await self._known_manager(
                    conn, principal.tenant, person_id, details.manager_id
                )
            person = Person.register(person_id, principal.tenant, details, roles)
            try:
                await self.people.save(
                    person, self.metadata_for(principal), connection=conn
                )
            except IntegrityError as exc:  # the same person registered concurrently
                raise duplicate_of(exc) from exc
        return person_id

    async def _unique_employee(
        self,
        conn: AsyncConnection,
        tenant: str,
        employee_id: str | None,
        person_id: str | None,
    ) -> None:
        if not employee_id:
            return
        holder = await self._person_by_employee(conn, tenant, employee_id)
        if holder is not None and holder != person_id:
            raise Conflict(
                f"employee {employee_id} is already registered", person_id=holder
            )

    async def _known_manager(
        self,
        conn: AsyncConnection,
        tenant: str,
        person_id: str,
        manager_id: str | None,
    ) -> None:
        """A manager is a known, non-erased person of the tenant, and not oneself."""
        if not manager_id:
            return
        if manager_id == person_id:
            raise ValidationFailed(
                [FieldError("manager_id", "a person cannot be their own manager")]
            )
        status = (
            await conn.execute(
                text("SELECT status FROM people WHERE tenant = :t AND person_id = :m"),
                {"t": tenant, "m": manager_id},
            )
        ).scalar_one_or_none()
        if status is None or status == PersonStatus.ERASED:
            raise ValidationFailed(
                [
                    FieldError(
                        "manager_id", f"no person {manager_id} in this organisation"
                    )
                ]
            )

    async def update_details(
        self,
        principal: Principal,
        person_id: str,
        details: PersonDetails,
        *,
        source: str = ChangeSource.HRIS,
        effective_on: date | None = None,
        manager_joining: bool = False,
    ) -> Person:
        access.require_provisioner(principal)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            await self._unique_employee(
                conn, principal.tenant, details.employee_id, person_id
            )
            current = person.details.manager_id if person.details else None
            if not manager_joining and details.manager_id != current:
                await self._known_manager(
                    conn, principal.tenant, person_id, details.manager_id
                )
            person.update_details(details, source=source, effective_on=effective_on)

        return await self._change(self.people, person_id, principal, decide)

    async def change_roles(
        self, principal: Principal, person_id: str, roles: Sequence[str]
    ) -> None:
        access.require_provisioner(principal)
        await self._change(
            self.people, person_id, principal, lambda p, _: p.change_roles(roles)
        )

    async def set_mentor_profile(
        self, principal: Principal, person_id: str, profile: MentorProfileIn
    ) -> None:
        access.require_self_or_manager(principal, person_id)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            known = await self._competency_ids(conn, principal.tenant)
            load = await self._mentor_load(conn, person_id)
            person.set_mentor_profile(profile, known, load)

        await self._change(self.people, person_id, principal, decide)

    async def change_capacity(
        self,
        principal: Principal,
        person_id: str,
        max_mentees: int,
        hours_per_month: int,
    ) -> None:
        access.require_self_or_manager(principal, person_id)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            load = await self._mentor_load(conn, person_id)
            person.change_capacity(max_mentees, hours_per_month, load)

        await self._change(self.people, person_id, principal, decide)

    async def submit_intake(
        self, principal: Principal, person_id: str, intake: IntakeIn
    ) -> None:
        access.require_self_or_manager(principal, person_id)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            person.submit_intake(
                intake, await self._competency_ids(conn, principal.tenant)
            )

        await self._change(self.people, person_id, principal, decide)

    async def set_consent(
        self, principal: Principal, person_id: str, purpose: str, given: bool
    ) -> None:
        if not access.is_self(principal, person_id):
            principal.require(*access.MANAGERS)
        now = datetime.now(UTC)

        def decide(person: Person, _conn: AsyncConnection) -> None:
            if given:
                person.give_consent(purpose, now)
            else:
                person.withdraw_consent(purpose, now)

        await self._change(self.people, person_id, principal, decide)

    async def share_demographics(
        self, principal: Principal, person_id: str, attributes: dict[str, str]
    ) -> None:
        if not access.is_self(principal, person_id):
            raise Forbidden("only the person can share their demographics")
        await self._change(
            self.people,
            person_id,
            principal,
            lambda p, _: p.share_demographics(attributes, self.demographic_attributes),
        )

    async def record_outcome(
        self,
        principal: Principal,
        person_id: str,
        kind: OutcomeKind,
        effective_on: date,
        to_level: int | None = None,
        to_title: str | None = None,
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.people,
            person_id,
            principal,
            lambda p, _: p.record_outcome(
                kind, effective_on, to_level=to_level, to_title=to_title
            ),
        )

    async def deactivate(
        self,
        principal: Principal,
        person_id: str,
        reason: str = "inactive",
        *,
        effective_on: date | None = None,
    ) -> None:
        access.require_provisioner(principal)
        await self._change(
            self.people,
            person_id,
            principal,
            lambda p, _: p.deactivate(reason, effective_on=effective_on),
        )

    async def reactivate(self, principal: Principal, person_id: str) -> None:
        access.require_provisioner(principal)
        await self._change(
            self.people, person_id, principal, lambda p, _: p.reactivate()
        )

    async def erasure_report(
        self, principal: Principal, person_id: str
    ) -> ErasureReport:
        """What the erasure of a person of the caller's organisation did, store by
        store (admins)."""
        principal.require(Role.ADMIN)
        report = await self.erasers.report(principal.tenant, person_id)
        if report is None:
            raise NotFound(f"no erasure of person {person_id}")
        return report

    async def erase(self, principal: Principal, person_id: str) -> None:
        """Right to erasure: destroy the person's key and tell every service to forget."""
        if not access.is_self(principal, person_id):
            principal.require(Role.ADMIN)

        cohorts = await self._cohorts_of(person_id)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            at = datetime.now(UTC)
            whom = Erasure(
                tenant=principal.tenant,
                person_id=person_id,
                employee_ids=frozenset(person.employee_ids),
                at=at,
            )
            person.erase(at)
            # Every store's eraser, the key's destruction among them, in the
            # transaction that appends the event: all of it happens, or none.
            await self.erasers.erase(conn, whom)

        await self._change(self.people, person_id, principal, decide)
        for cohort_id in cohorts:
            await self._change(
                self.cohorts,
                cohort_id,
                principal,
                lambda c, _: c.forget(person_id),
                serialised=True,
            )
        await scrub(self.engine)
