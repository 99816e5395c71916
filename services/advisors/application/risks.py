"""The programme's risk register (``Risks``): one place for the governance review.

Coordinators and admins keep it; sponsors read it; a risk's owner reads their risk and
updates its mitigation. The ``risks`` table is a projection written with each append.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from chassis.auth.principal import Principal, Role
from chassis.errors import Forbidden
from chassis.http import metadata_for
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.advisors.councils import MitigationStatus
from contracts.api.advisors import RegisteredRisk, RiskRegister, RiskView
from services.advisors.domain.events import registry
from services.advisors.domain.risk import Risk, heat_map, ranked, severity
from services.advisors.projections import risks as table
from services.advisors.projections.risks import RiskProjection

__all__ = ["MANAGERS", "READERS", "Risks", "view"]
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
READERS = (*MANAGERS, Role.SPONSOR)


def view(risk: Risk) -> RiskView:
    return RiskView(
        risk_id=risk.risk_id,
        title=risk.title,
        category=risk.category,
        likelihood=risk.likelihood,
        impact=risk.impact,
        score=risk.score,
        severity=severity(risk.score),
        owner_id=risk.owner_id,
        mitigation=risk.mitigation,
        status=risk.status,
    )


class Risks:
    """The register's commands and queries, over the risks' streams and table."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.engine = runtime.engine
        self.repository = Repository(
            runtime.store, registry, Risk, projections=[RiskProjection()]
        )
        self.repository.on_saved.append(lambda _events: runtime.relay.notify())

    async def raise_risk(
        self,
        principal: Principal,
        *,
        title: str,
        category: str,
        likelihood: int,
        impact: int,
        owner_id: str,
        mitigation: str = "",
    ) -> RiskView:
        principal.require(*MANAGERS)
        risk = Risk.raise_new(
            str(uuid.uuid4()),
            principal.tenant,
            title=title,
            category=category,
            likelihood=likelihood,
            impact=impact,
            owner_id=owner_id,
            mitigation=mitigation,
        )
        await self.repository.save(risk, metadata_for(principal))
        return view(risk)

    async def _change(
        self,
        principal: Principal,
        risk_id: str,
        change: Callable[[Risk], None],
        *,
        owner_may: bool,
    ) -> RiskView:
        async def command() -> Risk:
            risk = await self.repository.get(risk_id, principal.tenant)
            if not (owner_may and risk.owner_id == principal.subject):
                principal.require(*MANAGERS)
            change(risk)
            await self.repository.save(risk, metadata_for(principal))
            return risk

        return view(await retrying(command))

    async def reassess(
        self, principal: Principal, risk_id: str, likelihood: int, impact: int
    ) -> RiskView:
        return await self._change(
            principal,
            risk_id,
            lambda r: r.reassess(likelihood, impact),
            owner_may=False,
        )

    async def mitigate(
        self,
        principal: Principal,
        risk_id: str,
        mitigation: str,
        status: MitigationStatus,
    ) -> RiskView:
        return await self._change(
            principal,
            risk_id,
            lambda r: r.update_mitigation(mitigation, status),
            owner_may=True,
        )

    async def close(self, principal: Principal, risk_id: str) -> RiskView:
        return await self._change(
            principal, risk_id, lambda r: r.close(), owner_may=False
        )

    async def get(self, principal: Principal, risk_id: str) -> RiskView:
        risk = await self.repository.get(risk_id, principal.tenant)
        if risk.owner_id != principal.subject:
            principal.require(*READERS)
        return view(risk)

    async def get_many(
        self, principal: Principal, risk_ids: Sequence[str]
    ) -> list[RiskView]:
        """Several risks, each as ``get`` shows it (those the caller may not read
        left out), in the order asked: one statement."""
        found = await self.repository.find_many(risk_ids, principal.tenant)
        return [
            view(risk)
            for risk in found.values()
            if risk.owner_id == principal.subject or principal.has_role(*READERS)
        ]

    async def register(
        self, principal: Principal, *, include_closed: bool = False
    ) -> RiskRegister:
        """The register ranked by likelihood x impact, with its heat map."""
        if not principal.has_role(*READERS):
            raise Forbidden("the risk register is read by coordinators and sponsors")
        async with self.engine.connect() as conn:
            rows = await table.register(
                conn, principal.tenant, include_closed=include_closed
            )
        listed = ranked(
            RegisteredRisk(
                **row,
                score=row["likelihood"] * row["impact"],
                severity=severity(row["likelihood"] * row["impact"]),
            )
            for row in rows
        )
        return RiskRegister(risks=listed, heat_map=heat_map(listed))
