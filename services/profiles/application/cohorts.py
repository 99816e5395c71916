"""Cohorts: seats, eligibility, the waiting list and the pathway."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.errors import NotFound
from services.profiles import access
from services.profiles.application.base import ProfilesBase
from services.profiles.domain.cohort import Cohort
from services.profiles.domain.eligibility import Applicant


class CohortCommands(ProfilesBase):
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
