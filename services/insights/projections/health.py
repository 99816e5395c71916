"""Relationship health: the ``relationship_health`` read model and early warnings.

Each relevant fact is folded into the relationship's row (its facts as JSON) and the
health is re-assessed as of now (``domain.health`` documents states and thresholds).
When it worsens, or the relationship goes idle past ``idle_days_to_flag``, an
``EarlyWarningRaised`` is appended to insights' own event store (stream
``health-<tenant>-<relationship id>``) in the consumer's transaction; the relay
publishes it on ``tandem.insights.v1``. What was already raised is read back from
that stream, so redelivery, the hourly sweep and a rebuild never raise the same
warning twice.

A rebuild folds the facts in memory instead (``HealthBatch``), with the same
``domain.health.Folder`` in the same order.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Text, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.errors import ConcurrencyConflict
from chassis.events import EventMetadata, NewEvent, RecordedEvent, utcnow
from chassis.eventstore import EventStore
from chassis.eventstore.base import SELECT_COLUMNS, row_to_event
from chassis.eventstore.batch import StreamAppend, append_groups
from contracts.insights import EarlyWarningRaised, RelationshipHealthChanged
from services.insights.domain import health as domain
from services.insights.domain.erasure import replace_id
from services.insights.projections.aside import Aside
from services.insights.projections.facts import NAMED, Kept, copy_in, is_id
from services.insights.projections.tables import relationship_health as table

log = logging.getLogger(__name__)
STREAM_TYPE = "RelationshipHealth"
HANDLED = domain.HANDLED
HANDLED_SET = frozenset(HANDLED)
COLUMNS = (
    "tenant, relationship_id, pairing_id, mentor_id, mentee_id, cohort_id, state, "
    "reasons, idle, facts, assessed_at"
)
COLUMN_NAMES = tuple(COLUMNS.split(", "))
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
# The same for many rows in one statement (PostgreSQL): arrays, not one parameter
# set per row (which SQLAlchemy converts one by one).
UPSERT_MANY = text(
    f"INSERT INTO relationship_health ({COLUMNS}) "
    "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:r AS text[]), "
    "CAST(:p AS text[]), CAST(:mentor AS text[]), CAST(:mentee AS text[]), "
    "CAST(:c AS text[]), CAST(:s AS text[]), CAST(:reasons AS text[]), "
    "CAST(:idle AS integer[]), CAST(:f AS text[]), CAST(:at AS text[])) "
    "ON CONFLICT (tenant, relationship_id) DO UPDATE SET "
    "pairing_id = excluded.pairing_id, mentor_id = excluded.mentor_id, "
    "mentee_id = excluded.mentee_id, cohort_id = excluded.cohort_id, "
    "state = excluded.state, reasons = excluded.reasons, "
    "idle = excluded.idle, facts = excluded.facts, "
    "assessed_at = excluded.assessed_at"
)
UPSERT_KEYS = (
    "t",
    "r",
    "p",
    "mentor",
    "mentee",
    "c",
    "s",
    "reasons",
    "idle",
    "f",
    "at",
)
# The rows a batch touches: one statement text whatever their number (PostgreSQL).
READ_TOUCHED = text(
    f"SELECT {COLUMNS} FROM relationship_health "
    "WHERE tenant = ANY(CAST(:ts AS text[])) AND (relationship_id = "
    "ANY(CAST(:rs AS text[])) OR pairing_id = ANY(CAST(:ps AS text[])))"
)
READ_TOUCHED_SQLITE = text(
    f"SELECT {COLUMNS} FROM relationship_health WHERE tenant IN :ts "
    "AND (relationship_id IN :rs OR pairing_id IN :ps)"
).bindparams(
    bindparam("ts", expanding=True, type_=Text()),
    bindparam("rs", expanding=True, type_=Text()),
    bindparam("ps", expanding=True, type_=Text()),
)
PAIRINGS_ENDED_BY_ID = text(
    f"SELECT f.event_id, f.tenant, f.occurred_at, f.data FROM {NAMED} "
    "WHERE p.person_id = ANY(CAST(:ids AS text[])) "
    "AND f.tenant = ANY(CAST(:ts AS text[])) AND f.type = 'PairingEnded'"
)
PAIRINGS_ENDED = text(
    "SELECT event_id, tenant, occurred_at, data FROM facts "
    "WHERE tenant = ANY(CAST(:ts AS text[])) AND type = 'PairingEnded' "
    "AND data LIKE ANY(CAST(:likes AS text[]))"
)


async def upsert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """``UPSERT`` of each row (distinct keys): one statement on PostgreSQL."""
    if not rows:
        return
    if is_sqlite(conn.engine):
        await conn.execute(UPSERT, rows)
        return
    await conn.execute(UPSERT_MANY, {k: [r[k] for r in rows] for k in UPSERT_KEYS})


# ``json.dumps(value, separators=(",", ":"))`` with one encoder (with options,
# ``json.dumps`` builds an encoder per call).
_compact = json.JSONEncoder(separators=(",", ":")).encode
READ_HEALTH_STREAMS = text(
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream_type = :st "
    "ORDER BY stream_id, version"
)


# -- reading the table ----------------------------------------------------------------


async def relationship(conn: AsyncConnection, tenant: str, rid: str) -> Row[Any] | None:
    """One relationship's row, or None."""
    found = await conn.execute(
        select(table).where(table.c.tenant == tenant, table.c.relationship_id == rid)
    )
    return found.first()


async def relationships(
    conn: AsyncConnection,
    tenant: str,
    *,
    state: str | None = None,
    cohort_id: str | None = None,
) -> list[Row[Any]]:
    """The tenant's rows, optionally in one state or cohort, by relationship id."""
    query = select(table).where(table.c.tenant == tenant)
    if state:
        query = query.where(table.c.state == state)
    if cohort_id:
        query = query.where(table.c.cohort_id == cohort_id)
    return list((await conn.execute(query.order_by(table.c.relationship_id))).all())


async def relationships_in(
    conn: AsyncConnection, tenant: str, ids: Sequence[str]
) -> list[Row[Any]]:
    """The tenant's rows of ``ids`` (those that exist)."""
    if not ids:
        return []
    query = select(table).where(
        table.c.tenant == tenant, table.c.relationship_id.in_(list(ids))
    )
    return list((await conn.execute(query)).all())


def facts_of(row: Row[Any]) -> domain.RelationshipFacts:
    """The relationship's folded facts kept in its row."""
    return domain.RelationshipFacts.from_json(json.loads(row.facts))


# -- keeping it -----------------------------------------------------------------------


async def _pairing_ended(
    conn: AsyncConnection, tenant: str, pairing_id: str
) -> list[tuple[Any, dict[str, Any]]]:
    """The ``PairingEnded`` facts already kept for ``pairing_id``."""
    key = (tenant, pairing_id)
    return (await _pairings_ended(conn, {key}, set())).get(key, [])


async def _pairings_ended(
    conn: AsyncConnection, pairings: set[tuple[str, Any]], besides: set[str]
) -> dict[tuple[str, Any], list[tuple[Any, dict[str, Any]]]]:
    """``_pairing_ended`` of each (tenant, pairing), leaving out the
    facts ``besides`` (those of the batch being applied)."""
    if not pairings:
        return {}
    likes = {
        f"p{n}": f'%"pairing_id":{json.dumps(p)}%' for n, (_, p) in enumerate(pairings)
    }
    tenants = sorted({t for t, _ in pairings})
    rows: list[Any] = []
    if is_sqlite(conn.engine):
        by_text = await conn.execute(
            text(
                "SELECT event_id, tenant, occurred_at, data FROM facts "
                "WHERE tenant IN :ts AND type = 'PairingEnded' AND ("
                + " OR ".join(f"data LIKE :{k}" for k in likes)
                + ")"
            ).bindparams(bindparam("ts", expanding=True)),
            {"ts": tenants, **likes},
        )
        rows.extend(by_text.all())
    else:  # one statement text whatever their number
        # An id as Tandem issues them is found through the index of what facts name
        # (the tenant's ended pairings are not read through); another, by its text.
        ids = {p for _, p in pairings if isinstance(p, str) and is_id(p)}
        others = {
            f'%"pairing_id":{json.dumps(p)}%' for _, p in pairings if p not in ids
        }
        if ids:
            by_id = await conn.execute(
                PAIRINGS_ENDED_BY_ID, {"ts": tenants, "ids": sorted(ids)}
            )
            rows.extend(by_id.all())
        if others:
            by_text = await conn.execute(
                PAIRINGS_ENDED, {"ts": tenants, "likes": sorted(others)}
            )
            rows.extend(by_text.all())
    found: dict[tuple[str, Any], list[tuple[Any, dict[str, Any]]]] = {}
    for event_id, tenant, at, data in rows:
        parsed = json.loads(data)
        key = (tenant, parsed.get("pairing_id"))
        if event_id not in besides and key in pairings:
            found.setdefault(key, []).append((at, parsed))
    return found


def stream_of(tenant: str, relationship_id: str) -> str:
    # The tenant is part of the id: relationship ids are only unique per tenant.
    return f"health-{tenant}-{relationship_id}"


def row_params(
    tenant: str,
    facts: domain.RelationshipFacts,
    health: domain.Health,
    assessed_at: str | None = None,
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
        "f": _compact(facts.to_json()),
        "at": assessed_at or utcnow().isoformat(),
    }


Memory = tuple[str | None, int, bool]  # last state, rank warned, idle warned
FORGOTTEN: Memory = (None, 0, False)


def remember(memory: Memory, event_type: str, data: dict[str, Any]) -> Memory:
    """The memory after one more event of the stream."""
    last_state, warned_rank, idle_warned = memory
    if event_type == "RelationshipHealthChanged":
        last_state = data["to_state"]
        if domain.RANK.get(last_state or "", 0) == 0:
            warned_rank, idle_warned = 0, False
    elif event_type == "EarlyWarningRaised":
        level = data["level"]
        if level == "idle":
            idle_warned = True
        else:
            warned_rank = max(warned_rank, domain.RANK[level])
    return last_state, warned_rank, idle_warned


def memory(stream: Sequence[RecordedEvent]) -> Memory:
    """(last state, rank already warned, idle already warned) from the stream.

    A return to a healthy state clears what was warned, so a later relapse warns again.
    """
    remembered = FORGOTTEN
    for recorded in stream:
        remembered = remember(remembered, recorded.event_type, recorded.data)
    return remembered


def changes(
    facts: domain.RelationshipFacts,
    health: domain.Health,
    remembered: Memory,
    *,
    hold: bool = False,
) -> list[RelationshipHealthChanged | EarlyWarningRaised]:
    """What to append to the relationship's stream, given what it remembers;
    ``hold``: its past is still being written, no warning yet (the state change is
    recorded all the same)."""
    last_state, warned_rank, idle_warned = remembered
    new: list[RelationshipHealthChanged | EarlyWarningRaised] = []
    if health.state != last_state:
        new.append(
            RelationshipHealthChanged(
                relationship_id=facts.relationship_id,
                from_state=last_state,
                to_state=health.state,
                reasons=health.reasons,
            )
        )
    if hold:
        return new
    if domain.RANK[health.state] > warned_rank:
        new.append(_warning(facts, health.state, health.reasons))
    if health.idle and not idle_warned:
        idle = [r for r in health.reasons if r.startswith("idle_for_")]
        new.append(_warning(facts, "idle", idle))
    return new


def _metadata(tenant: str, cause: Envelope | None) -> EventMetadata:
    return EventMetadata(
        tenant=tenant,
        actor="insights",
        correlation_id=cause.correlation_id if cause else None,
        causation_id=cause.id if cause else None,
    )


class HealthBook:
    """Keeps ``relationship_health`` and raises warnings; one per process."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        idle_days: int,
        history_grace_s: float = 600.0,
    ) -> None:
        self.engine = engine
        self.store = store
        self.idle_days = idle_days
        self.history_grace_s = history_grace_s
        # The last moment a fact dated in the past was seen recorded, per tenant.
        self._tenant_history: dict[str, datetime] = {}

    def assess(self, facts: domain.RelationshipFacts, as_of: datetime) -> domain.Health:
        return domain.assess(facts, as_of, idle_days=self.idle_days)

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
        row = await relationship(conn, env.tenant, rid)
        facts = facts_of(row) if row else domain.RelationshipFacts(rid)
        domain.apply(facts, env.type, env.data, env.time)
        if env.type == "RelationshipStarted" and facts.pairing_id:
            # The pairing may have ended before this arrived (another stream, another
            # partition): its PairingEnded found no relationship then; apply it now.
            for at, data in await _pairing_ended(conn, env.tenant, facts.pairing_id):
                domain.apply(facts, "PairingEnded", data, at)
        await self._settle(conn, env.tenant, facts, cause=env)

    def _writing_history(
        self, facts: domain.RelationshipFacts, tenant: str | None = None
    ) -> bool:
        """Whether the relationship's past is still being written: a fact dated in
        the past was recorded less than ``history_grace_s`` ago, for it or (a
        programme's history arrives relationship by relationship) for another
        relationship of its tenant while it has a past of its own. Its state is kept
        honestly meanwhile, but no early warning is raised (matching acts on them: a
        relationship brought over from last year, its sessions still arriving, is
        not stalled); the sweep raises what is still due once the history is in.
        A relationship with no fact dated in the past is never held."""
        if facts.history_recorded_at is None:
            return False
        recorded = domain.moment(facts.history_recorded_at)
        if tenant is not None:
            last = self._tenant_history.get(tenant)
            if last is None or recorded > last:
                self._tenant_history[tenant] = recorded
            else:
                recorded = last
        since = utcnow() - recorded
        return since.total_seconds() < self.history_grace_s

    async def sweep(self) -> None:
        """Re-assess every live relationship as of now (time passing makes idle)."""
        async with self.engine.connect() as conn:
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
                async with self.engine.begin() as conn:
                    row = await relationship(conn, tenant, rid)
                    if row is None:
                        continue
                    await self._settle(conn, tenant, facts_of(row))
            except ConcurrencyConflict:
                log.info("health sweep: %s moved on meanwhile; next sweep", rid)

    async def _settle(
        self,
        conn: AsyncConnection,
        tenant: str,
        facts: domain.RelationshipFacts,
        cause: Envelope | None = None,
    ) -> None:
        health = self.assess(facts, utcnow())
        await conn.execute(UPSERT, row_params(tenant, facts, health))
        await self.warn(conn, tenant, facts, health, cause)

    async def warn(
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
            stream = await self.store.read_stream(
                stream_id, tenant=tenant, connection=conn
            )
        new = changes(
            facts, health, memory(stream), hold=self._writing_history(facts, tenant)
        )
        if not new:
            return
        await self.store.append(
            stream_id=stream_id,
            stream_type=STREAM_TYPE,
            expected_version=stream[-1].version if stream else 0,
            events=[NewEvent.of(p) for p in new],
            metadata=_metadata(tenant, cause),
            connection=conn,
        )

    async def on_facts(self, envs: Sequence[Envelope], conn: AsyncConnection) -> None:
        """``on_fact`` of each fact in turn, with statements that do not grow with
        them: the rows they touch (and those of the pairings they end) read in one
        statement, each fact folded and assessed in memory in order, every touched
        row written once, the streams of those that may warn read in one statement,
        and what each fact makes them say appended as ``on_fact`` appends it."""
        tenants = sorted({env.tenant for env in envs})
        rids = {str(r) for env in envs if (r := env.data.get("relationship_id"))}
        ended = [env for env in envs if env.type == "PairingEnded"]
        pairings = {str(env.data.get("pairing_id")) for env in ended}
        started = {
            (env.tenant, env.data["pairing_id"])
            for env in envs
            if env.type == "RelationshipStarted" and env.data.get("pairing_id")
        }
        sqlite = is_sqlite(conn.engine)
        known: dict[tuple[str, str], domain.RelationshipFacts] = {}
        by_pairing: dict[tuple[str, Any], str] = {}
        for row in await conn.execute(
            READ_TOUCHED_SQLITE if sqlite else READ_TOUCHED,
            {"ts": tenants, "rs": sorted(rids), "ps": sorted(pairings)},
        ):
            known[(row.tenant, row.relationship_id)] = facts_of(row)
            if row.pairing_id is not None:
                by_pairing.setdefault((row.tenant, row.pairing_id), row.relationship_id)
        # PairingEnded facts kept before this batch, for the relationships it starts.
        before = await _pairings_ended(conn, started, {env.id for env in envs})
        now = utcnow()
        settled: dict[tuple[str, str], domain.Health | None] = {}
        told: list[tuple[str, domain.RelationshipFacts, domain.Health, Envelope]] = []
        for env in envs:
            tenant = env.tenant
            rid = env.data.get("relationship_id")
            if env.type == "PairingEnded":
                pairing = env.data.get("pairing_id")
                # As ``_pairing_ended`` reads it back once kept (``facts.record``).
                at = env.time.isoformat() if sqlite else env.time.astimezone(UTC)
                before.setdefault((tenant, pairing), []).append((at, env.data))
                rid = by_pairing.get((tenant, pairing))
            if not rid:
                continue
            facts = known.setdefault((tenant, rid), domain.RelationshipFacts(rid))
            domain.apply(facts, env.type, env.data, env.time)
            if env.type == "RelationshipStarted" and facts.pairing_id:
                for at, data in before.get((tenant, facts.pairing_id), ()):
                    domain.apply(facts, "PairingEnded", data, at)
            if facts.pairing_id:
                by_pairing.setdefault((tenant, facts.pairing_id), rid)
            if facts.mentor_id and facts.mentee_id:  # what it says now may warn
                health = self.assess(facts, now)
                settled[(tenant, rid)] = health
                told.append((tenant, copy.copy(facts), health, env))  # its ids now
            else:  # only its last health is kept: assessed once, below
                settled[(tenant, rid)] = None
        stamp = utcnow().isoformat()  # when the batch's rows were assessed
        await upsert(
            conn,
            [
                row_params(
                    tenant,
                    known[(tenant, rid)],
                    health or self.assess(known[(tenant, rid)], now),
                    stamp,
                )
                for (tenant, rid), health in settled.items()
            ],
        )
        await self._warn_many(conn, told)

    async def _warn_many(
        self,
        conn: AsyncConnection,
        told: list[tuple[str, domain.RelationshipFacts, domain.Health, Envelope]],
    ) -> None:
        """``warn`` of each assessment in turn, the streams read in one statement."""
        if not told:
            return
        ids = {stream_of(t, f.relationship_id): t for t, f, _, _ in told}
        streams = await self.store.read_streams(list(ids), connection=conn)
        remembered: dict[str, Memory] = {}
        versions: dict[str, int] = {}
        for sid, tenant in ids.items():
            stream = streams.get(sid, [])
            if stream and stream[0].tenant != tenant:
                stream = []  # another tenant's stream reads empty (``read_stream``)
            remembered[sid] = memory(stream)
            versions[sid] = stream[-1].version if stream else 0
        for tenant, facts, health, cause in told:
            sid = stream_of(tenant, facts.relationship_id)
            new = changes(
                facts,
                health,
                remembered[sid],
                hold=self._writing_history(facts, tenant),
            )
            if not new:
                continue
            events = [NewEvent.of(p) for p in new]
            await self.store.append(
                stream_id=sid,
                stream_type=STREAM_TYPE,
                expected_version=versions[sid],
                events=events,
                metadata=_metadata(tenant, cause),
                connection=conn,
            )
            versions[sid] += len(events)
            for event in events:
                remembered[sid] = remember(
                    remembered[sid], event.event_type, event.data
                )


def _warning(
    facts: domain.RelationshipFacts, level: str, reasons: list[str]
) -> EarlyWarningRaised:
    return EarlyWarningRaised.model_validate(
        {
            "relationship_id": facts.relationship_id,
            "mentor_id": facts.mentor_id or "",
            "mentee_id": facts.mentee_id or "",
            "level": level,
            "reasons": reasons,
        }
    )


# A rebuild's rows of ``relationship_health`` and what the warnings read
# (``HealthBatch._assessed``).
Assessed = tuple[
    list[dict[str, Any]], list[tuple[str, domain.RelationshipFacts, domain.Health]]
]


class HealthBatch:
    """A rebuild's fold of ``relationship_health`` (``read_models.Rebuilder``).

    Folds each relationship's facts in memory exactly as ``HealthBook.on_fact`` does
    fact by fact (the same ``domain.Folder``, in the same order), then assesses each
    relationship once, as of now (all of that in a forked child, ``aside.py``, while
    the parent reads the ``health-…`` streams in one query), writes all rows in one
    ``COPY`` and settles warnings against those streams.

    Warnings: only the relationship's health now is compared with what its stream
    already says (``memory``). Replaying fact by fact, by contrast, assessed every
    half-folded history as of now: a relationship seen with its start but not yet its
    sessions looked stalled, was "warned", then healed (which clears the memory) and
    was warned again at its real state: warnings already raised were raised again.
    """

    def __init__(self, book: HealthBook) -> None:
        self.book = book
        self.folders: dict[str, domain.Folder] = {}  # per tenant
        self.aside: Aside[Assessed] | None = None  # ``begin``

    def fold(self, facts: Sequence[Kept]) -> None:
        folders = self.folders
        for f in facts:
            if f.type in HANDLED_SET:
                folder = folders.get(f.tenant)
                if folder is None:
                    folder = folders[f.tenant] = domain.Folder()
                folder.add(f.type, f.data, f.time, f.at)

    def begin(self, history: Sequence[Kept]) -> bool:
        """Folded and assessed from the whole history on the other core
        (``aside.py``) while the rest of the rebuild goes on; the warnings are
        settled here, in the transaction, once that is done (``write``)."""
        self.aside = Aside(lambda: self._assessed(history), inline=not history)
        return True

    def _assessed(self, history: Sequence[Kept]) -> Assessed:
        """Every relationship's row (``UPSERT`` parameters) and, for those started,
        (tenant, facts, health) as the warnings read them, in the fold's order."""
        self.fold(history)
        now = utcnow()
        stamp = now.isoformat()
        rows: list[dict[str, Any]] = []
        started: list[tuple[str, domain.RelationshipFacts, domain.Health]] = []
        for tenant, folder in self.folders.items():
            for facts in folder.relationships.values():
                health = self.book.assess(facts, now)
                rows.append(row_params(tenant, facts, health, stamp))
                if facts.mentor_id and facts.mentee_id:  # else ``warn`` says nothing
                    started.append((tenant, facts, health))
        return rows, started

    def close(self) -> None:
        if self.aside is not None:
            self.aside.close()

    async def write(self, conn: AsyncConnection) -> None:
        if self.aside is None:  # folded here
            self.aside = Aside(lambda: self._assessed([]), inline=True)
        # What the streams say already, read while the rows are computed aside.
        streams: dict[str, list[RecordedEvent]] = {}
        for row in await conn.execute(READ_HEALTH_STREAMS, {"st": STREAM_TYPE}):
            event = row_to_event(row)
            streams.setdefault(event.stream_id, []).append(event)
        rows, assessed = await self.aside.result()
        if is_sqlite(conn.engine):
            await upsert(conn, rows)
        else:  # all new: the resetter cleared the rebuild's scope
            await copy_in(
                conn,
                "relationship_health",
                COLUMN_NAMES,
                [tuple(r[k] for k in UPSERT_KEYS) for r in rows],
            )
        # What each relationship's stream lacks, every tenant's in one multi-stream
        # append (``append_groups``: a group per tenant) instead of one append each.
        appends: dict[str, list[StreamAppend]] = {}
        for tenant, facts, health in assessed:
            stream_id = stream_of(tenant, facts.relationship_id)
            stream = streams.get(stream_id, [])
            new = changes(
                facts,
                health,
                memory(stream),
                hold=self.book._writing_history(facts, tenant),
            )
            if new:
                appends.setdefault(tenant, []).append(
                    StreamAppend(
                        stream_id,
                        STREAM_TYPE,
                        stream[-1].version if stream else 0,
                        [NewEvent.of(p) for p in new],
                    )
                )
        await append_groups(
            self.book.store,
            [(_metadata(tenant, None), batch) for tenant, batch in appends.items()],
            connection=conn,
        )


# -- erasure and rebuild --------------------------------------------------------------


async def erase(
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


async def reset(conn: AsyncConnection, tenant: str | None) -> None:
    """Clear the table for a rebuild: one tenant's rows, or (None) every tenant's."""
    query = delete(table)
    if tenant is not None:
        query = query.where(table.c.tenant == tenant)
    await conn.execute(query)


# What a migration that refolds the kept facts needs (migrations read the domain
# through the projections: tests/test_architecture.py).
HANDLED = domain.HANDLED
fold = domain.fold
