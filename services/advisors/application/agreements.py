"""``Agreements``: advisors' contracts (term, commitment, compensation, hours logged)
and one-off engagements: their commands and queries.

Whether an advisor may be contracted is the lifecycle's call: ``advisor_status``
(``Advisors.status``, wired by ``main.py``) answers an advisor's status, and signing an
agreement or scheduling an engagement requires one in ``ELIGIBLE``; without it, any
advisor id of the tenant is accepted. That function is the only coupling between the
two.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from chassis.auth.principal import Principal, Role, system_principal
from chassis.errors import (
    ConcurrencyConflict,
    Forbidden,
    NotFound,
)
from chassis.http import metadata_for
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.advisors.agreements import (
    Compensation,
    EngagementTopic,
    HoursKind,
    ScopeCategory,
)
from contracts.advisors.lifecycle import AdvisorStatus
from contracts.api.advisors import (
    AgreementSummary,
    AgreementUsage,
    AgreementView,
    AgreementWithUsage,
    EngagementView,
    HoursLogged,
)
from services.advisors.domain.agreement import (
    NOTICE_DAYS,
    AdvisorNotApproved,
    Agreement,
    NoActiveAgreement,
    hours,
)
from services.advisors.domain.engagement import Engagement
from services.advisors.domain.events import registry
from services.advisors.projections import agreements as table
from services.advisors.projections.agreements import AgreementsProjection

__all__ = [
    "ELIGIBLE",
    "MANAGERS",
    "READERS",
    "AdvisorNotApproved",
    "Agreements",
    "NoActiveAgreement",
    "agreement_view",
]
MANAGERS = (Role.ADMIN, Role.COORDINATOR)
READERS = (*MANAGERS, Role.SPONSOR)
ELIGIBLE = frozenset(
    {AdvisorStatus.APPROVED, AdvisorStatus.CONTRACTED, AdvisorStatus.ACTIVE}
)
StatusOf = Callable[[str, str], Awaitable[AdvisorStatus | None]]


def agreement_view(a: Agreement) -> AgreementView:
    """The agreement with its terms, as its routes answer it."""
    return AgreementView(
        agreement_id=a.id,
        advisor_id=a.advisor_id,
        status=a.status,
        starts_on=a.starts_on,
        ends_on=a.ends_on,
        scope=a.scope,
        scope_text=a.scope_text,
        hours_per_month=a.hours_per_month,
        compensation=a.compensation,
        renewable=a.renewable,
        ending_soon=a.ending_soon_raised,
        version=a.version,
    )


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
        if status is None or status not in ELIGIBLE:
            raise AdvisorNotApproved(f"advisor {advisor_id} is not approved")

    # -- agreements -------------------------------------------------------------------

    async def sign(
        self,
        principal: Principal,
        *,
        advisor_id: str,
        starts_on: date,
        ends_on: date,
        scope: ScopeCategory,
        hours_per_month: int,
        compensation: Compensation,
        scope_text: str | None = None,
        renewable: bool = True,
    ) -> Agreement:
        await self.check_advisor(principal.tenant, advisor_id)
        agreement = Agreement.sign(
            str(uuid.uuid4()),
            principal.tenant,
            advisor_id=advisor_id,
            starts_on=starts_on,
            ends_on=ends_on,
            scope=scope,
            hours_per_month=hours_per_month,
            compensation=compensation,
            scope_text=scope_text,
            renewable=renewable,
        )
        await self.repo.save(agreement, metadata_for(principal))
        return agreement

    async def load(self, principal: Principal, agreement_id: str) -> Agreement:
        agreement = await self.repo.get(agreement_id, principal.tenant)
        if not principal.has_role(*READERS) and principal.subject != (
            agreement.advisor_id
        ):
            raise NotFound(f"Agreement {agreement_id} not found")
        return agreement

    @staticmethod
    def view(agreement: Agreement) -> AgreementView:
        return agreement_view(agreement)

    async def read(self, principal: Principal, agreement_id: str) -> AgreementView:
        return agreement_view(await self.load(principal, agreement_id))

    async def read_with_usage(
        self, principal: Principal, agreement_id: str, on: date
    ) -> AgreementWithUsage:
        """The agreement as ``read`` shows it, with ``on``'s month of usage."""
        agreement = await self.load(principal, agreement_id)
        return AgreementWithUsage(
            **agreement_view(agreement).model_dump(), usage=agreement.usage(on)
        )

    async def read_many_with_usage(
        self, principal: Principal, agreement_ids: Sequence[str], on: date
    ) -> list[AgreementWithUsage]:
        """Several agreements, each as ``read_with_usage`` shows it (those the
        caller may not see left out), in the order asked: one statement."""
        found = await self.repo.find_many(agreement_ids, principal.tenant)
        return [
            AgreementWithUsage(**agreement_view(a).model_dump(), usage=a.usage(on))
            for a in found.values()
            if principal.has_role(*READERS) or principal.subject == a.advisor_id
        ]

    async def usage(
        self, principal: Principal, agreement_id: str, on: date
    ) -> AgreementUsage:
        agreement = await self.load(principal, agreement_id)
        return AgreementUsage(
            agreement_id=agreement_id, **agreement.usage(on).model_dump()
        )

    async def log_hours(
        self,
        principal: Principal,
        agreement_id: str,
        minutes: int,
        on: date,
        kind: HoursKind,
    ) -> HoursLogged:
        """Hours against the agreement (a coordinator, or the advisor themself)."""
        agreement = await self.change(
            principal,
            agreement_id,
            lambda a: a.log_hours(minutes, on, kind),
            advisor_may=True,
        )
        return HoursLogged(
            agreement_id=agreement_id,
            logged_hours=hours(minutes),
            **agreement.usage(on).model_dump(),
        )

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
    ) -> list[AgreementSummary]:
        if not principal.has_role(*READERS):
            advisor_id = principal.subject  # an advisor sees their own
        async with self.engine.connect() as conn:
            rows = await table.agreements_of(conn, principal.tenant, advisor_id)
        return [AgreementSummary.model_validate(row) for row in rows]

    async def sweep(self, today: date | None = None) -> int:
        """Raise ending-soon and ended events that are due; safe to run repeatedly."""
        today = today or datetime.now(UTC).date()
        horizon = today + timedelta(days=self.notice_days)
        async with self.engine.connect() as conn:
            due = await table.due(conn, horizon, today)
        raised = 0
        for agreement_id, tenant in due:
            system = system_principal(tenant, "agreements-sweep")

            async def attempt(
                agreement_id: str = agreement_id,
                tenant: str = tenant,
                system: Principal = system,
            ) -> int:
                agreement = await self.repo.get(agreement_id, tenant)
                agreement.check_term(today, self.notice_days)
                return len(await self.repo.save(agreement, metadata_for(system)))

            try:
                raised += await retrying(attempt)
            except ConcurrencyConflict:
                pass  # the next sweep looks again
        return raised

    # -- engagements ------------------------------------------------------------------

    async def schedule(
        self,
        principal: Principal,
        *,
        advisor_id: str,
        topic: EngagementTopic,
        on: date,
        audience_size: int,
    ) -> Engagement:
        await self.check_advisor(principal.tenant, advisor_id)
        engagement = Engagement.schedule(
            str(uuid.uuid4()),
            principal.tenant,
            advisor_id=advisor_id,
            topic=topic,
            on=on,
            audience_size=audience_size,
        )
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
                agreement_id = await table.in_force(
                    conn, principal.tenant, engagement.advisor_id, on
                )
                if agreement_id is None:
                    raise NoActiveAgreement(
                        f"advisor {engagement.advisor_id} has no agreement in force "
                        f"on {on.isoformat()}"
                    )
                agreement = await self.repo.get(
                    agreement_id, principal.tenant, connection=conn
                )
                engagement.deliver(agreement, minutes, on)
                meta = metadata_for(principal)
                await self.repo.save(agreement, meta, connection=conn)
                await self.engagements.save(engagement, meta, connection=conn)
                return engagement

        return await retrying(attempt)

    async def engagement_list(
        self, principal: Principal, advisor_id: str | None
    ) -> list[EngagementView]:
        if not principal.has_role(*READERS):
            advisor_id = principal.subject
        async with self.engine.connect() as conn:
            rows = await table.engagements_of(conn, principal.tenant, advisor_id)
        return [EngagementView.model_validate(row) for row in rows]
