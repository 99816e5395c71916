"""``Pairings``: the workflow after a proposal — approve, accept, decline, override,
expire, end — and the queries over pairings.

A coordinator (or admin) approves, withdraws and forbids; only the two people of a
pairing accept or decline it. A decline frees the mentor's slot, and the mentee is
offered the next best mentor straight away (through ``on_freed``).

Approving and accepting check the mentor's seats and the mentee's one pairing in the
cohort in the transaction that records the step (``application.seats``): a
refusal is typed (``CapacityExceeded``, ``MenteeAlreadyPaired``) and records nothing.
A confirmed replacement ends the pairing it replaces in the same transaction, so a
mentee never runs two. A mentor whose capacity goes down has their surplus open
proposals withdrawn (``release_surplus``, on the profiles event). An erased person's
live pairings close with reason ``erased`` (``close_erased``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role, system_principal
from chassis.envelope import Envelope
from chassis.errors import Forbidden, NotFound
from chassis.events import EventMetadata
from chassis.messaging import Handler
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api.matching import PairingView
from contracts.matching import PairingState, ReasonCode
from services.matching.application.access import COORDINATORS, may_see
from services.matching.application.seats import (
    require_seat,
    require_single,
    surplus,
)
from services.matching.domain.choices import (
    CohortRules,
    MenteeChoices,
    choices_id,
    cohort_rules_id,
)
from services.matching.domain.events import registry
from services.matching.domain.pairing import Pairing
from services.matching.projections import pairings as view
from services.matching.projections.pairing_texts import (
    answered,
    keep_note,
    read_into,
    split_reason,
    texts_of,
)
from services.matching.projections.pairings import PairingsProjection, pairing_view

MetadataFor = Callable[[Principal], EventMetadata]
Freed = Callable[[Principal, Pairing], Awaitable[None]]
Check = Callable[[AsyncConnection, Pairing], Awaitable[None]]
Note = tuple[str, ReasonCode | None, str | None]  # action, code, the text typed


def now() -> datetime:
    return datetime.now(UTC)


class Pairings:
    def __init__(self, runtime: ServiceRuntime, *, metadata_for: MetadataFor) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.metadata_for = metadata_for
        projection = PairingsProjection()
        store = runtime.store
        self.pairings = Repository(store, registry, Pairing, projections=[projection])
        self.rules = Repository(store, registry, CohortRules, projections=[projection])
        self.choices = Repository(
            store, registry, MenteeChoices, projections=[projection]
        )
        for repo in (self.pairings, self.rules, self.choices):
            repo.on_saved.append(lambda _events: runtime.relay.notify())
        self.on_freed: list[Freed] = []
        self.on_confirmed: list[Freed] = []

    async def _change(
        self,
        pairing_id: str,
        principal: Principal,
        decide: Callable[[Pairing], object],
        check: Check | None = None,
        note: Note | None = None,
    ) -> Pairing:
        """Load, decide, ``check`` (the cross-pairing rules, in this transaction),
        save, keep the ``note`` typed with the step (privately, never in the event);
        a refusal at any step saves nothing."""

        async def attempt() -> Pairing:
            async with self.engine.begin() as conn:
                pairing = await self.pairings.get(
                    pairing_id, principal.tenant, connection=conn
                )
                decide(pairing)
                if check is not None and pairing.is_live:
                    await check(conn, pairing)
                await self.pairings.save(
                    pairing, self.metadata_for(principal), connection=conn
                )
                if note is not None:
                    action, code, body = note
                    await keep_note(
                        conn,
                        pairing.tenant,
                        pairing_id=pairing.id,
                        mentor_id=pairing.mentor_id,
                        mentee_id=pairing.mentee_id,
                        action=action,
                        code=code,
                        author_id=principal.subject,
                        body=body,
                    )
                if pairing.state == PairingState.CONFIRMED:
                    await self._end_replaced(conn, principal, pairing)
                return pairing

        return await retrying(attempt)

    # -- coordinator ------------------------------------------------------------------

    async def approve(
        self, principal: Principal, pairing_id: str, starts_on: date | None = None
    ) -> PairingView:
        """``starts_on``: the relationship's effective start (past allowed, at most
        a year ahead), carried by ``PairingConfirmed``."""
        principal.require(*COORDINATORS)
        await self._change(
            pairing_id, principal, lambda p: p.approve(now(), starts_on), self._fits
        )
        return await self.get(principal, pairing_id)

    async def withdraw(
        self,
        principal: Principal,
        pairing_id: str,
        reason: str,
        code: ReasonCode | None = None,
    ) -> None:
        """``reason``: a code, or text kept as a private note (``code`` or other)."""
        principal.require(*COORDINATORS)
        coded, body = split_reason(reason, code)
        await self._change(
            pairing_id,
            principal,
            lambda p: p.withdraw(coded or ReasonCode.OTHER),
            note=("PairingWithdrawn", coded, body),
        )

    async def forbid(
        self,
        principal: Principal,
        mentor_id: str,
        mentee_id: str,
        reason: str,
        *,
        code: ReasonCode | None = None,
        cohort_id: str | None = None,
    ) -> list[str]:
        """Rule a pair out for the cohort; open proposals of that pair are withdrawn
        (with the text typed, kept as their private note)."""
        principal.require(*COORDINATORS)
        coded, body = split_reason(reason, code)

        async def attempt() -> None:
            async with self.engine.begin() as conn:
                stream = cohort_rules_id(principal.tenant, cohort_id)
                rules = await self.rules.find(stream, principal.tenant, connection=conn)
                rules = rules or CohortRules.start(principal.tenant, cohort_id)
                rules.forbid(mentor_id, mentee_id, coded or ReasonCode.OTHER)
                await self.rules.save(
                    rules, self.metadata_for(principal), connection=conn
                )
                await keep_note(
                    conn,
                    principal.tenant,
                    pairing_id=None,
                    mentor_id=mentor_id,
                    mentee_id=mentee_id,
                    action="PairForbidden",
                    code=coded,
                    author_id=principal.subject,
                    body=body,
                )

        await retrying(attempt)
        open_ids = await view.open_between(
            self.engine, principal.tenant, mentor_id, mentee_id
        )
        for pairing_id in open_ids:
            await self.withdraw(
                principal,
                pairing_id,
                body or ReasonCode.PAIR_FORBIDDEN,
                ReasonCode.PAIR_FORBIDDEN,
            )
        return open_ids

    async def end(
        self,
        principal: Principal,
        pairing_id: str,
        reason: str,
        code: ReasonCode | None = None,
    ) -> None:
        """``reason``: a code, or text kept as a private note (``code`` or other)."""
        principal.require(*COORDINATORS)
        coded, body = split_reason(reason, code)
        await self._change(
            pairing_id,
            principal,
            lambda p: p.end(coded or ReasonCode.OTHER),
            note=("PairingEnded", coded, body),
        )

    async def _fits(self, conn: AsyncConnection, pairing: Pairing) -> None:
        """The mentor has a seat for this pairing and the mentee no other pairing."""
        assert pairing.proposal is not None
        await require_seat(conn, pairing.tenant, pairing.mentor_id, pairing.id)
        await require_single(
            conn,
            pairing.tenant,
            pairing.proposal.cohort_id,
            pairing.mentee_id,
            pairing.id,
            pairing.proposal.replaces,
        )

    async def _end_replaced(
        self, conn: AsyncConnection, principal: Principal, pairing: Pairing
    ) -> None:
        """A confirmed replacement ends the pairing it replaces, as rematched."""
        replaces = pairing.proposal.replaces if pairing.proposal else None
        if not replaces:
            return
        old = await self.pairings.find(replaces, pairing.tenant, connection=conn)
        if old is not None and old.state == PairingState.CONFIRMED:
            old.end(ReasonCode.REMATCHED)
            await self.pairings.save(
                old,
                self.metadata_for(system_principal(pairing.tenant)),
                connection=conn,
            )

    async def release_surplus(
        self,
        conn: AsyncConnection,
        tenant: str,
        mentor_id: str,
        reason: ReasonCode = ReasonCode.CAPACITY_LOWERED,
    ) -> list[str]:
        """Withdraw the mentor's open pairings beyond their capacity (in ``conn``,
        the transaction that lowered it)."""
        withdrawn = await surplus(conn, tenant, mentor_id)
        meta = self.metadata_for(system_principal(tenant))
        for pairing_id in withdrawn:
            pairing = await self.pairings.get(pairing_id, tenant, connection=conn)
            pairing.withdraw(reason)
            await self.pairings.save(pairing, meta, connection=conn)
        return withdrawn

    def releasing(self, handler: Handler) -> Handler:
        """``handler`` of an event that may take a mentor's seats away (capacity
        lowered, profile replaced, deactivated), then the surplus withdrawn in the
        same transaction."""

        async def handle(env: Envelope, conn: AsyncConnection) -> None:
            await handler(env, conn)
            mentor_id = env.data.get("person_id") or env.data.get("advisor_id")
            if mentor_id:
                await self.release_surplus(
                    conn, env.tenant, mentor_id, ReasonCode.CAPACITY_LOWERED
                )

        return handle

    async def close_erased(
        self, conn: AsyncConnection, tenant: str, person_id: str
    ) -> list[str]:
        """Every live pairing of an erased person closes with reason ``erased``: a
        proposal is withdrawn, a confirmed pairing ended (in ``conn``, the transaction
        that forgets the person). The other person keeps their history."""
        closed = await view.live_of(conn, tenant, person_id)
        meta = self.metadata_for(system_principal(tenant))
        for pairing_id in closed:
            pairing = await self.pairings.get(pairing_id, tenant, connection=conn)
            if pairing.is_open:
                pairing.withdraw(ReasonCode.ERASED)
            else:
                pairing.end(ReasonCode.ERASED)
            await self.pairings.save(pairing, meta, connection=conn)
        return closed

    def closing_erased(self, handler: Handler) -> Handler:
        """``PersonErased``: the person's live pairings close, then ``handler``
        forgets them, in the same transaction."""

        async def handle(env: Envelope, conn: AsyncConnection) -> None:
            await self.close_erased(conn, env.tenant, env.data["person_id"])
            await handler(env, conn)

        return handle

    # -- the two people -----------------------------------------------------------------

    async def accept(self, principal: Principal, pairing_id: str) -> PairingView:
        pairing = await self._change(
            pairing_id,
            principal,
            lambda p: p.accept(principal.subject, now()),
            self._fits,
        )
        if pairing.state == PairingState.CONFIRMED:
            for confirmed in self.on_confirmed:
                await confirmed(principal, pairing)
        return await self.get(principal, pairing_id)

    async def decline(
        self,
        principal: Principal,
        pairing_id: str,
        reason: str | None,
        code: ReasonCode | None = None,
    ) -> PairingView:
        """``reason``: the person's own words, kept as a private note read by
        coordinators and them; the event holds ``code`` (or other)."""
        coded, body = split_reason(reason, code)
        pairing = await self._change(
            pairing_id,
            principal,
            lambda p: p.decline(principal.subject, coded),
            note=("PairingDeclined", coded, body),
        )
        for offer_next in self.on_freed:
            await offer_next(principal, pairing)
        return await self.get(principal, pairing_id)

    async def dismiss(
        self, principal: Principal, mentee_id: str, mentor_id: str
    ) -> None:
        """A mentee sets a suggested mentor aside for good."""
        if principal.subject != mentee_id:
            principal.require(*COORDINATORS)

        async def attempt() -> None:
            async with self.engine.begin() as conn:
                stream = choices_id(mentee_id)
                choices = await self.choices.find(
                    stream, principal.tenant, connection=conn
                )
                choices = choices or MenteeChoices.start(principal.tenant, mentee_id)
                choices.dismiss(mentee_id, mentor_id)
                await self.choices.save(
                    choices, self.metadata_for(principal), connection=conn
                )

        await retrying(attempt)

    # -- time ----------------------------------------------------------------------------

    async def expire_due(self, principal: Principal) -> list[str]:
        """Expire every open proposal whose time has passed (run periodically)."""
        due = await view.due(self.engine, principal.tenant, now())
        expired = []
        for pairing_id in due:
            pairing = await self._change(
                pairing_id, principal, lambda p: p.expire(now())
            )
            if pairing.state == PairingState.EXPIRED:
                expired.append(pairing_id)
                for offer_next in self.on_freed:
                    await offer_next(principal, pairing)
        return expired

    async def expire_everywhere(self) -> int:
        """The periodic sweep: expire due proposals in every tenant."""
        tenants = await view.tenants_due(self.engine, now())
        expired = 0
        for tenant in tenants:
            expired += len(await self.expire_due(system_principal(tenant)))
        return expired

    # -- queries -------------------------------------------------------------------------

    async def get(self, principal: Principal, pairing_id: str) -> PairingView:
        row = await view.row_of(self.engine, principal.tenant, pairing_id)
        if row is None or not may_see(principal, row.mentor_id, row.mentee_id):
            raise NotFound(f"pairing {pairing_id} not found")
        return (await read_into(self.engine, principal, [pairing_view(row)]))[0]

    async def some(self, principal: Principal, ids: Sequence[str]) -> list[PairingView]:
        """The pairings among ``ids`` the caller may see (tenant and party rules of
        ``get``); the others are left out, as if they did not exist."""
        rows = await view.rows_by_ids(self.engine, principal.tenant, ids)
        views = [
            pairing_view(r)
            for r in rows
            if may_see(principal, r.mentor_id, r.mentee_id)
        ]
        return await read_into(self.engine, principal, views)

    async def some_answered(
        self, principal: Principal, ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        """``some`` as its answer sends it (``pairing_texts.answered``)."""
        rows = await view.rows_by_ids(self.engine, principal.tenant, ids)
        shown = [
            pairing_view(r)
            for r in rows
            if may_see(principal, r.mentor_id, r.mentee_id)
        ]
        texts = await texts_of(self.engine, principal, [v["pairing_id"] for v in shown])
        return answered(shown, *texts)

    async def answers(
        self,
        principal: Principal,
        *,
        person_id: str | None = None,
        round_id: str | None = None,
        state: PairingState | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """``list`` as its answer sends it: each pairing as ``PairingView`` dumps
        it to JSON (one statement on PostgreSQL, ``view.answers_of``)."""
        person_id = self._listed_person(principal, person_id)
        return await view.answers_of(
            self.engine,
            principal,
            person_id=person_id,
            round_id=round_id,
            state=state,
            limit=limit,
        )

    @staticmethod
    def _listed_person(principal: Principal, person_id: str | None) -> str | None:
        """Whose pairings ``principal`` may list: anyone's for coordinators and
        sponsors, else only their own."""
        if not principal.has_role(*COORDINATORS, Role.SPONSOR):
            if person_id not in (None, principal.subject):
                raise Forbidden("you may list only your own pairings")
            return principal.subject
        return person_id

    async def list(
        self,
        principal: Principal,
        *,
        person_id: str | None = None,
        round_id: str | None = None,
        state: PairingState | None = None,
        limit: int = 200,
    ) -> list[PairingView]:
        person_id = self._listed_person(principal, person_id)
        rows = await view.rows_of(
            self.engine,
            principal.tenant,
            person_id=person_id,
            round_id=round_id,
            state=state,
            limit=limit,
        )
        return await read_into(self.engine, principal, [pairing_view(r) for r in rows])
