"""``Profiles``: the commands and queries of the profiles service.

Every command loads its aggregate, lets the domain decide, and saves the recorded events
together with the current-state tables in one transaction; a concurrent writer makes
it retry from a fresh load. Queries read the current-state tables.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.auth.principal import Principal
from chassis.errors import Conflict, NotFound
from chassis.events import EventMetadata
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from services.profiles import access
from services.profiles.crypto import PersonalDataCipher
from services.profiles.domain.cohort import Cohort
from services.profiles.domain.competencies import CompetencyFramework, framework_id
from services.profiles.domain.eligibility import Applicant
from services.profiles.domain.events import registry
from services.profiles.domain.person import Person, PersonDetails
from services.profiles.projections import ProfilesProjection, create_schema, rebuild
from services.profiles.views import person_view

A = TypeVar("A", bound=Aggregate)


async def _person_by_employee(
    conn: AsyncConnection, tenant: str, employee_id: str
) -> str | None:
    row = (
        await conn.execute(
            text("SELECT person_id FROM people WHERE tenant = :t AND employee_id = :e"),
            {"t": tenant, "e": employee_id},
        )
    ).first()
    return row.person_id if row else None


def _duplicate(exc: IntegrityError) -> Conflict:
    """A unique index refused the write: name what is taken."""
    what = "email" if "email" in str(exc.orig) else "employee id"
    return Conflict(f"a person with this {what} is already registered", field=what)


MetadataFor = Callable[[Principal], EventMetadata]


class Profiles:
    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        master_key: bytes,
        demographic_attributes: set[str],
        metadata_for: MetadataFor,
    ) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.store = runtime.store
        self.cipher = PersonalDataCipher(master_key, registry)
        self.demographic_attributes = demographic_attributes
        self.metadata_for = metadata_for
        projection = ProfilesProjection()
        self.people = Repository(
            self.store, registry, Person, codec=self.cipher, projections=[projection]
        )
        self.frameworks = Repository(
            self.store, registry, CompetencyFramework, projections=[projection]
        )
        self.cohorts = Repository(
            self.store, registry, Cohort, projections=[projection]
        )
        for repo in (self.people, self.frameworks, self.cohorts):
            repo.on_saved.append(lambda _events: runtime.relay.notify())

    async def prepare(self, engine: Any = None) -> None:
        await PersonalDataCipher.create_schema(self.engine)
        await create_schema(self.engine)

    # -- the load-decide-save loop ------------------------------------------------------

    async def _change(
        self,
        repo: Repository[A],
        stream_id: str,
        principal: Principal,
        decide: Callable[[A, AsyncConnection], Awaitable[None] | None],
        *,
        create: Callable[[], A] | None = None,
    ) -> A:
        async def attempt() -> A:
            async with self.engine.begin() as conn:
                agg = await repo.find(stream_id, principal.tenant, connection=conn)
                if agg is None:
                    if create is None:
                        raise NotFound(
                            f"{repo.aggregate.stream_type} {stream_id} not found"
                        )
                    agg = create()
                outcome = decide(agg, conn)
                if outcome is not None:
                    await outcome
                try:
                    await repo.save(agg, self.metadata_for(principal), connection=conn)
                except IntegrityError as exc:  # a unique index of the current state
                    raise _duplicate(exc) from exc
                return agg

        return await retrying(attempt)

    # -- people -------------------------------------------------------------------------

    async def register(
        self,
        principal: Principal,
        details: PersonDetails,
        roles: list[str],
        *,
        person_id: str | None = None,
    ) -> str:
        access.require_provisioner(principal)
        person_id = person_id or str(uuid.uuid4())
        async with self.engine.begin() as conn:
            await self._unique_employee(
                conn, principal.tenant, details.employee_id, None
            )
            person = Person.register(person_id, principal.tenant, details, roles)
            try:
                await self.people.save(
                    person, self.metadata_for(principal), connection=conn
                )
            except IntegrityError as exc:  # the same person registered concurrently
                raise _duplicate(exc) from exc
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
        holder = await _person_by_employee(conn, tenant, employee_id)
        if holder is not None and holder != person_id:
            raise Conflict(
                f"employee {employee_id} is already registered", person_id=holder
            )

    async def update_details(
        self,
        principal: Principal,
        person_id: str,
        details: PersonDetails,
        *,
        source: str = "hris",
        effective_on: date | None = None,
    ) -> Person:
        access.require_provisioner(principal)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            await self._unique_employee(
                conn, principal.tenant, details.employee_id, person_id
            )
            person.update_details(details, source=source, effective_on=effective_on)

        return await self._change(self.people, person_id, principal, decide)

    async def change_roles(
        self, principal: Principal, person_id: str, roles: list[str]
    ) -> None:
        access.require_provisioner(principal)
        await self._change(
            self.people, person_id, principal, lambda p, _: p.change_roles(roles)
        )

    async def set_mentor_profile(
        self, principal: Principal, person_id: str, profile: dict[str, Any]
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
        self, principal: Principal, person_id: str, intake: dict[str, Any]
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
            raise access.Forbidden("only the person can share their demographics")
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
        kind: str,
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

    async def erase(self, principal: Principal, person_id: str) -> None:
        """Right to erasure: destroy the person's key and tell every service to forget."""
        if not access.is_self(principal, person_id):
            principal.require(access.Role.ADMIN)

        cohorts = await self._cohorts_of(person_id)

        async def decide(person: Person, conn: AsyncConnection) -> None:
            person.erase(datetime.now(UTC))
            await self.cipher.destroy(person_id, conn)  # same transaction as the event

        await self._change(self.people, person_id, principal, decide)
        for cohort_id in cohorts:
            await self._change(
                self.cohorts, cohort_id, principal, lambda c, _: c.forget(person_id)
            )

    # -- competencies -----------------------------------------------------------------

    async def define_competency(
        self, principal: Principal, competency_id: str, name: str, category: str | None
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.frameworks,
            framework_id(principal.tenant),
            principal,
            lambda f, _: f.define(competency_id, name, category),
            create=lambda: CompetencyFramework.start(principal.tenant),
        )

    async def retire_competency(self, principal: Principal, competency_id: str) -> None:
        access.require_manager(principal)
        await self._change(
            self.frameworks,
            framework_id(principal.tenant),
            principal,
            lambda f, _: f.retire(competency_id),
        )

    async def competencies(self, principal: Principal) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT competency_id, name, category, retired FROM competencies "
                        "WHERE tenant = :t ORDER BY competency_id"
                    ),
                    {"t": principal.tenant},
                )
            ).all()
        return [
            {
                "competency_id": r.competency_id,
                "name": r.name,
                "category": r.category,
                "retired": bool(r.retired),
            }
            for r in rows
        ]

    async def _competency_ids(self, conn: AsyncConnection, tenant: str) -> set[str]:
        rows = await conn.execute(
            text(
                "SELECT competency_id FROM competencies WHERE tenant = :t AND retired = 0"
            ),
            {"t": tenant},
        )
        return {r.competency_id for r in rows}

    async def _mentor_load(self, conn: AsyncConnection, person_id: str) -> int:
        return (
            await conn.execute(
                text("SELECT count(*) FROM mentor_load WHERE mentor_id = :p"),
                {"p": person_id},
            )
        ).scalar_one()

    # -- cohorts ----------------------------------------------------------------------

    async def create_cohort(
        self, principal: Principal, definition: dict[str, Any]
    ) -> str:
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
        if row is None or row.status == "erased":
            raise NotFound(f"person {person_id} not found")
        return Applicant(
            person_id=person_id,
            level=row.level,
            business_unit=row.business_unit,
            geography=row.geography,
            hire_date=date.fromisoformat(row.hire_date) if row.hire_date else None,
            roles=tuple(json.loads(row.roles)),
            active=row.status == "active",
        )

    async def eligibility(
        self, principal: Principal, cohort_id: str, person_id: str, role: str
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
        self, principal: Principal, cohort_id: str, person_id: str, role: str
    ) -> dict[str, Any]:
        access.require_self_or_manager(principal, person_id)

        async def decide(cohort: Cohort, conn: AsyncConnection) -> None:
            who = await self._applicant(conn, principal.tenant, person_id)
            cohort.apply(who, role, datetime.now(UTC).date())

        cohort = await self._change(self.cohorts, cohort_id, principal, decide)
        position = cohort.waiting_position(person_id)
        return {
            "cohort_id": cohort_id,
            "person_id": person_id,
            "status": "waiting" if position else "admitted",
            "waiting_position": position,
        }

    async def leave_cohort(
        self, principal: Principal, cohort_id: str, person_id: str, reason: str | None
    ) -> None:
        access.require_self_or_manager(principal, person_id)
        await self._change(
            self.cohorts,
            cohort_id,
            principal,
            lambda c, _: c.withdraw(person_id, reason),
        )

    async def change_cohort_capacity(
        self, principal: Principal, cohort_id: str, capacity: int
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.cohorts, cohort_id, principal, lambda c, _: c.change_capacity(capacity)
        )

    async def advance_cohort(
        self, principal: Principal, cohort_id: str, stage: str
    ) -> None:
        access.require_manager(principal)
        await self._change(
            self.cohorts, cohort_id, principal, lambda c, _: c.advance(stage)
        )

    async def cohort(self, principal: Principal, cohort_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM cohorts WHERE cohort_id = :c AND tenant = :t"),
                    {"c": cohort_id, "t": principal.tenant},
                )
            ).first()
            if row is None:
                raise NotFound(f"cohort {cohort_id} not found")
            members = (
                await conn.execute(
                    text(
                        "SELECT person_id, role, status FROM cohort_members "
                        "WHERE cohort_id = :c ORDER BY arrival"
                    ),
                    {"c": cohort_id},
                )
            ).all()
        definition = json.loads(row.definition)
        admitted = [m for m in members if m.status == "admitted"]
        waiting = [m for m in members if m.status == "waiting"]
        return {
            **definition,
            "capacity": row.capacity,
            "stage": row.stage,
            "seats_taken": sum(1 for m in admitted if m.role == "mentee"),
            "participants": [
                {"person_id": m.person_id, "role": m.role} for m in admitted
            ],
            "waiting_list": [
                {"person_id": m.person_id, "position": i + 1}
                for i, m in enumerate(waiting)
            ],
        }

    async def cohorts_list(self, principal: Principal) -> list[dict[str, Any]]:
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
        return [dict(r._mapping) for r in rows]

    async def _cohorts_of(self, person_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT cohort_id FROM cohort_members WHERE person_id = :p"),
                {"p": person_id},
            )
            return [r.cohort_id for r in rows]

    # -- queries ------------------------------------------------------------------------

    async def person(self, principal: Principal, person_id: str) -> dict[str, Any]:
        rows = await self._people_rows(principal.tenant, [person_id])
        if not rows:
            raise NotFound(f"person {person_id} not found")
        return person_view(rows[0], principal)

    async def people_by_ids(
        self, principal: Principal, ids: list[str]
    ) -> list[dict[str, Any]]:
        rows = {r.person_id: r for r in await self._people_rows(principal.tenant, ids)}
        return [person_view(rows[i], principal) for i in ids if i in rows]

    async def _people_rows(self, tenant: str, ids: list[str]) -> list[Any]:
        if not ids:
            return []
        marks = ", ".join(f":i{n}" for n in range(len(ids)))
        params = {f"i{n}": v for n, v in enumerate(ids)}
        async with self.engine.connect() as conn:
            return list(
                (
                    await conn.execute(
                        text(
                            f"SELECT * FROM people WHERE tenant = :t AND person_id IN ({marks})"
                        ),
                        {"t": tenant, **params},
                    )
                ).all()
            )

    async def list_people(
        self,
        principal: Principal,
        *,
        cohort_id: str | None = None,
        business_unit: str | None = None,
        role: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """A page of people in person-id order; ``next`` is the cursor of the next page."""
        where = ["p.tenant = :t"]
        params: dict[str, Any] = {"t": principal.tenant, "limit": limit + 1}
        join = ""
        if cohort_id:
            join = "JOIN cohort_members m ON m.person_id = p.person_id AND m.cohort_id = :c"
            params["c"] = cohort_id
        if business_unit:
            where.append("p.business_unit = :bu")
            params["bu"] = business_unit
        if role:
            where.append("p.roles LIKE :role")
            params["role"] = f'%"{role}"%'
        if status:
            where.append("p.status = :status")
            params["status"] = status
        if after:
            where.append("p.person_id > :after")
            params["after"] = after
        sql = (
            f"SELECT p.* FROM people p {join} WHERE {' AND '.join(where)} "
            "ORDER BY p.person_id LIMIT :limit"
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(sql), params)).all()
        page = rows[:limit]
        return {
            "items": [person_view(r, principal) for r in page],
            "next": page[-1].person_id if len(rows) > limit else None,
        }

    async def find_by_employee(self, tenant: str, employee_id: str) -> str | None:
        async with self.engine.connect() as conn:
            return await _person_by_employee(conn, tenant, employee_id)

    async def rebuild_projections(self, principal: Principal) -> int:
        principal.require(access.Role.ADMIN)
        return await rebuild(self.engine, self.store, self.people.decode)
