"""Sessions of a relationship: schedule (in both people's windows, never double
booked), reschedule, agenda, held, cancelled, missed; free slots; cadence adherence.

Each session is its own stream referring to its relationship; ``bookings`` keeps the
current state the overlap checks read, in the same transaction as the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role, system_principal
from chassis.db import fetch_rows, is_sqlite, read
from chassis.errors import DomainError, NotFound
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from contracts.sessions.meetings import CancellationReason, SessionFormat
from services.sessions.application.relationships import OVERSEERS, Relationships
from services.sessions.domain.events import registry
from services.sessions.domain.meeting import (
    NotAllowed,
    Session,
    cadence_adherence,
    suggest_slots,
)
from services.sessions.domain.relationship import Relationship
from services.sessions.projections import bookings

__all__ = ["Meetings"]
Views = list[api.Session]  # rendered sessions, as the API answers them
RelationshipViews = list[api.Relationship]


# A relationship's pair and its sessions, in time order (none: one row, the pair's).
_LISTED = text(
    "SELECT r.mentor_id AS pair_mentor_id, r.mentee_id AS pair_mentee_id, s.* "
    "FROM relationships r LEFT JOIN sessions s "
    "ON s.relationship_id = r.relationship_id AND s.tenant = r.tenant "
    "WHERE r.relationship_id = :r AND r.tenant = :t ORDER BY s.starts_at"
)


class Meetings:
    def __init__(self, runtime: ServiceRuntime, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.repo = Repository(
            runtime.store,
            registry,
            Session,
            projections=[bookings.SessionsProjection()],
        )
        self.repo.on_saved.append(lambda _events: runtime.relay.notify())

    # -- commands --------------------------------------------------------------------

    @staticmethod
    def _require_actor(principal: Principal, rel: Relationship) -> None:
        if principal.subject not in rel.parties and not principal.has_role(
            Role.ADMIN, Role.COORDINATOR
        ):
            raise NotAllowed("only the pair or a coordinator may do this")

    async def schedule(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        starts_at: datetime,
        minutes: int,
        format: SessionFormat,
        agenda: str | None,
        outside_availability: bool,
    ) -> api.Session:
        session_id = str(uuid.uuid4())
        start = starts_at.astimezone(UTC)
        end = start + timedelta(minutes=minutes)

        async def attempt() -> None:
            async with self.engine.begin() as conn:
                rel = await self.relationships.load(principal, relationship_id, conn)
                self._require_actor(principal, rel)
                busy = await bookings.busy(conn, rel, start, end)
                windows = None
                if not outside_availability:
                    windows = await bookings.availability(conn, rel)
                agenda_id = None
                if agenda:
                    agenda_id = await self.relationships.texts.put(
                        conn, principal.tenant, principal.subject, agenda
                    )
                session = Session.schedule(
                    rel,
                    session_id=session_id,
                    by=principal.subject,
                    starts_at=start,
                    minutes=minutes,
                    format=format,
                    busy=busy,
                    availability=windows,
                    agenda_text_id=agenda_id,
                )
                await self._save(principal, session, conn)

        await retrying(attempt)
        return await self.get(principal, session_id)

    async def _save(
        self, principal: Principal, session: Session, conn: AsyncConnection
    ) -> None:
        meta = self.relationships.metadata_for(principal)
        await self.repo.save(session, meta, connection=conn)

    async def change(
        self,
        principal: Principal,
        session_id: str,
        decide: Callable[
            [Session, Relationship, AsyncConnection], Awaitable[None] | None
        ],
    ) -> api.Session:
        """Load the session and its relationship, decide, save; one transaction."""

        async def attempt() -> None:
            async with self.engine.begin() as conn:
                session = await self.repo.find(
                    session_id, principal.tenant, connection=conn
                )
                if session is None:
                    raise NotFound(f"session {session_id} not found")
                rel = await self.relationships.load(
                    principal, session.relationship_id, conn
                )
                self._require_actor(principal, rel)
                outcome = decide(session, rel, conn)
                if outcome is not None:
                    await outcome
                await self._save(principal, session, conn)

        await retrying(attempt)
        return await self.get(principal, session_id)

    async def cancel_upcoming(
        self, tenant: str, relationship_id: str, conn: AsyncConnection
    ) -> None:
        """A concluded relationship's sessions still to come are cancelled (feeds
        carry the cancellation), in the concluding transaction."""
        rows = await conn.execute(
            text(
                "SELECT session_id FROM sessions WHERE relationship_id = :r "
                "AND state = 'scheduled' AND starts_at > :now"
            ),
            {"r": relationship_id, "now": _now_param(self.engine)},
        )
        principal = system_principal(tenant)
        for row in rows.all():
            session = await self.repo.find(row.session_id, tenant, connection=conn)
            if session is not None:
                session.cancel(
                    principal.subject, CancellationReason.NO_LONGER_NEEDED, None
                )
                await self._save(principal, session, conn)

    async def reschedule(
        self,
        principal: Principal,
        session_id: str,
        *,
        starts_at: datetime,
        minutes: int | None,
        outside_availability: bool,
    ) -> api.Session:
        async def decide(s: Session, rel: Relationship, conn: AsyncConnection) -> None:
            length = minutes or s.minutes
            start = starts_at.astimezone(UTC)
            end = start + timedelta(minutes=length)
            busy = await bookings.busy(conn, rel, start, end)
            windows = None
            if not outside_availability:
                windows = await bookings.availability(conn, rel)
            s.reschedule(
                rel,
                by=principal.subject,
                starts_at=start,
                minutes=length,
                busy=busy,
                availability=windows,
            )

        return await self.change(principal, session_id, decide)

    async def cancel(
        self,
        principal: Principal,
        session_id: str,
        *,
        reason_code: CancellationReason,
        reason: str | None,
    ) -> api.Session:
        async def decide(s: Session, rel: Relationship, conn: AsyncConnection) -> None:
            reason_id = None
            if reason:
                reason_id = await self.relationships.texts.put(
                    conn, principal.tenant, principal.subject, reason
                )
            s.cancel(principal.subject, reason_code, reason_id)

        return await self.change(principal, session_id, decide)

    async def set_agenda(
        self, principal: Principal, session_id: str, agenda: str
    ) -> api.Session:
        async def decide(s: Session, rel: Relationship, conn: AsyncConnection) -> None:
            rel.require_party(principal.subject)
            text_id = await self.relationships.texts.put(
                conn, principal.tenant, principal.subject, agenda
            )
            s.set_agenda(principal.subject, text_id)

        return await self.change(principal, session_id, decide)

    async def hold(
        self,
        principal: Principal,
        session_id: str,
        *,
        held_at: datetime | None,
        minutes: int | None,
    ) -> api.Session:
        return await self.change(
            principal,
            session_id,
            lambda s, r, _c: s.hold(
                principal.subject,
                now=datetime.now(UTC),
                held_at=held_at,
                minutes=minutes,
                started_on=r.starts_on,
            ),
        )

    async def miss(
        self, principal: Principal, session_id: str, absent_ids: list[str]
    ) -> api.Session:
        return await self.change(
            principal,
            session_id,
            lambda s, r, _c: s.miss(
                principal.subject, absent_ids, r.parties, datetime.now(UTC)
            ),
        )

    # -- queries ---------------------------------------------------------------------

    async def row(
        self, principal: Principal, session_id: str
    ) -> tuple[RowMapping, bool]:
        """The session's row, and whether the caller is one of its pair."""
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        text(
                            "SELECT * FROM sessions WHERE session_id = :s AND tenant = :t"
                        ),
                        {"s": session_id, "t": principal.tenant},
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"session {session_id} not found")
        rel = await self.relationships.load(principal, row["relationship_id"])
        return row, principal.subject in rel.parties

    async def get(self, principal: Principal, session_id: str) -> api.Session:
        """The session; its agenda only for the pair."""
        row, party = await self.row(principal, session_id)
        if not party:
            return bookings.session_view(row)
        async with self.engine.connect() as conn:
            agenda = await self.relationships.texts.get(conn, row["agenda_text_id"])
        return bookings.session_view(row, agenda=agenda or "")

    async def list(self, principal: Principal, relationship_id: str) -> Views:
        """The relationship's sessions, if the principal may see the relationship
        (``Relationships.load``'s rule, read from its ``relationships`` row, no event
        replayed): the pair and the sessions in one statement, no transaction."""
        return [api.Session.model_validate(a) for a in await self.answers(
            principal, relationship_id
        )]  # fmt: skip

    async def answers(
        self, principal: Principal, relationship_id: str
    ) -> Sequence[dict[str, Any]]:
        """``list``'s sessions as the JSON the API sends them (``session_answer``)."""
        rows = [
            r._mapping
            for r in await fetch_rows(
                self.engine, _LISTED, {"r": relationship_id, "t": principal.tenant}
            )
        ]
        if not rows or not (
            principal.subject in (rows[0]["pair_mentor_id"], rows[0]["pair_mentee_id"])
            or principal.has_role(*OVERSEERS)
        ):
            raise NotFound(f"relationship {relationship_id} not found")
        return [bookings.session_answer(r) for r in rows if r["session_id"] is not None]

    async def get_many(self, principal: Principal, session_ids: Sequence[str]) -> Views:
        """Several sessions, each as ``get`` shows it (those of a relationship the
        caller may not see left out), in the order asked: three statements."""
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return []
        query = text(
            "SELECT * FROM sessions WHERE tenant = :t AND session_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        async with self.engine.connect() as conn:
            found = {
                row["session_id"]: row
                for row in (
                    await conn.execute(query, {"t": principal.tenant, "ids": ids})
                ).mappings()
            }
            rels = await self.relationships.visible(
                principal, [row["relationship_id"] for row in found.values()], conn
            )
            rows = [
                found[i]
                for i in ids
                if i in found and found[i]["relationship_id"] in rels
            ]
            pair = {
                row["session_id"]
                for row in rows
                if principal.subject in _parties(rels[row["relationship_id"]])
            }
            agendas = await self.relationships.texts.get_many(
                conn, (r["agenda_text_id"] for r in rows if r["session_id"] in pair)
            )
        return [
            bookings.session_view(
                row, agenda=agendas.get(row["agenda_text_id"] or "") or ""
            )
            if row["session_id"] in pair
            else bookings.session_view(row)
            for row in rows
        ]

    async def of_relationships(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> Views:
        """The sessions of several relationships (as each one's list shows them);
        a relationship the caller may not see adds nothing."""
        return [
            api.Session.model_validate(a)
            for a in await self.of_relationships_answers(principal, relationship_ids)
        ]

    async def of_relationships_answers(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> Sequence[dict[str, Any]]:
        """``of_relationships`` as the JSON the batch route sends: each session as
        ``session_answer`` writes it, without the agenda (the batch never sends
        one)."""
        query = text(
            "SELECT * FROM sessions WHERE tenant = :t AND relationship_id IN :ids "
            "ORDER BY starts_at, session_id"
        ).bindparams(bindparam("ids", expanding=True))

        async def found(conn: AsyncConnection) -> list[Any]:
            # Two statements on a connection that opens no transaction (``read``).
            visible = await self.relationships.visible(
                principal, relationship_ids, conn
            )
            if not visible:
                return []
            rows = await conn.execute(
                query, {"t": principal.tenant, "ids": list(visible)}
            )
            return list(rows.mappings())

        answers = []
        for r in await read(self.engine, found):
            answer = bookings.session_answer(r)
            del answer["agenda"]
            answers.append(answer)
        return answers

    async def relationship(
        self, principal: Principal, relationship_id: str
    ) -> api.Relationship:
        """The relationship as ``Relationships.get`` shows it, with its cadence
        adherence once the contract is in force (else null)."""
        view = await self.relationships.get(principal, relationship_id)
        view.cadence_adherence = None
        if view.contract.in_force:
            try:
                view.cadence_adherence = await self.cadence(
                    principal, relationship_id, None
                )
            except DomainError:
                pass
        return view

    async def relationships_with_cadence(
        self, principal: Principal, relationship_ids: Sequence[str]
    ) -> RelationshipViews:
        """Several relationships, each as ``relationship`` shows it (unseen ones left
        out), in the order asked: the rows, their terms and their held sessions in
        three statements, however many."""
        views = await self.relationships.views(principal, relationship_ids)
        in_force = [v.relationship_id for v in views if v.contract.in_force]
        held: dict[str, list[datetime]] = {rid: [] for rid in in_force}
        if in_force:
            query = text(
                "SELECT relationship_id, held_at FROM sessions "
                "WHERE relationship_id IN :ids AND state = 'held'"
            ).bindparams(bindparam("ids", expanding=True))
            async with self.engine.connect() as conn:
                for row in await conn.execute(query, {"ids": in_force}):
                    held[row.relationship_id].append(bookings.aware(row.held_at))
        as_of = datetime.now(UTC).date()
        for view in views:
            view.cadence_adherence = None
            cadence = view.contract.cadence
            if not view.contract.in_force or cadence is None:
                continue
            try:
                view.cadence_adherence = api.CadenceAdherence.model_validate(
                    cadence_adherence(
                        starts_on=view.starts_on,
                        every_days=cadence.every_days,
                        held=held[view.relationship_id],
                        as_of=as_of,
                    )
                )
            except DomainError:
                pass
        return views

    async def slots(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        count: int,
        after: datetime | None,
        minutes: int | None,
    ) -> api.Slots:
        rel = await self.relationships.load(principal, relationship_id)
        now = datetime.now(UTC)
        after = max(after.astimezone(UTC) if after else now, now)
        length = minutes or (rel.contract.cadence.minutes if rel.contract else 60)
        async with self.engine.connect() as conn:
            people = await bookings.availability(conn, rel)
            busy = await bookings.busy(
                conn, rel, after, after + timedelta(days=29), lock=False
            )
        found = suggest_slots(people, busy, minutes=length, after=after, count=count)
        return api.Slots(
            minutes=length,
            time_zones={
                p: a.time_zone for p, a in zip(rel.parties, people, strict=True)
            },
            slots=[
                api.Slot(
                    starts_at=s.isoformat(),
                    ends_at=(s + timedelta(minutes=length)).isoformat(),
                    local={
                        p: s.astimezone(a.zone).isoformat()
                        for p, a in zip(rel.parties, people, strict=True)
                    },
                )
                for s in found
            ],
        )

    async def cadence(
        self, principal: Principal, relationship_id: str, as_of: date | None
    ) -> api.CadenceAdherence:
        rel = await self.relationships.load(principal, relationship_id)
        rel.require_contract()
        assert rel.contract is not None and rel.started is not None
        async with self.engine.connect() as conn:
            held = [
                bookings.aware(r.held_at)
                for r in await conn.execute(
                    text(
                        "SELECT held_at FROM sessions WHERE relationship_id = :r "
                        "AND state = 'held'"
                    ),
                    {"r": relationship_id},
                )
            ]
        return api.CadenceAdherence.model_validate(
            cadence_adherence(
                starts_on=rel.started.starts_on,
                every_days=rel.contract.cadence.every_days,
                held=held,
                as_of=as_of or datetime.now(UTC).date(),
            )
        )


def _parties(row: RowMapping) -> tuple[str, str]:
    return (row["mentor_id"], row["mentee_id"])


def _now_param(engine: AsyncEngine) -> datetime | str:
    now = datetime.now(UTC)
    return now.isoformat() if is_sqlite(engine) else now
