"""``Pairings``: the workflow after a proposal — approve, accept, decline, override,
expire, end — and the queries over pairings.

A coordinator (or admin) approves, withdraws and forbids; only the two people of a
pairing accept or decline it. A decline frees the mentor's slot, and the mentee is
offered the next best mentor straight away (through ``on_freed``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role, system_principal
from chassis.db import is_sqlite
from chassis.errors import Forbidden, NotFound
from chassis.events import EventMetadata
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from services.matching.domain.choices import (
    CohortRules,
    MenteeChoices,
    choices_id,
    cohort_rules_id,
)
from services.matching.domain.pairing import Pairing
from services.matching.events import registry
from services.matching.pairings_view import PairingsProjection, pairing_view

COORDINATORS = (Role.ADMIN, Role.COORDINATOR)
MetadataFor = Callable[[Principal], EventMetadata]
Freed = Callable[[Principal, Pairing], Awaitable[None]]


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
        self.on_confirmed: list[Freed] = []  # e.g. a replacement ends what it replaces

    async def _change(
        self,
        pairing_id: str,
        principal: Principal,
        decide: Callable[[Pairing], object],
    ) -> Pairing:
        async def attempt() -> Pairing:
            async with self.engine.begin() as conn:
                pairing = await self.pairings.get(
                    pairing_id, principal.tenant, connection=conn
                )
                decide(pairing)
                await self.pairings.save(
                    pairing, self.metadata_for(principal), connection=conn
                )
                return pairing

        return await retrying(attempt)

    # -- coordinator ------------------------------------------------------------------

    async def approve(self, principal: Principal, pairing_id: str) -> dict[str, Any]:
        principal.require(*COORDINATORS)
        await self._change(pairing_id, principal, lambda p: p.approve(now()))
        return await self.get(principal, pairing_id)

    async def withdraw(
        self, principal: Principal, pairing_id: str, reason: str
    ) -> None:
        principal.require(*COORDINATORS)
        await self._change(pairing_id, principal, lambda p: p.withdraw(reason))

    async def forbid(
        self,
        principal: Principal,
        mentor_id: str,
        mentee_id: str,
        reason: str,
        *,
        cohort_id: str | None = None,
    ) -> list[str]:
        """Rule a pair out for the cohort; open proposals of that pair are withdrawn."""
        principal.require(*COORDINATORS)

        async def attempt() -> None:
            async with self.engine.begin() as conn:
                stream = cohort_rules_id(principal.tenant, cohort_id)
                rules = await self.rules.find(stream, principal.tenant, connection=conn)
                rules = rules or CohortRules.start(principal.tenant, cohort_id)
                rules.forbid(mentor_id, mentee_id, reason)
                await self.rules.save(
                    rules, self.metadata_for(principal), connection=conn
                )

        await retrying(attempt)
        open_ids = await self._open_pairings(principal.tenant, mentor_id, mentee_id)
        for pairing_id in open_ids:
            await self.withdraw(principal, pairing_id, f"pair forbidden: {reason}")
        return open_ids

    async def end(self, principal: Principal, pairing_id: str, reason: str) -> None:
        principal.require(*COORDINATORS)
        await self._change(pairing_id, principal, lambda p: p.end(reason))

    # -- the two people -----------------------------------------------------------------

    async def accept(self, principal: Principal, pairing_id: str) -> dict[str, Any]:
        pairing = await self._change(
            pairing_id, principal, lambda p: p.accept(principal.subject, now())
        )
        if pairing.state == "confirmed":
            for confirmed in self.on_confirmed:
                await confirmed(principal, pairing)
        return await self.get(principal, pairing_id)

    async def decline(
        self, principal: Principal, pairing_id: str, reason: str | None
    ) -> dict[str, Any]:
        pairing = await self._change(
            pairing_id, principal, lambda p: p.decline(principal.subject, reason)
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
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pairing_id FROM pairings WHERE tenant = :t "
                    "AND state IN ('proposed', 'approved') AND expires_at <= :now"
                ),
                {"t": principal.tenant, "now": _stamp(self.engine, now())},
            )
            due = [r.pairing_id for r in rows]
        expired = []
        for pairing_id in due:
            pairing = await self._change(
                pairing_id, principal, lambda p: p.expire(now())
            )
            if pairing.state == "expired":
                expired.append(pairing_id)
                for offer_next in self.on_freed:
                    await offer_next(principal, pairing)
        return expired

    async def expire_everywhere(self) -> int:
        """The periodic sweep: expire due proposals in every tenant."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT tenant FROM pairings WHERE "
                    "state IN ('proposed', 'approved') AND expires_at <= :now"
                ),
                {"now": _stamp(self.engine, now())},
            )
            tenants = [r.tenant for r in rows]
        expired = 0
        for tenant in tenants:
            expired += len(await self.expire_due(system_principal(tenant)))
        return expired

    # -- queries -------------------------------------------------------------------------

    async def get(self, principal: Principal, pairing_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT * FROM pairings WHERE pairing_id = :id AND tenant = :t"
                    ),
                    {"id": pairing_id, "t": principal.tenant},
                )
            ).first()
        if row is None or not _may_see(principal, row):
            raise NotFound(f"pairing {pairing_id} not found")
        return pairing_view(row)

    async def list(
        self,
        principal: Principal,
        *,
        person_id: str | None = None,
        round_id: str | None = None,
        state: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        if not principal.has_role(*COORDINATORS, Role.SPONSOR):
            if person_id not in (None, principal.subject):
                raise Forbidden("you may list only your own pairings")
            person_id = principal.subject
        where, params = ["tenant = :t"], {"t": principal.tenant, "limit": limit}
        if person_id:
            where.append("(mentor_id = :p OR mentee_id = :p)")
            params["p"] = person_id
        if round_id:
            where.append("round_id = :r")
            params["r"] = round_id
        if state:
            where.append("state = :s")
            params["s"] = state
        sql = f"SELECT * FROM pairings WHERE {' AND '.join(where)} ORDER BY proposed_at, pairing_id LIMIT :limit"
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(sql), params)).all()
        return [pairing_view(r) for r in rows]

    async def _open_pairings(
        self, tenant: str, mentor_id: str, mentee_id: str
    ) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pairing_id FROM pairings WHERE tenant = :t AND mentor_id = :m "
                    "AND mentee_id = :e AND state IN ('proposed', 'approved')"
                ),
                {"t": tenant, "m": mentor_id, "e": mentee_id},
            )
            return [r.pairing_id for r in rows]


def _may_see(principal: Principal, row: Any) -> bool:
    if principal.has_role(*COORDINATORS, Role.SPONSOR):
        return True
    return principal.subject in (row.mentor_id, row.mentee_id)


def _stamp(engine: Any, value: datetime) -> Any:
    return value.isoformat() if is_sqlite(engine) else value


async def reserved_seats(conn: AsyncConnection, tenant: str) -> dict[str, int]:
    """Seats each mentor has promised: open proposals and confirmed pairings."""
    rows = await conn.execute(
        text(
            "SELECT mentor_id, count(*) AS n FROM pairings WHERE tenant = :t "
            "AND state IN ('proposed', 'approved', 'confirmed') GROUP BY mentor_id"
        ),
        {"t": tenant},
    )
    return {r.mentor_id: r.n for r in rows}
