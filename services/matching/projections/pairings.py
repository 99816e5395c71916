"""Current state of pairings, overrides and dismissals (rebuildable from the events),
and the reads over it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.db import fetch_rows, is_sqlite
from chassis.events import EventPayload, RecordedEvent
from services.matching.projections import pairing_texts

# An erased person's pairings keep their ids (no personal data) for the programme's
# history; what they chose or were kept from goes.
PERSON_TABLES: list[tuple[str, str]] = [
    ("forbidden_pairs", "mentor_id"),
    ("forbidden_pairs", "mentee_id"),
    ("dismissed_suggestions", "mentee_id"),
    ("dismissed_suggestions", "mentor_id"),
    *pairing_texts.PERSON_TABLES,
]

STATE_OF = {
    "PairingApproved": "approved",
    "PairingConfirmed": "confirmed",
    "PairingDeclined": "declined",
    "PairingExpired": "expired",
    "PairingWithdrawn": "withdrawn",
    "PairingEnded": "ended",
}


INSERT_PROPOSED = text(
    "INSERT INTO pairings (pairing_id, tenant, round_id, cohort_id, mentor_id, "
    "mentee_id, programme_type, state, score, parts, replaces, reason, "
    "expires_at, proposed_at, updated_at) VALUES (:id, :t, :round, :cohort, "
    ":mentor, :mentee, :type, 'proposed', :score, :parts, :replaces, :reason, "
    ":expires, :at, :at)"
)


# The same rows in one statement on PostgreSQL: one array per column, whatever the
# number of proposals (a round's thousands), instead of a statement per row.
INSERT_PROPOSED_MANY = text(
    "INSERT INTO pairings (pairing_id, tenant, round_id, cohort_id, mentor_id, "
    "mentee_id, programme_type, state, score, parts, replaces, reason, "
    "expires_at, proposed_at, updated_at) "
    "SELECT id, t, round, cohort, mentor, mentee, type, 'proposed', score, parts, "
    "replaces, reason, expires, at, at FROM unnest("
    "CAST(:id AS text[]), CAST(:t AS text[]), CAST(:round AS text[]), "
    "CAST(:cohort AS text[]), CAST(:mentor AS text[]), CAST(:mentee AS text[]), "
    "CAST(:type AS text[]), CAST(:score AS float8[]), CAST(:parts AS text[]), "
    "CAST(:replaces AS text[]), CAST(:reason AS text[]), "
    "CAST(:expires AS timestamptz[]), CAST(:at AS timestamptz[])) "
    "AS r(id, t, round, cohort, mentor, mentee, type, score, parts, replaces, "
    "reason, expires, at)"
)


async def insert_proposed(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """``INSERT_PROPOSED`` of every row: one statement (PostgreSQL) or executemany."""
    if len(rows) == 1 or is_sqlite(conn.engine):
        await conn.execute(INSERT_PROPOSED, rows)
        return
    await conn.execute(
        INSERT_PROPOSED_MANY,
        {column: [row[column] for row in rows] for column in rows[0]},
    )


def _proposed_row(r: RecordedEvent, p: Any) -> dict[str, Any]:
    """The ``pairings`` row of a ``PairingProposed``, as ``INSERT_PROPOSED`` takes it."""
    return {
        "id": p.pairing_id,
        "t": r.tenant,
        "round": p.round_id,
        "cohort": p.cohort_id,
        "mentor": p.mentor_id,
        "mentee": p.mentee_id,
        "type": p.programme_type,
        "score": p.score if p.score is not None else 0.0,  # never scored
        # The parts as the event holds them, encoded for it already.
        "parts": json.dumps(r.data["parts"])
        if isinstance(r.data.get("parts"), list)
        else json.dumps([part.model_dump() for part in p.parts]),
        "replaces": p.replaces,
        "reason": p.reason,
        "expires": p.expires_at,
        "at": r.time,
    }


class PairingsProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        proposed: list[dict[str, Any]] = []  # a run of proposals: one executemany
        for recorded, payload in events:
            kind = recorded.event_type
            if kind == "PairingProposed":
                proposed.append(_proposed_row(recorded, payload))
                continue
            if proposed:
                await insert_proposed(conn, proposed)
                proposed = []
            if kind in STATE_OF:
                await self._state(recorded, STATE_OF[kind], conn)
                if kind == "PairingApproved":
                    await self._starts_on(recorded, payload, conn)
            elif kind == "PairingAccepted":
                await self._accepted(recorded, payload, conn)
            elif kind == "PairForbidden":
                await conn.execute(
                    text(
                        "INSERT INTO forbidden_pairs (tenant, mentor_id, mentee_id, reason) "
                        "VALUES (:t, :m, :e, :r) ON CONFLICT DO NOTHING"
                    ),
                    {
                        "t": recorded.tenant,
                        "m": payload.mentor_id,  # type: ignore[attr-defined]
                        "e": payload.mentee_id,  # type: ignore[attr-defined]
                        "r": payload.reason,  # type: ignore[attr-defined]
                    },
                )
            elif kind == "SuggestionDismissed":
                await conn.execute(
                    text(
                        "INSERT INTO dismissed_suggestions (tenant, mentee_id, mentor_id) "
                        "VALUES (:t, :e, :m) ON CONFLICT DO NOTHING"
                    ),
                    {
                        "t": recorded.tenant,
                        "e": payload.mentee_id,  # type: ignore[attr-defined]
                        "m": payload.mentor_id,  # type: ignore[attr-defined]
                    },
                )
        if proposed:
            await insert_proposed(conn, proposed)

    async def _state(self, r: RecordedEvent, state: str, conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                "UPDATE pairings SET state = :s, updated_at = :at WHERE pairing_id = :id"
            ),
            {"s": state, "at": r.time, "id": r.stream_id},
        )

    async def _starts_on(self, r: RecordedEvent, p: Any, conn: AsyncConnection) -> None:
        await conn.execute(
            text("UPDATE pairings SET starts_on = :d WHERE pairing_id = :id"),
            {
                "d": p.starts_on.isoformat() if p.starts_on else None,
                "id": r.stream_id,
            },
        )

    async def _accepted(self, r: RecordedEvent, p: Any, conn: AsyncConnection) -> None:
        row = (
            await conn.execute(
                text("SELECT accepted_by FROM pairings WHERE pairing_id = :id"),
                {"id": r.stream_id},
            )
        ).first()
        accepted = sorted({*json.loads(row.accepted_by), p.person_id}) if row else []
        await conn.execute(
            text(
                "UPDATE pairings SET accepted_by = :a, updated_at = :at "
                "WHERE pairing_id = :id"
            ),
            {"a": json.dumps(accepted), "at": r.time, "id": r.stream_id},
        )


def pairing_view(row: Any) -> dict[str, Any]:
    return {
        "pairing_id": row.pairing_id,
        "round_id": row.round_id,
        "cohort_id": row.cohort_id,
        "mentor_id": row.mentor_id,
        "mentee_id": row.mentee_id,
        "programme_type": row.programme_type,
        "state": row.state,
        "score": row.score,
        "parts": json.loads(row.parts),
        "accepted_by": json.loads(row.accepted_by),
        "replaces": row.replaces,
        "reason": row.reason,
        "expires_at": row.expires_at
        if isinstance(row.expires_at, str)
        else row.expires_at.isoformat(),
        "starts_on": row.starts_on,
    }


# -- reads ----------------------------------------------------------------------------


def _stamp(engine: AsyncEngine, value: datetime) -> Any:
    return value.isoformat() if is_sqlite(engine) else value


async def row_of(engine: AsyncEngine, tenant: str, pairing_id: str) -> Any | None:
    """The pairing's row in ``tenant``, or None."""
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT * FROM pairings WHERE pairing_id = :id AND tenant = :t"),
                {"id": pairing_id, "t": tenant},
            )
        ).first()


async def rows_of(
    engine: AsyncEngine,
    tenant: str,
    *,
    person_id: str | None = None,
    round_id: str | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[Any]:
    """The tenant's pairings, filtered, oldest proposal first."""
    where, params = ["tenant = :t"], {"t": tenant, "limit": limit}
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
    return list(await fetch_rows(engine, text(sql), params))


# A list as it is answered, in one statement (PostgreSQL): the rows with their
# explanation and the notes the caller may read (``:reader``: all of them; else
# only the caller's), a note's time in microseconds since 1970 (exact, whatever the
# session's time zone).
ANSWERS = (
    "SELECT p.pairing_id, p.round_id, p.cohort_id, p.mentor_id, p.mentee_id, "
    "p.programme_type, p.state, p.score, p.parts, p.accepted_by, p.replaces, "
    "p.reason, p.expires_at, p.starts_on, e.reasons, n.notes FROM pairings p "
    "LEFT JOIN pairing_explanations e "
    "ON e.pairing_id = p.pairing_id AND e.tenant = p.tenant "
    "LEFT JOIN LATERAL (SELECT json_agg(json_build_object('action', action, "
    "'code', code, 'author_id', author_id, 'text', body, 'us', "
    "(extract(epoch FROM written_at) * 1000000)::bigint) "
    "ORDER BY written_at, note_id) AS notes FROM pairing_notes "
    "WHERE tenant = p.tenant AND pairing_id = p.pairing_id "
    "AND (:reader OR author_id = :who)) n ON true "
    "WHERE {where} ORDER BY p.proposed_at, p.pairing_id LIMIT :limit"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def answers_of(
    engine: AsyncEngine,
    principal: Principal,
    *,
    person_id: str | None = None,
    round_id: str | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """``rows_of`` as ``GET /pairings`` answers them (``pairing_texts.answered``):
    in one statement on PostgreSQL, in three on SQLite (``read_into``'s)."""
    if is_sqlite(engine):
        found = await rows_of(
            engine,
            principal.tenant,
            person_id=person_id,
            round_id=round_id,
            state=state,
            limit=limit,
        )
        shown = [pairing_view(r) for r in found]
        texts = await pairing_texts.texts_of(
            engine, principal, [v["pairing_id"] for v in shown]
        )
        return pairing_texts.answered(shown, *texts)
    where = ["p.tenant = :t"]
    params: dict[str, Any] = {
        "t": principal.tenant,
        "limit": limit,
        "reader": principal.has_role(*pairing_texts.NOTE_READERS),
        "who": principal.subject,
    }
    if person_id:
        where.append("(p.mentor_id = :p OR p.mentee_id = :p)")
        params["p"] = person_id
    if round_id:
        where.append("p.round_id = :r")
        params["r"] = round_id
    if state:
        where.append("p.state = :s")
        params["s"] = state
    sql = text(ANSWERS.format(where=" AND ".join(where)))
    rows = await fetch_rows(engine, sql, params)
    views: list[dict[str, Any]] = []
    said: dict[str, dict[str, str]] = {}
    notes: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        views.append(pairing_view(r))
        if r.reasons:
            said[r.pairing_id] = json.loads(r.reasons)
        if r.notes:
            kept = r.notes if isinstance(r.notes, list) else json.loads(r.notes)
            notes[r.pairing_id] = [
                {
                    "action": n["action"],
                    "code": n["code"],
                    "author_id": n["author_id"],
                    "text": n["text"],
                    "written_at": (EPOCH + timedelta(microseconds=n["us"])).isoformat(),
                }
                for n in kept
            ]
    return pairing_texts.answered(views, said, notes)


async def rows_by_ids(
    engine: AsyncEngine, tenant: str, ids: Sequence[str]
) -> list[Any]:
    """The tenant's pairings among ``ids`` (unknown ids left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    marks = ", ".join(f":id{n}" for n in range(len(wanted)))
    params: dict[str, Any] = {f"id{n}": v for n, v in enumerate(wanted)}
    params["t"] = tenant
    return list(
        await fetch_rows(
            engine,
            text(
                f"SELECT * FROM pairings WHERE tenant = :t AND pairing_id IN ({marks})"
            ),
            params,
        )
    )


async def open_between(
    engine: AsyncEngine, tenant: str, mentor_id: str, mentee_id: str
) -> list[str]:
    """The open proposals (proposed or approved) of this mentor and mentee."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pairing_id FROM pairings WHERE tenant = :t AND mentor_id = :m "
                "AND mentee_id = :e AND state IN ('proposed', 'approved')"
            ),
            {"t": tenant, "m": mentor_id, "e": mentee_id},
        )
        return [r.pairing_id for r in rows]


async def live_of(conn: AsyncConnection, tenant: str, person_id: str) -> list[str]:
    """The person's live pairings (either side), in ``conn``."""
    rows = await conn.execute(
        text(
            "SELECT pairing_id FROM pairings WHERE tenant = :t "
            "AND (mentor_id = :p OR mentee_id = :p) "
            "AND state IN ('proposed', 'approved', 'confirmed') ORDER BY pairing_id"
        ),
        {"t": tenant, "p": person_id},
    )
    return [r.pairing_id for r in rows]


async def due(engine: AsyncEngine, tenant: str, now: datetime) -> list[str]:
    """The tenant's open proposals whose time has passed."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pairing_id FROM pairings WHERE tenant = :t "
                "AND state IN ('proposed', 'approved') AND expires_at <= :now"
            ),
            {"t": tenant, "now": _stamp(engine, now)},
        )
        return [r.pairing_id for r in rows]


async def tenants_due(engine: AsyncEngine, now: datetime) -> list[str]:
    """Every tenant with an open proposal whose time has passed."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT DISTINCT tenant FROM pairings WHERE "
                "state IN ('proposed', 'approved') AND expires_at <= :now"
            ),
            {"now": _stamp(engine, now)},
        )
        return [r.tenant for r in rows]


async def proposed_in(conn: AsyncConnection, tenant: str, round_id: str) -> list[str]:
    """The round's pairings still only proposed."""
    rows = await conn.execute(
        text(
            "SELECT pairing_id FROM pairings WHERE tenant = :t AND round_id = :r "
            "AND state = 'proposed' ORDER BY pairing_id"
        ),
        {"t": tenant, "r": round_id},
    )
    return [r.pairing_id for r in rows]


async def rounds_of(engine: AsyncEngine, tenant: str, cohort_id: str) -> list[str]:
    """The rounds that proposed pairings in the cohort."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT DISTINCT round_id FROM pairings WHERE tenant = :t "
                "AND cohort_id = :c AND round_id IS NOT NULL"
            ),
            {"t": tenant, "c": cohort_id},
        )
        return [r.round_id for r in rows]
