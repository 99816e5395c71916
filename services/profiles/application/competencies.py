"""The tenant's competency framework, and what other commands check against it."""

from __future__ import annotations

from sqlalchemy import text

from chassis.auth.principal import Principal
from contracts.api.profiles import Competency
from services.profiles.application.base import ProfilesBase
from services.profiles.domain import access
from services.profiles.domain.competencies import CompetencyFramework, framework_id


class CompetencyCommands(ProfilesBase):
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

    async def competencies(self, principal: Principal) -> list[Competency]:
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
            Competency(
                competency_id=r.competency_id,
                name=r.name,
                category=r.category,
                retired=bool(r.retired),
            )
            for r in rows
        ]
