"""Telling: the reactions to inbound integration events.

Each handler runs in the consumer's transaction, which also records the event as
applied (``chassis.messaging.consumer``). Within it, each notice becomes a row keyed
by (tenant, event, recipient), inserted only if absent: a redelivered event, a replay
from the dead-letter table, or a parked session told late adds nothing twice.

A recipient is skipped when erased or deactivated (the chassis's revocation view,
fed by profiles' events in this same consumer) or unsubscribed from a kind their
programme does not require.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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
from services.notifications.domain.webhooks import webhook_event
from services.notifications.projections import inbox, people, preferences
from services.notifications.projections import outbox as deliveries

_REVOKED = text("SELECT 1 FROM revoked_subjects WHERE tenant = :t AND subject = :s")


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
            await self.tell(conn, env.tenant, env.id, decide(payload))
            await self._integrators(conn, env.tenant, env.id, payload)

        handle.__name__ = f"on_{decide.__name__}"
        return handle

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
        await self._integrators(conn, env.tenant, env.id, e)
        pair = await people.pair_of(conn, env.tenant, e.relationship_id)
        if pair is None:
            await people.park(conn, env, e.relationship_id, e.scheduled_by)
            return
        told = notices.session_scheduled(e, *pair)
        await self.tell(conn, env.tenant, env.id, told)

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

    async def forget(self, env: Envelope, conn: AsyncConnection) -> None:
        """PersonErased: everything notifications holds about the person."""
        tenant, person = env.tenant, str(env.data["person_id"])
        await inbox.forget(conn, tenant, person)
        await preferences.forget(conn, tenant, person)
        await people.forget(conn, tenant, person)
        await deliveries.forget(conn, tenant, person)
        if self.webhooks is not None:
            await self.webhooks.forget(conn, tenant, person)
