"""Reads of the current-state tables, and their rebuild.

A page of people is read in two statements whatever its size: the rows, then every
row's key (``services.profiles.projections.sealed.open_rows``); their sealed columns open in Python.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import text

from chassis.auth.principal import Principal, Role
from chassis.db import reading
from chassis.errors import NotFound
from contracts.api.profiles import Person, PersonPage
from contracts.profiles import PersonStatus, ProgrammeRole
from services.profiles.application.base import ProfilesBase
from services.profiles.domain import access
from services.profiles.projections.people import rebuild
from services.profiles.projections.sealed import open_rows
from services.profiles.projections.views import person_view


class PeopleQueries(ProfilesBase):
    async def person(self, principal: Principal, person_id: str) -> Person:
        rows = await self._people_rows(principal.tenant, [person_id])
        if not rows:
            raise NotFound(f"person {person_id} not found")
        return person_view(rows[0], principal)

    async def people_by_ids(self, principal: Principal, ids: list[str]) -> list[Person]:
        rows = {r.person_id: r for r in await self._people_rows(principal.tenant, ids)}
        return [person_view(rows[i], principal) for i in ids if i in rows]

    async def _people_rows(self, tenant: str, ids: list[str]) -> list[SimpleNamespace]:
        if not ids:
            return []
        marks = ", ".join(f":i{n}" for n in range(len(ids)))
        params = {f"i{n}": v for n, v in enumerate(ids)}
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT * FROM people WHERE tenant = :t AND person_id IN ({marks})"
                    ),
                    {"t": tenant, **params},
                )
            ).all()
            return list(await open_rows(self.cipher, conn, rows))

    async def list_people(
        self,
        principal: Principal,
        *,
        cohort_id: str | None = None,
        business_unit: str | None = None,
        role: ProgrammeRole | None = None,
        status: PersonStatus | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> PersonPage:
        """A page of people in person-id order; ``next`` is the cursor of the next page."""
        where = ["p.tenant = :t"]
        params: dict[str, object] = {"t": principal.tenant, "limit": limit + 1}
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
            page = await open_rows(self.cipher, conn, rows[:limit])
        return PersonPage(
            items=[person_view(r, principal) for r in page],
            next=page[-1].person_id if len(rows) > limit else None,
        )

    async def find_by_employee(self, tenant: str, employee_id: str) -> str | None:
        async with self.engine.connect() as conn:
            return await self._person_by_employee(conn, tenant, employee_id)

    async def rebuild_projections(
        self, principal: Principal, *, all_tenants: bool = False
    ) -> int:
        """Rebuild the caller's organisation's tables (admins), or every
        organisation's (``all_tenants``: the platform operator only)."""
        if all_tenants:
            access.require_operator(principal, "a rebuild of every tenant")
            return await rebuild(
                self.engine, self.store, self.people.decode, self.cipher
            )
        principal.require(Role.ADMIN, Role.OPERATOR)
        return await rebuild(
            self.engine,
            self.store,
            self.people.decode,
            self.cipher,
            tenant=principal.tenant,
        )
