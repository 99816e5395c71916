"""``Relationships``: start one per confirmed pairing, run the learning contract,
pause, resume, conclude; and who may see what of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role, system_principal
from chassis.db import fetch_rows, read
from chassis.envelope import Envelope
from chassis.errors import ConcurrencyConflict, Forbidden, NotFound
from chassis.events import EventMetadata
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from contracts.sessions.relationships import Cadence, ConclusionReason
from services.sessions.application.texts import PrivateTexts
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import Relationship
from services.sessions.projections.relationships import (
    RelationshipsProjection,
    relationship_view,
)

OVERSEERS = (Role.ADMIN, Role.COORDINATOR, Role.SPONSOR)
ERASED = ConclusionReason.ERASED
MetadataFor = Callable[[Principal], EventMetadata]


class Relationships:
    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        metadata_for: MetadataFor,
        texts: PrivateTexts,
    ) -> None:
        self.runtime = runtime
        self.texts = texts  # every part's sealed free text (application.texts)
        self.engine = runtime.engine
        self.metadata_for = metadata_for
        self.repo = Repository(
            runtime.store,
            registry,
            Relationship,
            projections=[RelationshipsProjection()],
        )
        self.repo.on_saved.append(lambda _events: runtime.relay.notify())
        # Called in the concluding transaction (tenant, relationship id, connection):
        # other parts tidy up, e.g. meetings cancels the sessions still to come.
        self.on_concluded: list[
            Callable[[str, str, AsyncConnection], Awaitable[None]]
        ] = []

    # -- from matching ------------------------------------------------------------------

    async def on_pairing_confirmed(self, env: Envelope, conn: AsyncConnection) -> None:
        """Start the relationship, in the consumer's transaction (so exactly once)."""
        d = env.data
        if (
            await self.repo.find(d["pairing_id"], env.tenant, connection=conn)
            is not None
        ):
            return  # already started (a replay of an earlier delivery)
        cycle = None
        if d.get("cohort_id"):
            cycle = (
                await conn.execute(
                    text("SELECT ends_on FROM cohort_cycles WHERE cohort_id = :c"),
                    {"c": d["cohort_id"]},
                )
            ).first()
        relationship = Relationship.start(
            env.tenant,
            cycle_ends_on=date.fromisoformat(cycle.ends_on) if cycle else None,
            pairing_id=d["pairing_id"],
            mentor_id=d["mentor_id"],
            mentee_id=d["mentee_id"],
            cohort_id=d.get("cohort_id"),
            kind=d.get("programme_type", "standard"),
            starts_on=start_date(env),
        )
        meta = EventMetadata(
            tenant=env.tenant,
            actor="matching",
            correlation_id=env.correlation_id,
            causation_id=env.id,
            traceparent=env.traceparent,
        )
        await self.repo.save(relationship, meta, connection=conn)

    async def on_cohort_created(self, env: Envelope, conn: AsyncConnection) -> None:
        """Remember the cohort's development phase: its relationships' cycle."""
        phases = [p for p in env.data.get("pathway", []) if p["stage"] == "development"]
        if not phases:
            return
        await conn.execute(
            text(
                "INSERT INTO cohort_cycles (cohort_id, tenant, starts_on, ends_on) "
                "VALUES (:c, :t, :s, :e) ON CONFLICT (cohort_id) DO NOTHING"
            ),
            {
                "c": env.data["cohort_id"],
                "t": env.tenant,
                "s": phases[0]["starts_on"],
                "e": phases[0]["ends_on"],
            },
        )

    async def on_pairing_ended(self, env: Envelope, conn: AsyncConnection) -> None:
        relationship = await self.repo.find(
            env.data["pairing_id"], env.tenant, connection=conn
        )
        if relationship is None or relationship.state == "concluded":
            return
        ended = env.data.get("reason")
        reason = (
            ConclusionReason(ended)
            if ended in (ConclusionReason.REMATCHED, ERASED, ConclusionReason.INACTIVE)
            else ConclusionReason.COMPLETED
        )
        # The day it ended: the pairing's effective ``ended_on`` (a pairing of the
        # programme's history), else the day of the event.
        ended_on = env.data.get("ended_on")
        await self._conclude(
            conn,
            env.tenant,
            relationship,
            reason,
            concluded_on=date.fromisoformat(ended_on)
            if isinstance(ended_on, str)
            else env.time.astimezone(UTC).date(),
        )

    async def on_person_erased(self, env: Envelope, conn: AsyncConnection) -> None:
        """Every open relationship of the erased person concludes with reason
        ``erased`` (the other person's history stays); a redelivery finds none."""
        rows = await conn.execute(
            text(
                "SELECT relationship_id FROM relationships WHERE tenant = :t "
                "AND (mentor_id = :p OR mentee_id = :p) AND state <> 'concluded' "
                "ORDER BY relationship_id"
            ),
            {"t": env.tenant, "p": env.data["person_id"]},
        )
        for relationship_id in [r.relationship_id for r in rows]:
            relationship = await self.repo.get(
                relationship_id, env.tenant, connection=conn
            )
            await self._conclude(conn, env.tenant, relationship, ERASED)

    async def _conclude(
        self,
        conn: AsyncConnection,
        tenant: str,
        relationship: Relationship,
        reason: ConclusionReason,
        *,
        concluded_on: date | None = None,
    ) -> None:
        relationship.conclude(reason, concluded_on=concluded_on)
        await self.repo.save(
            relationship,
            self.metadata_for(system_principal(tenant)),
            connection=conn,
        )
        for tidy in self.on_concluded:
            await tidy(tenant, relationship.id, conn)

    # -- commands ---------------------------------------------------------------------

    async def change(
        self,
        principal: Principal,
        relationship_id: str,
        decide: Callable[[Relationship, AsyncConnection], Awaitable[None] | None],
    ) -> Relationship:
        """Load, decide, save in one transaction; retried when another writer won."""

        async def attempt() -> Relationship:
            async with self.engine.begin() as conn:
                relationship = await self.load(principal, relationship_id, conn)
                outcome = decide(relationship, conn)
                if outcome is not None:
                    await outcome
                await self.repo.save(
                    relationship, self.metadata_for(principal), connection=conn
                )
                return relationship

        return await retrying(attempt)

    async def load(
        self,
        principal: Principal,
        relationship_id: str,
        conn: AsyncConnection | None = None,
    ) -> Relationship:
        """The relationship, if the principal is one of its people or oversees it."""
        relationship = await self.repo.find(
            relationship_id, principal.tenant, connection=conn
        )
        if relationship is None or not (
            principal.subject in relationship.parties or principal.has_role(*OVERSEERS)
        ):
            raise NotFound(f"relationship {relationship_id} not found")
        return relationship

    async def draft_contract(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        cadence: Cadence,
        hours_per_month: int,
        objectives: list[str],
        terms: str | None,
    ) -> api.Relationship:
        async def decide(rel: Relationship, conn: AsyncConnection) -> None:
            rel.require_party(principal.subject)
            body = "\n".join(["Objectives:", *objectives, "", terms or ""]).strip()
            text_id = await self.texts.put(
                conn, principal.tenant, principal.subject, body
            )
            rel.draft_contract(
                principal.subject,
                cadence=cadence,
                hours_per_month=hours_per_month,
                objectives=len(objectives),
                terms_text_id=text_id,
            )

        await self.change(principal, relationship_id, decide)
        return await self.get(principal, relationship_id)

    async def sign(
        self, principal: Principal, relationship_id: str, version: int
    ) -> api.Relationship:
        await self.change(
            principal,
            relationship_id,
            lambda rel, _c: rel.sign(principal.subject, version),
        )
        return await self.get(principal, relationship_id)

    async def pause(
        self,
        principal: Principal,
        relationship_id: str,
        until: date | None,
        *,
        paused_on: date | None = None,
    ) -> None:
        await self._party_or_coordinator(principal, relationship_id)
        await self.change(
            principal,
            relationship_id,
            lambda rel, _c: rel.pause(until, today=today(), paused_on=paused_on),
        )

    async def resume(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        resumed_on: date | None = None,
    ) -> None:
        await self._party_or_coordinator(principal, relationship_id)
        await self.change(
            principal,
            relationship_id,
            lambda rel, _c: rel.resume(today=today(), resumed_on=resumed_on),
        )

    async def conclude(
        self,
        principal: Principal,
        relationship_id: str,
        reason: api.ConcludeReason,
    ) -> None:
        principal.require(Role.ADMIN, Role.COORDINATOR)

        async def decide(rel: Relationship, conn: AsyncConnection) -> None:
            rel.conclude(ConclusionReason(reason))
            for tidy in self.on_concluded:
                await tidy(principal.tenant, rel.id, conn)

        await self.change(principal, relationship_id, decide)

    async def _party_or_coordinator(
        self, principal: Principal, relationship_id: str
    ) -> None:
        rel = await self.load(principal, relationship_id)
        if principal.subject not in rel.parties and not principal.has_role(
            Role.ADMIN, Role.COORDINATOR
        ):
            raise Forbidden("only the pair or a coordinator may do this")

    # -- queries -----------------------------------------------------------------------

    async def get(self, principal: Principal, relationship_id: str) -> api.Relationship:
        rel = await self.load(principal, relationship_id)
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        text("SELECT * FROM relationships WHERE relationship_id = :r"),
                        {"r": relationship_id},
                    )
                )
                .mappings()
                .one()
            )
            view = relationship_view(row)
            if principal.subject in rel.parties and rel.contract is not None:
                view.contract.terms = await self.texts.get(
                    conn, rel.contract.terms_text_id
                )
        return view

    async def visible(
        self,
        principal: Principal,
        relationship_ids: Sequence[str],
        conn: AsyncConnection,
    ) -> dict[str, RowMapping]:
        """The ``relationships`` rows of those ids the principal may see, as ``load``
        decides it (one of the pair, or an overseer), by id in the order asked: one
        statement, however many ids."""
        ids = list(dict.fromkeys(relationship_ids))
        if not ids:
            return {}
        sql = (
            "SELECT * FROM relationships WHERE tenant = :t AND relationship_id IN :ids"
        )
        if not principal.has_role(*OVERSEERS):
            sql += " AND (mentor_id = :p OR mentee_id = :p)"
        query = text(sql).bindparams(bindparam("ids", expanding=True))
        rows = await conn.execute(
            query, {"t": principal.tenant, "ids": ids, "p": principal.subject}
        )
        found = {row["relationship_id"]: row for row in rows.mappings()}
        return {i: found[i] for i in ids if i in found}

    async def views(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> list[api.Relationship]:
        """Several relationships, each as ``get`` shows it (unseen ones left out):
        the rows, then every terms text the caller may read, in two statements
        on a connection that opens no transaction (``read``)."""

        async def found(conn: AsyncConnection) -> tuple[Any, Any, Any]:
            rows = await self.visible(principal, relationship_ids, conn)
            readable = [
                row
                for row in rows.values()
                if principal.subject in (row["mentor_id"], row["mentee_id"])
                and row["contract_version"] is not None
            ]
            words = await self.texts.get_many(
                conn, (row["terms_text_id"] for row in readable)
            )
            return rows, readable, words

        rows, readable, words = await read(self.engine, found)
        views = {rid: relationship_view(row) for rid, row in rows.items()}
        for row in readable:
            text_id = row["terms_text_id"]
            views[row["relationship_id"]].contract.terms = (
                words.get(text_id) if text_id else None
            )
        return list(views.values())

    async def list(
        self, principal: Principal, person_id: str | None = None
    ) -> list[api.Relationship]:
        if not principal.has_role(*OVERSEERS):
            if person_id not in (None, principal.subject):
                raise Forbidden("you may list only your own relationships")
            person_id = principal.subject
        where, params = ["tenant = :t"], {"t": principal.tenant}
        if person_id:
            where.append("(mentor_id = :p OR mentee_id = :p)")
            params["p"] = person_id
        rows = await fetch_rows(
            self.engine,
            text(
                f"SELECT * FROM relationships WHERE {' AND '.join(where)} "
                "ORDER BY starts_on, relationship_id"
            ),
            params,
        )
        return [relationship_view(r._mapping) for r in rows]


def start_date(env: Envelope) -> date:
    """A relationship starts on the day its pairing's confirmation says
    (``starts_on``, set by the coordinator: the effective start, earlier for a
    programme's history), else on the day the pairing was confirmed (UTC)."""
    starts_on = env.data.get("starts_on")
    if starts_on:
        return (
            starts_on if isinstance(starts_on, date) else date.fromisoformat(starts_on)
        )
    return env.time.date()


def today() -> date:
    return datetime.now(UTC).date()


__all__ = ["ConcurrencyConflict", "Relationships"]
