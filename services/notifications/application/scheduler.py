"""The scheduler: a periodic sweep applying each tenant's time-based rules as of now,
the answer to an inactivity warning, and the rules a coordinator edits.

The sweep runs in the background every ``NOTIFICATIONS_SWEEP_S``; tests call
``sweep(now=…)`` with the moment they want. Each notice is kept through
``Telling.tell`` under an event key naming its (rule, subject, occurrence), so a
re-sweep, two processes sweeping at once, or a redelivered fact tell nothing twice.
A council's recommendation undecided past ``recommendation_decision_days`` is told
to its deciders once (a decision, arriving as advisors' event, removes it first).
An unanswered warning past its notice period closes the relationship: the event
``RelationshipInactivityClosed`` is appended to a stream of its own, once (the second
append conflicts), in the transaction that marks the relationship closed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.errors import ConcurrencyConflict, NotFound
from chassis.events import EventMetadata, NewEvent, utcnow
from chassis.eventstore import EventStore
from contracts.api.notifications import KeptOpen, RulesModel
from contracts.notifications import RelationshipInactivityClosed
from services.notifications.application.telling import Telling
from services.notifications.domain import rules as decide
from services.notifications.domain.notices import Notice
from services.notifications.domain.rules import Due, Relationship, Rules
from services.notifications.projections import schedule
from services.notifications.projections.schedule import stamp

log = logging.getLogger(__name__)
COORDINATORS = (Role.ADMIN, Role.COORDINATOR)
STREAM_TYPE = "RelationshipInactivity"


def stream_of(tenant: str, relationship_id: str) -> str:
    return f"inactivity-{tenant}-{relationship_id}"


class RelationshipNotFound(NotFound):
    code = "RelationshipNotFound"
    title = "No such relationship of yours"


class Scheduler:
    """Sweeps the rules; answers warnings; reads and sets a tenant's rules."""

    def __init__(
        self, engine: AsyncEngine, store: EventStore, telling: Telling
    ) -> None:
        self.engine = engine
        self.store = store
        self.telling = telling

    async def tell(self, conn: AsyncConnection, tenant: str, due: Due) -> int:
        told = [Notice(due.kind, p, due.subject_id, due.facts) for p in due.recipients]
        return await self.telling.tell(conn, tenant, due.key, told)

    async def sweep(self, now: datetime | None = None) -> int:
        """Apply every tenant's rules as of ``now``; how many notices were new."""
        now = now or utcnow()
        async with self.engine.connect() as conn:
            tenants = await schedule.tenants(conn)
        told = 0
        for tenant in tenants:
            told += await self.sweep_tenant(tenant, now)
        return told

    async def sweep_tenant(self, tenant: str, now: datetime) -> int:
        async with self.engine.connect() as conn:
            rules = await schedule.rules(conn, tenant)
            relationships = await schedule.live(conn, tenant)
        told = 0
        for rel in relationships:
            try:
                async with self.engine.begin() as conn:
                    told += await self._relationship(conn, tenant, rel, rules, now)
            except ConcurrencyConflict:
                log.info("sweep: %s closed meanwhile", rel.relationship_id)
        live = {rel.relationship_id for rel in relationships}
        async with self.engine.begin() as conn:
            reminder = timedelta(hours=max(rules.session_reminder_hours, 0))
            for s in await schedule.upcoming(conn, tenant, now, now + reminder):
                due = decide.session_tomorrow(
                    s.session_id, s.relationship_id, s.starts_at, s.pair, rules, now
                )
                told += await self._maybe(conn, tenant, due)
            until = now.date() + timedelta(days=max(rules.milestone_due_days, 0))
            for mid, rid, mentee, due_on in await schedule.milestones(
                conn, tenant, until
            ):
                due = decide.milestone_due(mid, rid, mentee, due_on, rules, now)
                told += await self._maybe(conn, tenant, due)
            coordinators = await schedule.coordinators(conn, tenant)
            for rid, raised_at in await schedule.warnings(conn, tenant):
                if rid in live:
                    due = decide.warning_persists(
                        rid, raised_at, coordinators, rules, now
                    )
                    told += await self._maybe(conn, tenant, due)
            told += await self._recommendations(conn, tenant, coordinators, rules, now)
        return told

    async def _recommendations(
        self,
        conn: AsyncConnection,
        tenant: str,
        coordinators: tuple[str, ...],
        rules: Rules,
        now: datetime,
    ) -> int:
        """Councils' recommendations undecided past the window: their deciders
        (advisors' rule: a sponsor sitting on the council, or a coordinator)."""
        if rules.recommendation_decision_days <= 0:
            return 0
        sponsors = await schedule.sponsors(conn, tenant)
        told = 0
        for rec, council, made_at in await schedule.recommendations(conn, tenant):
            deciders = tuple(dict.fromkeys((*sponsors.get(council, ()), *coordinators)))
            due = decide.recommendation_awaiting(
                rec, council, made_at, deciders, rules, now
            )
            told += await self._maybe(conn, tenant, due)
        return told

    async def _maybe(self, conn: AsyncConnection, tenant: str, due: Due | None) -> int:
        return 0 if due is None else await self.tell(conn, tenant, due)

    async def _relationship(
        self,
        conn: AsyncConnection,
        tenant: str,
        rel: Relationship,
        rules: Rules,
        now: datetime,
    ) -> int:
        told = await self._maybe(conn, tenant, decide.pulse(rel, rules, now))
        told += await self._maybe(conn, tenant, decide.cadence_missed(rel, rules, now))
        step = decide.inactivity(rel, rules, now)
        rid = rel.relationship_id
        if step.cancelled:
            await schedule.mark(conn, tenant, rid, warned_at=None, warned_for=None)
        elif step.warn is not None:
            told += await self.tell(conn, tenant, step.warn)
            await schedule.mark(
                conn,
                tenant,
                rid,
                warned_at=stamp(now),
                warned_for=stamp(rel.last_activity),
            )
        elif step.close:
            told += await self._close(conn, tenant, rel, now)
        return told

    async def _close(
        self, conn: AsyncConnection, tenant: str, rel: Relationship, now: datetime
    ) -> int:
        assert rel.warned_at is not None
        closing = RelationshipInactivityClosed(
            relationship_id=rel.relationship_id,
            warned_at=rel.warned_at,
            inactive_since=rel.last_activity,
        )
        await self.store.append(
            stream_id=stream_of(tenant, rel.relationship_id),
            stream_type=STREAM_TYPE,
            expected_version=0,
            events=[NewEvent.of(closing)],
            metadata=EventMetadata(tenant=tenant, actor="notifications"),
            connection=conn,
        )
        await schedule.mark(
            conn, tenant, rel.relationship_id, state="closed", closed_at=stamp(now)
        )
        return await self.tell(conn, tenant, decide.closed(rel))

    async def keep_open(self, me: Principal, relationship_id: str) -> KeptOpen:
        """A member of the pair answers: the relationship is not inactive (a warning
        in force is cancelled; the inactivity clock starts again from now)."""
        now = utcnow()
        async with self.engine.begin() as conn:
            rel = await schedule.one(conn, me.tenant, relationship_id)
            if rel is None or me.subject not in rel.pair:
                raise RelationshipNotFound(
                    f"no relationship {relationship_id} of yours"
                )
            if rel.state not in ("active", "paused"):
                raise RelationshipNotFound(f"relationship {relationship_id} is over")
            cancelled = rel.warning_pending
            await schedule.mark(
                conn,
                me.tenant,
                relationship_id,
                answered_at=stamp(now),
                warned_at=None,
                warned_for=None,
            )
        return KeptOpen(
            relationship_id=relationship_id,
            answered_at=now,
            warning_cancelled=cancelled,
        )

    async def rules(self, me: Principal) -> RulesModel:
        me.require(*COORDINATORS)
        async with self.engine.connect() as conn:
            return RulesModel(**(await schedule.rules(conn, me.tenant)).as_dict())

    async def set_rules(self, me: Principal, body: RulesModel) -> RulesModel:
        me.require(*COORDINATORS)
        chosen = Rules(**body.model_dump())
        async with self.engine.begin() as conn:
            await schedule.save_rules(conn, me.tenant, chosen, utcnow())
        return RulesModel(**chosen.as_dict())
