"""Relationship health: the ``relationship_health`` read model, early warnings, routes.

Each relevant fact is folded into the relationship's row (its facts as JSON) and the
health is re-assessed as of now (``domain.health`` documents states and thresholds).
When it worsens, or the relationship goes idle past ``idle_days_to_flag``, an
``EarlyWarningRaised`` is appended to insights' own event store (stream
``health-<tenant>-<relationship id>``) in the consumer's transaction; the relay
publishes it on ``tandem.insights.v1``. What was already raised is read back from
that stream, so redelivery, the hourly sweep and a rebuild never raise the same
warning twice.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Principal, Role
from chassis.envelope import Envelope
from chassis.errors import ConcurrencyConflict, Forbidden, NotFound
from chassis.events import EventMetadata, NewEvent, RecordedEvent, utcnow
from chassis.inputs import Code, Ref, SaneDate
from contracts.insights import EarlyWarningRaised, RelationshipHealthChanged
from services.insights import facts as fact_log
from services.insights import impact, rebuild
from services.insights.domain import health as domain
from services.insights.domain.erasure import replace_id

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
OVERSEERS = (Role.COORDINATOR, Role.SPONSOR, Role.ADMIN)
STREAM_TYPE = "RelationshipHealth"
HANDLED = (
    "RelationshipStarted",
    "ContractDrafted",
    "ContractInForce",
    "SessionScheduled",
    "SessionRescheduled",
    "SessionHeld",
    "SessionCancelled",
    "SessionMissed",
    "FeedbackGiven",
    "CheckInRecorded",
    "EscalationRaised",
    "EscalationResolved",
    "MilestoneAchieved",
    "RelationshipConcluded",
    "PairingEnded",
)
HANDLED_SET = frozenset(HANDLED)
COLUMNS = (
    "tenant, relationship_id, pairing_id, mentor_id, mentee_id, cohort_id, state, "
    "reasons, idle, facts, assessed_at"
)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                CREATE TABLE IF NOT EXISTS relationship_health (
                    tenant TEXT NOT NULL,
                    relationship_id TEXT NOT NULL,
                    pairing_id TEXT,
                    mentor_id TEXT,
                    mentee_id TEXT,
                    cohort_id TEXT,
                    state TEXT NOT NULL,
                    reasons TEXT NOT NULL,
                    idle INTEGER NOT NULL DEFAULT 0,
                    facts TEXT NOT NULL,
                    assessed_at TEXT NOT NULL,
                    PRIMARY KEY (tenant, relationship_id)
                )
                """
            )
        )


async def _pairing_ended(
    conn: AsyncConnection, tenant: str, pairing_id: str
) -> list[tuple[Any, dict[str, Any]]]:
    """The ``PairingEnded`` facts already kept for ``pairing_id``."""
    rows = await conn.execute(
        text(
            "SELECT occurred_at, data FROM facts "
            "WHERE tenant = :t AND type = 'PairingEnded' AND data LIKE :p"
        ),
        {"t": tenant, "p": f'%"pairing_id":{json.dumps(pairing_id)}%'},
    )
    found = [(at, json.loads(data)) for at, data in rows]
    return [(at, data) for at, data in found if data.get("pairing_id") == pairing_id]


class HealthBook:
    """Keeps ``relationship_health`` and raises warnings; one per process."""

    def __init__(self, runtime: Any, idle_days: int) -> None:
        self.runtime = runtime
        self.idle_days = idle_days

    async def on_fact(self, env: Envelope, conn: AsyncConnection) -> None:
        rid = env.data.get("relationship_id")
        if env.type == "PairingEnded":
            rid = (
                await conn.execute(
                    text(
                        "SELECT relationship_id FROM relationship_health "
                        "WHERE tenant = :t AND pairing_id = :p"
                    ),
                    {"t": env.tenant, "p": env.data.get("pairing_id")},
                )
            ).scalar()
        if not rid:
            return
        row = await self._row(conn, env.tenant, rid)
        facts = (
            domain.RelationshipFacts.from_json(json.loads(row.facts))
            if row
            else domain.RelationshipFacts(rid)
        )
        domain.apply(facts, env.type, env.data, env.time)
        if env.type == "RelationshipStarted" and facts.pairing_id:
            # The pairing may have ended before this arrived (another stream, another
            # partition): its PairingEnded found no relationship then; apply it now.
            for at, data in await _pairing_ended(conn, env.tenant, facts.pairing_id):
                domain.apply(facts, "PairingEnded", data, at)
        await self._settle(conn, env.tenant, facts, cause=env)

    async def sweep(self) -> None:
        """Re-assess every live relationship as of now (time passing makes idle)."""
        async with self.runtime.engine.connect() as conn:
            keys = (
                await conn.execute(
                    text(
                        "SELECT tenant, relationship_id FROM relationship_health "
                        "WHERE state <> 'concluded'"
                    )
                )
            ).all()
        for tenant, rid in keys:
            try:
                async with self.runtime.engine.begin() as conn:
                    row = await self._row(conn, tenant, rid)
                    if row is None:
                        continue
                    facts = domain.RelationshipFacts.from_json(json.loads(row.facts))
                    await self._settle(conn, tenant, facts)
            except ConcurrencyConflict:
                log.info("health sweep: %s moved on meanwhile; next sweep", rid)

    async def _row(self, conn: AsyncConnection, tenant: str, rid: str) -> Any:
        return (
            await conn.execute(
                text(
                    f"SELECT {COLUMNS} FROM relationship_health "
                    "WHERE tenant = :t AND relationship_id = :r"
                ),
                {"t": tenant, "r": rid},
            )
        ).first()

    async def _settle(
        self,
        conn: AsyncConnection,
        tenant: str,
        facts: domain.RelationshipFacts,
        cause: Envelope | None = None,
    ) -> None:
        health = domain.assess(facts, utcnow(), idle_days=self.idle_days)
        await conn.execute(UPSERT, row_params(tenant, facts, health))
        await self._warn(conn, tenant, facts, health, cause)

    async def _warn(
        self,
        conn: AsyncConnection,
        tenant: str,
        facts: domain.RelationshipFacts,
        health: domain.Health,
        cause: Envelope | None,
        stream: list[RecordedEvent] | None = None,
    ) -> None:
        """Append what changed since the stream's memory (read unless given)."""
        if not (facts.mentor_id and facts.mentee_id):
            return  # not started yet (events of one relationship may arrive first)
        stream_id = stream_of(tenant, facts.relationship_id)
        if stream is None:
            stream = await self.runtime.store.read_stream(
                stream_id, tenant=tenant, connection=conn
            )
        last_state, warned_rank, idle_warned = _memory(stream)
        new: list[Any] = []
        if health.state != last_state:
            new.append(
                RelationshipHealthChanged(
                    relationship_id=facts.relationship_id,
                    from_state=last_state,
                    to_state=health.state,
                    reasons=health.reasons,
                )
            )
        if domain.RANK[health.state] > warned_rank:
            new.append(self._warning(facts, health.state, health.reasons))
        if health.idle and not idle_warned:
            idle = [r for r in health.reasons if r.startswith("idle_for_")]
            new.append(self._warning(facts, "idle", idle))
        if not new:
            return
        await self.runtime.store.append(
            stream_id=stream_id,
            stream_type=STREAM_TYPE,
            expected_version=stream[-1].version if stream else 0,
            events=[NewEvent.of(p) for p in new],
            metadata=EventMetadata(
                tenant=tenant,
                actor="insights",
                correlation_id=cause.correlation_id if cause else None,
                causation_id=cause.id if cause else None,
            ),
            connection=conn,
        )

    @staticmethod
    def _warning(
        facts: domain.RelationshipFacts, level: str, reasons: list[str]
    ) -> EarlyWarningRaised:
        return EarlyWarningRaised(
            relationship_id=facts.relationship_id,
            mentor_id=facts.mentor_id or "",
            mentee_id=facts.mentee_id or "",
            level=level,  # type: ignore[arg-type]
            reasons=reasons,
        )


def stream_of(tenant: str, relationship_id: str) -> str:
    # The tenant is part of the id: relationship ids are only unique per tenant.
    return f"health-{tenant}-{relationship_id}"


UPSERT = text(
    f"INSERT INTO relationship_health ({COLUMNS}) VALUES (:t, :r, :p, "
    ":mentor, :mentee, :c, :s, :reasons, :idle, :f, :at) "
    "ON CONFLICT (tenant, relationship_id) DO UPDATE SET "
    "pairing_id = excluded.pairing_id, mentor_id = excluded.mentor_id, "
    "mentee_id = excluded.mentee_id, cohort_id = excluded.cohort_id, "
    "state = excluded.state, reasons = excluded.reasons, "
    "idle = excluded.idle, facts = excluded.facts, "
    "assessed_at = excluded.assessed_at"
)


def row_params(
    tenant: str, facts: domain.RelationshipFacts, health: domain.Health
) -> dict[str, Any]:
    """The ``relationship_health`` row of a relationship, as ``UPSERT`` parameters."""
    return {
        "t": tenant,
        "r": facts.relationship_id,
        "p": facts.pairing_id,
        "mentor": facts.mentor_id,
        "mentee": facts.mentee_id,
        "c": facts.cohort_id,
        "s": health.state,
        "reasons": json.dumps(health.reasons),
        "idle": int(health.idle),
        "f": json.dumps(facts.to_json(), separators=(",", ":")),
        "at": utcnow().isoformat(),
    }


def _memory(stream: list[Any]) -> tuple[str | None, int, bool]:
    """(last state, rank already warned, idle already warned) from the stream.

    A return to a healthy state clears what was warned, so a later relapse warns again.
    """
    last_state: str | None = None
    warned_rank, idle_warned = 0, False
    for recorded in stream:
        if recorded.event_type == "RelationshipHealthChanged":
            last_state = recorded.data["to_state"]
            if domain.RANK.get(last_state or "", 0) == 0:
                warned_rank, idle_warned = 0, False
        elif recorded.event_type == "EarlyWarningRaised":
            level = recorded.data["level"]
            if level == "idle":
                idle_warned = True
            else:
                warned_rank = max(warned_rank, domain.RANK[level])
    return last_state, warned_rank, idle_warned


def can_read(principal: Principal, *people: str | None) -> bool:
    return principal.has_role(*OVERSEERS) or principal.subject in people


def _view(row: Any, health: domain.Health | None = None) -> dict[str, Any]:
    return {
        "relationship_id": row.relationship_id,
        "mentor_id": row.mentor_id,
        "mentee_id": row.mentee_id,
        "cohort_id": row.cohort_id,
        "state": health.state if health else row.state,
        "reasons": health.reasons if health else json.loads(row.reasons),
        "idle": health.idle if health else bool(row.idle),
        "days_since_session": health.days_since_session if health else None,
        "cancellation_streak": health.cancellation_streak if health else None,
        "as_of": health.as_of if health else row.assessed_at,
    }


@router.get("/relationships/health")
async def list_health(
    request: Request,
    principal: PrincipalDep,
    state: Code | None = None,
    cohort_id: Ref | None = None,
) -> dict[str, Any]:
    """Every relationship's health with its reasons (overseers), filterable."""
    principal.require(*OVERSEERS)
    where, params = ["tenant = :t"], {"t": principal.tenant}
    if state:
        where.append("state = :s")
        params["s"] = state
    if cohort_id:
        where.append("cohort_id = :c")
        params["c"] = cohort_id
    async with request.app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                f"SELECT {COLUMNS} FROM relationship_health WHERE "
                f"{' AND '.join(where)} ORDER BY relationship_id"
            ),
            params,
        )
        return {"items": [_view(r) for r in rows]}


@router.get("/relationships/{relationship_id}/health")
async def relationship_health(
    relationship_id: Ref,
    request: Request,
    principal: PrincipalDep,
    as_of: Annotated[SaneDate | None, Query(description="YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    """One relationship's health now or as of the end of a day (the pair, overseers)."""
    book: HealthBook = request.app.state.health
    async with request.app.state.runtime.engine.connect() as conn:
        row = await book._row(conn, principal.tenant, relationship_id)
        if row is None:
            raise NotFound("no such relationship")
        if not can_read(principal, row.mentor_id, row.mentee_id):
            raise Forbidden("only the pair and overseers see this relationship")
        if as_of is None:
            facts = domain.RelationshipFacts.from_json(json.loads(row.facts))
            moment = utcnow()
        else:
            moment = datetime.combine(as_of, time.max, tzinfo=UTC)
            history = await fact_log.replay(conn, principal.tenant, moment)
            folded = domain.fold([(e.type, e.data, e.time) for e in history])
            facts = folded.get(relationship_id) or domain.RelationshipFacts(
                relationship_id
            )
    return _view(row, domain.assess(facts, moment, idle_days=book.idle_days))


async def _erase(
    conn: AsyncConnection, tenant: str, person_id: str, pseudonym: str
) -> None:
    """The other side keeps the relationship's health; the person is a pseudonym."""
    rows = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM relationship_health WHERE tenant = :t "
            "AND (mentor_id = :p OR mentee_id = :p)"
        ),
        {"t": tenant, "p": person_id},
    )
    for row in rows.all():
        facts = replace_id(json.loads(row.facts), person_id, pseudonym)
        await conn.execute(
            text(
                "UPDATE relationship_health SET mentor_id = :mentor, "
                "mentee_id = :mentee, facts = :f "
                "WHERE tenant = :t AND relationship_id = :r"
            ),
            {
                "t": tenant,
                "r": row.relationship_id,
                "mentor": pseudonym if row.mentor_id == person_id else row.mentor_id,
                "mentee": pseudonym if row.mentee_id == person_id else row.mentee_id,
                "f": json.dumps(facts, separators=(",", ":")),
            },
        )


async def _reset(conn: AsyncConnection, tenant: str | None) -> None:
    if tenant is None:
        await conn.execute(text("DELETE FROM relationship_health"))
    else:
        await conn.execute(
            text("DELETE FROM relationship_health WHERE tenant = :t"), {"t": tenant}
        )


def install(app: Any, runtime: Any) -> None:
    """Add the health read model, its handlers, the hourly sweep and the routes."""
    book = HealthBook(runtime, app.state.settings.idle_days_to_flag)
    app.state.health = book
    app.state.schema_setups.append(create_schema)
    for kind in HANDLED:
        app.state.fact_handlers[kind].append(book.on_fact)
    app.state.stores["relationship_health"] = _erase
    app.state.resetters.append(_reset)
    # Imported here: the batch fold builds on this module.
    from services.insights.health_batch import HealthBatch

    app.state.rebuilders.append(
        rebuild.Rebuilder(frozenset({book.on_fact}), lambda: HealthBatch(book))
    )
    runtime.every("health-sweep", book.sweep, 3600)
    impact.install(app, runtime)
