"""Who is booked when, and when people can meet: the ``sessions`` current-state table
(written with the session events, read by overlap checks, slot search and calendars)
and ``person_availability`` (time zones and windows from the profiles topic)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.events import EventPayload, RecordedEvent
from contracts.api import sessions as api
from services.sessions.domain.meeting import BLOCKING, Availability, Booking
from services.sessions.domain.relationship import Relationship


class SessionsProjection:
    """Keeps ``sessions`` in step with the session streams."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            sid, at, d = recorded.stream_id, recorded.time, recorded.data
            kind = recorded.event_type
            if kind == "SessionScheduled":
                pair = (
                    await conn.execute(
                        text(
                            "SELECT mentor_id, mentee_id FROM relationships "
                            "WHERE relationship_id = :r"
                        ),
                        {"r": d["relationship_id"]},
                    )
                ).one()
                start = p.starts_at  # type: ignore[attr-defined]
                await conn.execute(
                    text(
                        "INSERT INTO sessions (session_id, tenant, relationship_id, "
                        "mentor_id, mentee_id, starts_at, ends_at, minutes, format, "
                        "state, sequence, scheduled_by, agenda_text_id, updated_at) "
                        "VALUES (:s, :t, :r, :m, :e, :b, :x, :n, :f, 'scheduled', "
                        ":q, :by, :a, :u)"
                    ),
                    {
                        "s": sid,
                        "t": recorded.tenant,
                        "r": d["relationship_id"],
                        "m": pair.mentor_id,
                        "e": pair.mentee_id,
                        "b": start,
                        "x": start + timedelta(minutes=d["minutes"]),
                        "n": d["minutes"],
                        "f": d["format"],
                        "q": d["sequence"],
                        "by": d["scheduled_by"],
                        "a": d.get("agenda_text_id"),
                        "u": at,
                    },
                )
                continue
            values: dict[str, Any] = {"updated_at": at}
            if kind == "SessionRescheduled":
                start = p.starts_at  # type: ignore[attr-defined]
                values |= {
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=d["minutes"]),
                    "minutes": d["minutes"],
                    "sequence": d["sequence"],
                }
            elif kind == "SessionAgendaSet":
                values["agenda_text_id"] = d.get("agenda_text_id")
            elif kind == "SessionHeld":
                values |= {
                    "state": "held",
                    "held_at": p.held_at,  # type: ignore[attr-defined]
                    "held_minutes": d["minutes"],
                }
            elif kind == "SessionCancelled":
                values |= {
                    "state": "cancelled",
                    "sequence": d["sequence"],
                    "cancelled_by": d["cancelled_by"],
                    "reason_code": d["reason_code"],
                    "reason_text_id": d.get("reason_text_id"),
                }
            elif kind == "SessionMissed":
                values |= {"state": "missed", "absent_ids": json.dumps(d["absent_ids"])}
            sets = ", ".join(f"{c} = :{c}" for c in values)
            await conn.execute(
                text(f"UPDATE sessions SET {sets} WHERE session_id = :sid"),
                {**values, "sid": sid},
            )


def aware(value: datetime | str) -> datetime:
    """A stored timestamp as aware UTC (SQLite hands back text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stamp(value: datetime | str | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


def session_view(row: RowMapping, *, agenda: str | None = None) -> api.Session:
    """A ``sessions`` row as the API shows it; ``agenda`` (the pair's) set if given."""
    view = api.Session(
        session_id=row["session_id"],
        relationship_id=row["relationship_id"],
        mentor_id=row["mentor_id"],
        mentee_id=row["mentee_id"],
        minutes=row["minutes"],
        format=row["format"],
        state=row["state"],
        sequence=row["sequence"],
        scheduled_by=row["scheduled_by"],
        cancelled_by=row["cancelled_by"],
        reason_code=row["reason_code"],
        held_minutes=row["held_minutes"],
        starts_at=aware(row["starts_at"]).isoformat(),
        ends_at=aware(row["ends_at"]).isoformat(),
        held_at=_stamp(row["held_at"]),
        absent_ids=json.loads(row["absent_ids"]) if row["absent_ids"] else [],
    )
    if agenda is not None:
        view.agenda = agenda
    return view


def session_answer(row: RowMapping) -> dict[str, Any]:
    """A ``sessions`` row as ``session_view`` shows it (no agenda), as the JSON the
    API sends: the same fields, in the model's order, without building and
    validating an ``api.Session`` per row (the list route's cost was mostly that).
    The tests hold every answer of the list route to the model."""
    absent = row["absent_ids"]
    held_at = row["held_at"]
    return {
        "session_id": row["session_id"],
        "relationship_id": row["relationship_id"],
        "mentor_id": row["mentor_id"],
        "mentee_id": row["mentee_id"],
        "minutes": row["minutes"],
        "format": row["format"],
        "state": row["state"],
        "sequence": row["sequence"],
        "scheduled_by": row["scheduled_by"],
        "cancelled_by": row["cancelled_by"],
        "reason_code": row["reason_code"],
        "held_minutes": row["held_minutes"],
        "starts_at": aware(row["starts_at"]).isoformat(),
        "ends_at": aware(row["ends_at"]).isoformat(),
        "held_at": aware(held_at).isoformat() if held_at is not None else None,
        "absent_ids": json.loads(absent) if absent else [],
        "agenda": None,
    }


async def on_person(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO person_availability (tenant, person_id, time_zone) "
            "VALUES (:t, :p, :z) ON CONFLICT (tenant, person_id) "
            "DO UPDATE SET time_zone = excluded.time_zone"
        ),
        {"t": env.tenant, "p": env.data["person_id"], "z": env.data.get("time_zone")},
    )


async def on_mentor_profile(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO person_availability (tenant, person_id, windows) "
            "VALUES (:t, :p, :w) ON CONFLICT (tenant, person_id) "
            "DO UPDATE SET windows = excluded.windows"
        ),
        {
            "t": env.tenant,
            "p": env.data["person_id"],
            "w": json.dumps(env.data.get("availability") or []),
        },
    )


async def on_person_erased(env: Envelope, conn: AsyncConnection) -> None:
    person = {"t": env.tenant, "p": env.data["person_id"]}
    for table in ("person_availability", "calendar_tokens"):
        await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant = :t AND person_id = :p"),
            person,
        )


async def availability(conn: AsyncConnection, rel: Relationship) -> list[Availability]:
    """Mentor's and mentee's availability, in that order (defaults when unknown)."""
    rows = {
        r.person_id: r
        for r in await conn.execute(
            text(
                "SELECT * FROM person_availability WHERE tenant = :t "
                "AND person_id IN (:a, :b)"
            ),
            {"t": rel.tenant, "a": rel.mentor_id, "b": rel.mentee_id},
        )
    }
    return [
        Availability.of(r.time_zone, json.loads(r.windows))
        if (r := rows.get(p))
        else Availability()
        for p in rel.parties
    ]


async def busy(
    conn: AsyncConnection,
    rel: Relationship,
    start: datetime,
    end: datetime,
    *,
    lock: bool = True,
) -> list[Booking]:
    """Bookings of either person overlapping [start, end); with ``lock``, under a
    per-person transaction lock so two concurrent bookings cannot both pass."""
    if lock and not is_sqlite(conn.engine):
        for person in sorted(rel.parties):
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                {"k": f"sessions:{rel.tenant}:{person}"},
            )
    rows = await conn.execute(
        text(
            "SELECT session_id, starts_at, ends_at FROM sessions WHERE tenant = :t "
            f"AND state IN {tuple(map(str, BLOCKING))!r} AND starts_at < :end AND ends_at > :start "
            "AND (mentor_id IN (:a, :b) OR mentee_id IN (:a, :b))"
        ),
        {
            "t": rel.tenant,
            "a": rel.mentor_id,
            "b": rel.mentee_id,
            "start": start,
            "end": end,
        },
    )
    return [Booking(r.session_id, aware(r.starts_at), aware(r.ends_at)) for r in rows]
