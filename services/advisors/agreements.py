"""``Agreements``: advisors' contracts (term, commitment, compensation, hours logged)
and one-off engagements, with their current-state tables and routes.

Whether an advisor may be contracted is the lifecycle part's call: when the app has
``app.state.advisors`` with an ``async status(tenant, advisor_id)`` method, signing an
agreement or scheduling an engagement requires a status in ``ELIGIBLE``; without it,
any advisor id of the tenant is accepted. That method is the only coupling between the
two parts.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, system_principal
from chassis.errors import (
    ConcurrencyConflict,
    DomainError,
    Forbidden,
    NotFound,
)
from chassis.events import EventPayload, RecordedEvent
from chassis.http import metadata_for
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from services.advisors.api.agreement_routes import MANAGERS, READERS, router
from services.advisors.domain.agreement import NOTICE_DAYS, Agreement
from services.advisors.domain.engagement import Engagement
from services.advisors.domain.events import registry

__all__ = ["Agreements", "install", "router"]
ELIGIBLE = frozenset({"approved", "contracted", "active"})
UNCHECKED = "unchecked"
StatusOf = Callable[[str, str], Awaitable[Any]]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS advisor_agreements (agreement_id TEXT PRIMARY KEY, "
    "tenant TEXT NOT NULL, advisor_id TEXT NOT NULL, status TEXT NOT NULL, "
    "starts_on TEXT NOT NULL, ends_on TEXT NOT NULL, scope TEXT NOT NULL, "
    "hours_per_month INTEGER NOT NULL, ending_soon BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE INDEX IF NOT EXISTS advisor_agreements_advisor "
    "ON advisor_agreements (tenant, advisor_id)",
    "CREATE TABLE IF NOT EXISTS advisor_engagements (engagement_id TEXT PRIMARY KEY, "
    "tenant TEXT NOT NULL, advisor_id TEXT NOT NULL, topic TEXT NOT NULL, "
    "on_date TEXT NOT NULL, audience_size INTEGER NOT NULL, status TEXT NOT NULL, "
    "agreement_id TEXT, minutes INTEGER)",
)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for statement in SCHEMA:
            await conn.execute(text(statement))


class AdvisorNotApproved(DomainError):
    code = "AdvisorNotApproved"
    title = "Advisor not approved"


class NoActiveAgreement(DomainError):
    code = "NoActiveAgreement"
    title = "No agreement in force"


class AgreementsProjection:
    """Keeps ``advisor_agreements`` and ``advisor_engagements`` in step."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, _payload in events:
            d, kind, sid = recorded.data, recorded.event_type, recorded.stream_id
            sql, values = "", {"id": sid}
            if kind == "AgreementSigned":
                sql = (
                    "INSERT INTO advisor_agreements (agreement_id, tenant, advisor_id, "
                    "status, starts_on, ends_on, scope, hours_per_month) VALUES "
                    "(:id, :t, :a, 'active', :s, :e, :scope, :h)"
                )
                values |= {
                    "t": recorded.tenant,
                    "a": d["advisor_id"],
                    "s": d["starts_on"],
                    "e": d["ends_on"],
                    "scope": d["scope"],
                    "h": d["hours_per_month"],
                }
            elif kind == "AgreementRenewed":
                sql = (
                    "UPDATE advisor_agreements SET ends_on = :e, status = 'active', "
                    "ending_soon = FALSE WHERE agreement_id = :id"
                )
                values["e"] = d["ends_on"]
            elif kind == "AgreementEndingSoon":
                sql = "UPDATE advisor_agreements SET ending_soon = TRUE "
                sql += "WHERE agreement_id = :id"
            elif kind in ("AgreementEnded", "AgreementTerminated"):
                sql = "UPDATE advisor_agreements SET status = :st "
                sql += "WHERE agreement_id = :id"
                values["st"] = "ended" if kind == "AgreementEnded" else "terminated"
            elif kind == "EngagementScheduled":
                sql = (
                    "INSERT INTO advisor_engagements (engagement_id, tenant, "
                    "advisor_id, topic, on_date, audience_size, status) VALUES "
                    "(:id, :t, :a, :topic, :on, :n, 'scheduled')"
                )
                values |= {
                    "t": recorded.tenant,
                    "a": d["advisor_id"],
                    "topic": d["topic"],
                    "on": d["on"],
                    "n": d["audience_size"],
                }
            elif kind == "EngagementDelivered":
                sql = (
                    "UPDATE advisor_engagements SET status = 'delivered', "
                    "agreement_id = :ag, minutes = :m, on_date = :on "
                    "WHERE engagement_id = :id"
                )
                values |= {"ag": d["agreement_id"], "m": d["minutes"], "on": d["on"]}
            if sql:
                await conn.execute(text(sql), values)


class Agreements:
    """Application service of agreements and engagements."""

    def __init__(self, runtime: ServiceRuntime, *, notice_days: int = NOTICE_DAYS):
        self.engine = runtime.engine
        self.notice_days = notice_days
        projections = [AgreementsProjection()]
        self.repo = Repository(
            runtime.store, registry, Agreement, projections=projections
        )
        self.engagements = Repository(
            runtime.store, registry, Engagement, projections=projections
        )
        for repo in (self.repo, self.engagements):
            repo.on_saved.append(lambda _events: runtime.relay.notify())
        self.advisor_status: StatusOf | None = None

    async def check_advisor(self, tenant: str, advisor_id: str) -> None:
        if self.advisor_status is None:
            return
        status = await self.advisor_status(tenant, advisor_id)
        if status == UNCHECKED:
            return
        if status is None or str(getattr(status, "value", status)) not in ELIGIBLE:
            raise AdvisorNotApproved(f"advisor {advisor_id} is not approved")

    # -- agreements -------------------------------------------------------------------

    async def sign(self, principal: Principal, **terms: Any) -> Agreement:
        await self.check_advisor(principal.tenant, terms["advisor_id"])
        agreement = Agreement.sign(str(uuid.uuid4()), principal.tenant, **terms)
        await self.repo.save(agreement, metadata_for(principal))
        return agreement

    async def load(self, principal: Principal, agreement_id: str) -> Agreement:
        agreement = await self.repo.get(agreement_id, principal.tenant)
        if not principal.has_role(*READERS) and principal.subject != (
            agreement.advisor_id
        ):
            raise NotFound(f"Agreement {agreement_id} not found")
        return agreement

    async def change(
        self,
        principal: Principal,
        agreement_id: str,
        decide: Callable[[Agreement], None],
        *,
        advisor_may: bool = False,
    ) -> Agreement:
        async def attempt() -> Agreement:
            async with self.engine.begin() as conn:
                agreement = await self.repo.get(
                    agreement_id, principal.tenant, connection=conn
                )
                own = advisor_may and principal.subject == agreement.advisor_id
                if not (own or principal.has_role(*MANAGERS)):
                    raise Forbidden("only coordinators (or the advisor) may do this")
                decide(agreement)
                await self.repo.save(
                    agreement, metadata_for(principal), connection=conn
                )
                return agreement

        return await retrying(attempt)

    async def listing(
        self, principal: Principal, advisor_id: str | None
    ) -> list[dict[str, Any]]:
        if not principal.has_role(*READERS):
            advisor_id = principal.subject  # an advisor sees their own
        sql = "SELECT * FROM advisor_agreements WHERE tenant = :t"
        if advisor_id:
            sql += " AND advisor_id = :a"
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(sql + " ORDER BY starts_on, agreement_id"),
                {"t": principal.tenant, "a": advisor_id},
            )
            return [
                {k: v for k, v in r._asdict().items() if k != "tenant"}
                | {"ending_soon": bool(r.ending_soon)}
                for r in rows
            ]

    async def sweep(self, today: date | None = None) -> int:
        """Raise ending-soon and ended events that are due; safe to run repeatedly."""
        today = today or datetime.now(UTC).date()
        horizon = (today + timedelta(days=self.notice_days)).isoformat()
        async with self.engine.connect() as conn:
            due = list(
                await conn.execute(
                    text(
                        "SELECT agreement_id, tenant FROM advisor_agreements "
                        "WHERE status = 'active' AND ends_on <= :h "
                        "AND (ending_soon = FALSE OR ends_on < :today)"
                    ),
                    {"h": horizon, "today": today.isoformat()},
                )
            )
        raised = 0
        for row in due:
            system = system_principal(row.tenant, "agreements-sweep")

            async def attempt(row: Any = row, system: Principal = system) -> int:
                agreement = await self.repo.get(row.agreement_id, row.tenant)
                agreement.check_term(today, self.notice_days)
                return len(await self.repo.save(agreement, metadata_for(system)))

            try:
                raised += await retrying(attempt)
            except ConcurrencyConflict:
                pass  # the next sweep looks again
        return raised

    # -- engagements ------------------------------------------------------------------

    async def schedule(self, principal: Principal, **fields: Any) -> Engagement:
        await self.check_advisor(principal.tenant, fields["advisor_id"])
        engagement = Engagement.schedule(str(uuid.uuid4()), principal.tenant, **fields)
        await self.engagements.save(engagement, metadata_for(principal))
        return engagement

    async def deliver(
        self, principal: Principal, engagement_id: str, minutes: int, on: date
    ) -> Engagement:
        async def attempt() -> Engagement:
            async with self.engine.begin() as conn:
                engagement = await self.engagements.get(
                    engagement_id, principal.tenant, connection=conn
                )
                if not (
                    principal.has_role(*MANAGERS)
                    or principal.subject == engagement.advisor_id
                ):
                    raise Forbidden("only coordinators (or the advisor) may do this")
                row = (
                    await conn.execute(
                        text(
                            "SELECT agreement_id FROM advisor_agreements "
                            "WHERE tenant = :t AND advisor_id = :a AND status = "
                            "'active' AND starts_on <= :d AND ends_on >= :d "
                            "ORDER BY starts_on DESC LIMIT 1"
                        ),
                        {
                            "t": principal.tenant,
                            "a": engagement.advisor_id,
                            "d": on.isoformat(),
                        },
                    )
                ).first()
                if row is None:
                    raise NoActiveAgreement(
                        f"advisor {engagement.advisor_id} has no agreement in force "
                        f"on {on.isoformat()}"
                    )
                agreement = await self.repo.get(
                    row.agreement_id, principal.tenant, connection=conn
                )
                engagement.deliver(agreement, minutes, on)
                meta = metadata_for(principal)
                await self.repo.save(agreement, meta, connection=conn)
                await self.engagements.save(engagement, meta, connection=conn)
                return engagement

        return await retrying(attempt)

    async def engagement_list(
        self, principal: Principal, advisor_id: str | None
    ) -> list[dict[str, Any]]:
        if not principal.has_role(*READERS):
            advisor_id = principal.subject
        sql = (
            'SELECT engagement_id, advisor_id, topic, on_date AS "on", audience_size, '
            "status, agreement_id, minutes FROM advisor_engagements WHERE tenant = :t"
        )
        if advisor_id:
            sql += " AND advisor_id = :a"
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(sql + " ORDER BY on_date, engagement_id"),
                {"t": principal.tenant, "a": advisor_id},
            )
            return [r._asdict() for r in rows]


def _lifecycle_status(app: Any) -> StatusOf:
    async def status(tenant: str, advisor_id: str) -> Any:
        advisors = getattr(app.state, "advisors", None)
        if advisors is None or not hasattr(advisors, "status"):
            return UNCHECKED  # no lifecycle part installed: nothing to check against
        return await advisors.status(tenant, advisor_id)

    return status


def install(app: Any, runtime: Any, cipher: Any) -> None:
    """Add this part's application object, sweep and schema to the app."""
    agreements = Agreements(runtime)
    agreements.advisor_status = _lifecycle_status(app)
    app.state.agreements = agreements
    app.state.schema_setups.append(create_schema)
    every_s = getattr(app.state.settings, "expiry_sweep_s", 60)

    async def sweep() -> None:
        await agreements.sweep()

    runtime.every("agreement-terms", sweep, every_s)
