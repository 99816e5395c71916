"""Telling: the reactions to inbound integration events.

Each handler runs in the consumer's transaction, which also records the event as
applied (``chassis.messaging.consumer``). Within it, each notice becomes a row keyed
by (tenant, event, recipient), inserted only if absent: a redelivered event, a replay
from the dead-letter table, or a parked session told late adds nothing twice.

A programme's history tells nobody: an event an import recorded
(``notices.from_history``: an unscored pairing's proposal, approval and confirmation,
a session that had begun before it was recorded) keeps no notice, delivery or
webhook message. The pairings of the history are kept (``projections/history.py``)
from their proposals, which come first on their stream.

A recipient is skipped when erased or deactivated (the chassis's revocation view,
fed by profiles' events in this same consumer) or unsubscribed from a kind their
programme does not require.

``apply_many`` is the consumer's batch handler (``chassis.messaging.consumer``): a
polled batch's fresh events in one transaction, with the same effects as their
handlers one by one. Runs of proposals, approvals and the like are told together, in
a handful of statements whatever their number (who is revoked, everyone's
preferences, the inbox rows, their outbox rows, the webhook messages); any other
event is applied by its own handler in its place, after the run before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.events import EventPayload, EventRegistry, utcnow
from chassis.messaging import Handler
from contracts import insights as i
from contracts import matching as m
from contracts import sessions as s
from contracts.sessions import meetings
from contracts.sessions import relationships as r
from services.notifications.application.outbox import Outbox
from services.notifications.application.webhooks import Webhooks
from services.notifications.domain import notices
from services.notifications.domain.notices import Notice
from services.notifications.domain.webhooks import WebhookEvent, webhook_event
from services.notifications.projections import history, inbox, people, preferences
from services.notifications.projections import outbox as deliveries

_REVOKED = text("SELECT 1 FROM revoked_subjects WHERE tenant = :t AND subject = :s")
_TICK = timedelta(microseconds=1)
Decide = Callable[..., list[Notice]]
# The events of a pairing that may be of a programme's history (its proposal says).
_OF_A_PAIRING = (m.PairingApproved, m.PairingConfirmed)


@dataclass(frozen=True)
class Told:
    """One event's notices (``tell_many``), kept at ``at``."""

    tenant: str
    event_id: str
    notices: Sequence[Notice]
    at: datetime


def inbound_registry() -> EventRegistry:
    """The contracts of the events notifications reads (upcasting older versions)."""
    registry = EventRegistry()
    for produced in (m.registry, s.registry, i.registry):
        registry.include(produced)
    return registry


class Telling:
    """Decides who is told what, and keeps it, from each inbound event."""

    def __init__(
        self,
        registry: EventRegistry | None = None,
        outbox: Outbox | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.registry = registry or inbound_registry()
        self.outbox = outbox
        self.webhooks = webhooks

    def handlers(self) -> dict[str, Handler]:
        """The consumer's handlers of the events notifications follows."""
        return {
            "PairingProposed": self._simple(notices.pairing_proposed),
            "PairingApproved": self._simple(notices.pairing_approved),
            "PairingConfirmed": self._simple(notices.pairing_confirmed),
            "EarlyWarningRaised": self._simple(notices.early_warning),
            "RelationshipStarted": self.on_relationship_started,
            "SessionScheduled": self.on_session_scheduled,
            "PersonRegistered": people.on_person,
            "PersonDetailsUpdated": people.on_person,
        }

    def _decode(self, env: Envelope) -> EventPayload:
        return self.registry.decode(env.type, env.schema_version, env.data)

    def _simple(self, decide: Callable[..., list[Notice]]) -> Handler:
        async def handle(env: Envelope, conn: AsyncConnection) -> None:
            payload = self._decode(env)
            if await self._of_history(conn, env, payload):
                return  # a programme's history tells nobody
            await self.tell(conn, env.tenant, env.id, decide(payload))
            await self._integrators(conn, env.tenant, env.id, payload)

        handle.__name__ = f"on_{decide.__name__}"
        # ``apply_many`` tells a run of these together (a handler wrapped or chained
        # by someone else loses the mark and is applied by itself).
        handle.decides = decide  # type: ignore[attr-defined]
        return handle

    async def apply_many(
        self,
        envs: Sequence[Envelope],
        conn: AsyncConnection,
        handlers: Mapping[str, Handler],
    ) -> None:
        """The consumer's batch handler: ``handlers`` (the consumer's own) of each
        event, in order, with the simple tellings of a run grouped."""
        if is_sqlite(conn.engine):  # the grouped statements are PostgreSQL's
            for env in envs:
                await handlers[env.type](env, conn)
            return
        run: list[tuple[Envelope, Decide]] = []
        for env in envs:
            handler = handlers[env.type]
            decide: Decide | None = getattr(handler, "decides", None)
            if decide is not None:
                run.append((env, decide))
                continue
            await self._tell_run(conn, run)
            run = []
            await handler(env, conn)
        await self._tell_run(conn, run)

    async def _tell_run(
        self, conn: AsyncConnection, run: Sequence[tuple[Envelope, Decide]]
    ) -> None:
        if not run:
            return
        told: list[Told] = []
        hooks: list[tuple[str, str, WebhookEvent, datetime]] = []
        last: datetime | None = None
        decoded = [(env, decide, self._decode(env)) for env, decide in run]
        past = await history.known(
            conn,
            {
                (env.tenant, p.pairing_id)
                for env, _, p in decoded
                if isinstance(p, _OF_A_PAIRING)
            },
        )
        of_history: dict[str, set[str]] = {}
        for tenant, known in past:
            of_history.setdefault(tenant, set()).add(known)
        recorded: list[tuple[str, str]] = []
        for env, decide, payload in decoded:
            pairing = notices.history_pairing(payload)
            if pairing is not None:
                recorded.append((env.tenant, pairing))
                of_history.setdefault(env.tenant, set()).add(pairing)
            if notices.from_history(payload, env.time, of_history.get(env.tenant, ())):
                continue  # a programme's history tells nobody
            # Each event its own moment, in order (an inbox lists by it).
            now = utcnow()
            if last is not None and now <= last:
                now = last + _TICK
            last = now
            told.append(Told(env.tenant, env.id, decide(payload), now))
            event = webhook_event(payload)
            if event is not None:
                hooks.append((env.tenant, env.id, event, now))
        await history.remember(conn, recorded, utcnow())
        await self.tell_many(conn, told)
        if self.webhooks is not None and hooks:
            await self.webhooks.enqueue_many(conn, hooks)

    async def on_relationship_started(
        self, env: Envelope, conn: AsyncConnection
    ) -> None:
        """Keep the pair; tell what was parked waiting for them."""
        e = self._decode(env)
        assert isinstance(e, r.RelationshipStarted)
        await people.keep_relationship(
            conn, env.tenant, e.relationship_id, e.mentor_id, e.mentee_id
        )
        for parked in await people.unpark(conn, env.tenant, e.relationship_id):
            scheduled = self.registry.decode(
                parked.event_type, parked.schema_version, parked.data
            )
            assert isinstance(scheduled, meetings.SessionScheduled)
            told = notices.session_scheduled(scheduled, e.mentor_id, e.mentee_id)
            await self.tell(conn, env.tenant, parked.event_id, told)

    async def on_session_scheduled(self, env: Envelope, conn: AsyncConnection) -> None:
        """Tell the pair; a session whose relationship is not known yet (its event
        came on another partition) waits for it."""
        e = self._decode(env)
        assert isinstance(e, meetings.SessionScheduled)
        if notices.from_history(e, env.time, ()):
            return  # it had begun before it was recorded: a programme's history
        await self._integrators(conn, env.tenant, env.id, e)
        pair = await people.pair_of(conn, env.tenant, e.relationship_id)
        if pair is None:
            await people.park(conn, env, e.relationship_id, e.scheduled_by)
            return
        told = notices.session_scheduled(e, *pair)
        await self.tell(conn, env.tenant, env.id, told)

    async def _of_history(
        self, conn: AsyncConnection, env: Envelope, payload: EventPayload
    ) -> bool:
        """Whether the event is of a programme's history (its pairing kept when it
        is the proposal of one)."""
        pairing = notices.history_pairing(payload)
        if pairing is not None:
            await history.remember(conn, [(env.tenant, pairing)], utcnow())
            return True
        past: set[tuple[str, str]] = set()
        if isinstance(payload, _OF_A_PAIRING):
            past = await history.known(conn, [(env.tenant, payload.pairing_id)])
        return notices.from_history(payload, env.time, {p for _, p in past})

    async def _integrators(
        self, conn: AsyncConnection, tenant: str, event_id: str, payload: EventPayload
    ) -> None:
        """The tenant's webhook endpoints hear of it too."""
        told = webhook_event(payload)
        if self.webhooks is not None and told is not None:
            await self.webhooks.enqueue(conn, tenant, event_id, told)

    async def tell(
        self,
        conn: AsyncConnection,
        tenant: str,
        event_id: str,
        told: Sequence[Notice],
    ) -> int:
        """Keep each notice its recipient may receive, once; how many were new."""
        now = utcnow()
        kept = 0
        for notice in told:
            revoked = await conn.scalar(
                _REVOKED, {"t": tenant, "s": notice.recipient_id}
            )
            if revoked is not None:
                continue  # erased or deactivated: never told
            chosen = await preferences.load(conn, tenant, notice.recipient_id)
            if not chosen.receives(notice.kind):
                continue
            nid = notices.notification_id(tenant, event_id, notice.recipient_id)
            fresh = await inbox.add(
                conn,
                notification_id=nid,
                tenant=tenant,
                recipient_id=notice.recipient_id,
                kind=notice.kind,
                event_id=event_id,
                subject_id=notice.subject_id,
                facts=notice.facts,
                at=now,
            )
            if fresh:
                kept += 1
                if self.outbox is not None:
                    await self.outbox.enqueue(conn, tenant, notice, nid, chosen, now)
        return kept

    async def tell_many(self, conn: AsyncConnection, told: Sequence[Told]) -> int:
        """``tell`` of each event's notices, in order, in a few statements
        (PostgreSQL); how many were new."""
        wanted = {(t.tenant, n.recipient_id) for t in told for n in t.notices}
        revoked = await people.revoked(conn, wanted)
        chosen = await preferences.load_many(conn, wanted - revoked)
        rows: list[tuple[inbox.New, Notice]] = []
        seen: set[str] = set()
        for t in told:
            for notice in t.notices:
                key = (t.tenant, notice.recipient_id)
                if key in revoked:
                    continue  # erased or deactivated: never told
                if not chosen[key].receives(notice.kind):
                    continue
                nid = notices.notification_id(t.tenant, t.event_id, notice.recipient_id)
                if nid in seen:
                    continue  # told already, earlier in this run
                seen.add(nid)
                new = inbox.New(
                    notification_id=nid,
                    tenant=t.tenant,
                    recipient_id=notice.recipient_id,
                    kind=notice.kind,
                    event_id=t.event_id,
                    subject_id=notice.subject_id,
                    facts=notice.facts,
                    at=t.at,
                )
                rows.append((new, notice))
        fresh = await inbox.add_many(conn, [new for new, _ in rows])
        if self.outbox is not None:
            await self.outbox.enqueue_many(
                conn,
                [
                    due
                    for new, notice in rows
                    if new.notification_id in fresh
                    for due in self.outbox.due(
                        new.tenant,
                        notice,
                        new.notification_id,
                        chosen[(new.tenant, new.recipient_id)],
                        new.at,
                    )
                ],
            )
        return len(fresh)

    async def forget(self, env: Envelope, conn: AsyncConnection) -> None:
        """PersonErased: everything notifications holds about the person."""
        tenant, person = env.tenant, str(env.data["person_id"])
        await inbox.forget(conn, tenant, person)
        await preferences.forget(conn, tenant, person)
        await people.forget(conn, tenant, person)
        await deliveries.forget(conn, tenant, person)
        if self.webhooks is not None:
            await self.webhooks.forget(conn, tenant, person)
