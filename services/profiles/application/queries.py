"""Reads of the current-state tables, and their rebuild.

A page of people, by ids or filtered, is read in one statement whatever its size:
the rows with each person's wrapped key joined; only the sealed columns the caller
may see are opened, in Python (``views.person_fields``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text

from chassis.auth.principal import Principal, Role
from chassis.db import fetch_rows
from chassis.errors import NotFound
from contracts.api.profiles import Person, PersonPage
from contracts.profiles import PersonStatus, ProgrammeRole
from services.profiles.application.base import ProfilesBase
from services.profiles.domain import access
from services.profiles.projections.people import rebuild
from services.profiles.projections.views import person_fields, person_view

# The rows and each person's wrapped key (NULL once destroyed: nothing opens).
_PEOPLE_BY_IDS = text(
    "SELECT p.*, k.wrapped_key AS sealing_key FROM people p "
    "LEFT JOIN person_keys k ON k.person_id = p.person_id "
    "WHERE p.tenant = :t AND p.person_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


class PeopleQueries(ProfilesBase):
    async def person(self, principal: Principal, person_id: str) -> Person:
        found = await self.people_fields(principal, [person_id])
        if not found:
            raise NotFound(f"person {person_id} not found")
        return Person.model_validate(found[0])

    async def people_by_ids(self, principal: Principal, ids: list[str]) -> list[Person]:
        return [
            Person.model_validate(p) for p in await self.people_fields(principal, ids)
        ]

    async def people_fields(
        self, principal: Principal, ids: list[str]
    ) -> list[dict[str, Any]]:
        """The people of ``ids`` as ``principal`` may see them (``person_fields``),
        in the order asked, unknown ids left out: one statement."""
        if not ids:
            return []
        rows = await fetch_rows(
            self.engine, _PEOPLE_BY_IDS, {"t": principal.tenant, "ids": ids}
        )
        found = {r.person_id: r for r in rows}
        keys = {
            r.person_id: self.cipher.open_key(r.person_id, r.sealing_key) for r in rows
        }
        return [person_fields(found[i], principal, keys[i]) for i in ids if i in found]

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
            f"SELECT p.*, k.wrapped_key AS sealing_key FROM people p {join} "
            "LEFT JOIN person_keys k ON k.person_id = p.person_id "
            f"WHERE {' AND '.join(where)} ORDER BY p.person_id LIMIT :limit"
        )
        rows = await fetch_rows(self.engine, text(sql), params)
        page = rows[:limit]
        return PersonPage(
            items=[
                person_view(
                    r, principal, self.cipher.open_key(r.person_id, r.sealing_key)
                )
                for r in page
            ],
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
