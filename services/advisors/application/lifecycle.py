"""``Advisors``: the lifecycle commands and queries of the advisors service.

Every command loads the advisor, lets the domain decide and saves the recorded events
and the ``advisors`` row in one transaction (a concurrent writer makes it retry). The
advisor's stream id is the advisor id, so the chassis codec encrypts their personal
fields with their own key; erasure destroys that key in the same transaction.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role, system_principal
from chassis.envelope import Envelope
from chassis.errors import NotFound, TandemError
from chassis.events import EventMetadata
from chassis.http.context import metadata_for
from chassis.personal_data import PersonalDataCipher
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.advisors.lifecycle import AdvisorStatus, CheckStatus
from contracts.api.advisors import AdvisorView, CheckOutcome, ExpertiseProfile
from services.advisors.domain.advisor import Advisor
from services.advisors.domain.diligence import CheckSpec, DiligencePolicy
from services.advisors.domain.events import registry
from services.advisors.projections import advisors as table

__all__ = ["READERS", "Advisors"]
READERS = (Role.COORDINATOR, Role.ADMIN, Role.SPONSOR)
log = logging.getLogger(__name__)


def today_utc() -> date:
    return datetime.now(UTC).date()


class Advisors:
    """The advisor lifecycle, over the event store and the ``advisors`` table."""

    def __init__(self, runtime: ServiceRuntime, cipher: PersonalDataCipher) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.cipher = cipher
        self.clock: Callable[[], date] = today_utc
        self.advisors = Repository(runtime.store, registry, Advisor, codec=cipher)
        self.policies = Repository(runtime.store, registry, DiligencePolicy)
        for repo in (self.advisors, self.policies):
            repo.on_saved.append(lambda _events: runtime.relay.notify())

    # -- the load-decide-save loop ---------------------------------------------------

    async def _change(
        self,
        advisor_id: str,
        principal: Principal,
        decide: Callable[[Advisor, AsyncConnection], object],
        *,
        connection: AsyncConnection | None = None,
        metadata: EventMetadata | None = None,
    ) -> Advisor:
        async def attempt(conn: AsyncConnection) -> Advisor:
            advisor = await self.advisors.find(
                advisor_id, principal.tenant, connection=conn
            )
            if advisor is None:
                raise NotFound(f"advisor {advisor_id} not found")
            outcome = decide(advisor, conn)
            if inspect.isawaitable(outcome):
                await outcome
            await self._save(advisor, metadata or metadata_for(principal), conn)
            return advisor

        if connection is not None:
            return await attempt(connection)

        async def in_transaction() -> Advisor:
            async with self.engine.begin() as conn:
                return await attempt(conn)

        return await retrying(in_transaction)

    async def _save(
        self, advisor: Advisor, metadata: EventMetadata, conn: AsyncConnection
    ) -> None:
        await self.advisors.save(advisor, metadata, connection=conn)
        await table.upsert(conn, advisor, self.cipher)

    async def policy(
        self, tenant: str, conn: AsyncConnection | None = None
    ) -> DiligencePolicy:
        stream = DiligencePolicy.stream_for(tenant)
        found = await self.policies.find(stream, tenant, connection=conn)
        return found or DiligencePolicy(stream, tenant)

    # -- commands --------------------------------------------------------------------

    async def propose(
        self,
        principal: Principal,
        *,
        name: str,
        email: str,
        expertise_sought: list[str],
        organisation: str | None = None,
        bio: str | None = None,
        person_id: str | None = None,
    ) -> Advisor:
        advisor = Advisor.propose(
            str(uuid.uuid4()),
            principal.tenant,
            proposed_by=principal.subject,
            name=name,
            email=email,
            expertise_sought=expertise_sought,
            organisation=organisation,
            bio=bio,
            person_id=person_id,
        )
        async with self.engine.begin() as conn:
            await self._save(advisor, metadata_for(principal), conn)
        return advisor

    async def start_diligence(self, advisor_id: str, principal: Principal) -> Advisor:
        async def decide(advisor: Advisor, conn: AsyncConnection) -> None:
            policy = await self.policy(principal.tenant, conn)
            advisor.start_diligence(policy.checklist)

        return await self._change(advisor_id, principal, decide)

    async def record_check(
        self,
        advisor_id: str,
        check: str,
        principal: Principal,
        *,
        status: CheckOutcome,
        evidence: str | None = None,
        owner: str | None = None,
        expires_on: date | None = None,
    ) -> Advisor:
        today = self.clock()
        return await self._change(
            advisor_id,
            principal,
            lambda a, _c: a.record_check(
                check,
                status=CheckStatus(status),
                today=today,
                evidence=evidence,
                owner=owner,
                expires_on=expires_on,
            ),
        )

    async def declare_conflicts(
        self, advisor_id: str, principal: Principal, **declared: list[str]
    ) -> Advisor:
        async def decide(advisor: Advisor, conn: AsyncConnection) -> None:
            policy = await self.policy(principal.tenant, conn)
            advisor.declare_conflicts(policy.restricted, **declared)

        return await self._change(advisor_id, principal, decide)

    async def approve(
        self, advisor_id: str, principal: Principal, profile: ExpertiseProfile
    ) -> Advisor:
        today = self.clock()
        return await self._change(
            advisor_id, principal, lambda a, _c: a.approve(profile, today)
        )

    async def transition(
        self, advisor_id: str, principal: Principal, command: str, *args: object
    ) -> Advisor:
        """reject, suspend, reinstate, mark_contracted, activate or offboard."""
        if command == "reinstate":
            args = (self.clock(),)
        return await self._change(
            advisor_id, principal, lambda a, _c: getattr(a, command)(*args)
        )

    async def erase(
        self,
        advisor_id: str,
        principal: Principal,
        *,
        connection: AsyncConnection | None = None,
        metadata: EventMetadata | None = None,
    ) -> Advisor:
        async def decide(advisor: Advisor, conn: AsyncConnection) -> None:
            advisor.erase()
            # Make sure a key row exists, so no later write can mint a fresh one.
            await self.cipher.key(advisor.id, conn, tenant=advisor.tenant)
            await self.cipher.destroy(advisor.id, conn)

        return await self._change(
            advisor_id, principal, decide, connection=connection, metadata=metadata
        )

    async def configure_checklist(
        self, principal: Principal, checks: list[CheckSpec]
    ) -> DiligencePolicy:
        return await self._change_policy(
            principal, lambda p: p.configure_checklist(checks)
        )

    async def restrict(
        self, principal: Principal, organisations: list[str]
    ) -> DiligencePolicy:
        return await self._change_policy(principal, lambda p: p.restrict(organisations))

    async def _change_policy(
        self, principal: Principal, decide: Callable[[DiligencePolicy], None]
    ) -> DiligencePolicy:
        async def attempt() -> DiligencePolicy:
            async with self.engine.begin() as conn:
                policy = await self.policy(principal.tenant, conn)
                decide(policy)
                await self.policies.save(
                    policy, metadata_for(principal), connection=conn
                )
                return policy

        return await retrying(attempt)

    # -- the expiry sweep and erasures from profiles ---------------------------------

    async def sweep(self) -> int:
        """Suspend every approved advisor whose required check has lapsed."""
        today = self.clock()
        async with self.engine.connect() as conn:
            due = await table.expiring(conn, today.isoformat())
        suspended = 0
        for advisor_id, tenant in due:
            principal = system_principal(tenant, "diligence-expiry")
            try:
                changed = await self._change(
                    advisor_id, principal, lambda a, _c: a.sweep(today)
                )
            except TandemError as exc:  # one advisor must not stall the others
                log.warning("expiry sweep skipped advisor %s: %s", advisor_id, exc)
                continue
            suspended += changed.status == AdvisorStatus.SUSPENDED
        return suspended

    async def on_person_erased(self, env: Envelope, conn: AsyncConnection) -> None:
        """An advisor who is also a person in profiles is erased with them."""
        principal = system_principal(env.tenant, "profiles")
        metadata = EventMetadata(
            tenant=env.tenant,
            actor="profiles",
            correlation_id=env.correlation_id,
            causation_id=env.id,
            traceparent=env.traceparent,
        )
        for advisor_id in await table.linked_to(
            conn, env.tenant, env.data["person_id"]
        ):
            await self.erase(advisor_id, principal, connection=conn, metadata=metadata)

    # -- queries ---------------------------------------------------------------------

    async def status(self, tenant: str, advisor_id: str) -> AdvisorStatus | None:
        """The advisor's lifecycle status (None when unknown in this tenant)."""
        async with self.engine.connect() as conn:
            row = await table.one(conn, tenant, advisor_id)
        return AdvisorStatus(row.status) if row is not None else None

    async def mark_contracted(self, advisor_id: str, principal: Principal) -> Advisor:
        """For the agreements part: an approved advisor's agreement is signed."""
        return await self.transition(advisor_id, principal, "mark_contracted")

    @staticmethod
    def may_read_personal(principal: Principal, advisor_id: str) -> bool:
        return principal.has_role(*READERS) or principal.subject == advisor_id

    async def read(self, advisor_id: str, principal: Principal) -> AdvisorView:
        async with self.engine.connect() as conn:
            row = await table.one(conn, principal.tenant, advisor_id)
            if row is None:
                raise NotFound(f"advisor {advisor_id} not found")
            (found,) = await table.views(
                conn, self.cipher, [row], lambda a: self.may_read_personal(principal, a)
            )
        return found

    async def read_many(
        self, principal: Principal, advisor_ids: list[str]
    ) -> list[AdvisorView]:
        """The advisors of ``advisor_ids`` in the caller's tenant, as ``read`` shows
        each (others' ids find nothing); two queries, whatever their number."""
        async with self.engine.connect() as conn:
            rows = await table.many(conn, principal.tenant, advisor_ids)
            return await table.views(
                conn, self.cipher, rows, lambda a: self.may_read_personal(principal, a)
            )

    async def listing(
        self,
        principal: Principal,
        status: AdvisorStatus | None,
        limit: int,
        after: str,
    ) -> list[AdvisorView]:
        """A page of the tenant's advisors: two queries, whatever its size."""
        personal = principal.has_role(*READERS)
        async with self.engine.connect() as conn:
            rows = await table.page(conn, principal.tenant, status, limit, after)
            return await table.views(conn, self.cipher, rows, lambda _a: personal)

    async def seal_legacy(self, engine: AsyncEngine) -> None:
        """Start-up: seal the ``advisors`` rows written in clear before sealing."""
        sealed = await table.seal_legacy(engine, self.cipher)
        if sealed:
            log.info("sealed the personal columns of %d advisors rows", sealed)
