"""Sessions as iCalendar (RFC 5545): one ``.ics`` per session for its pair, and a
per-person feed behind a secret token that calendar clients poll.

Times are written in UTC (``...Z``), which every client converts to its own zone.
``UID`` is stable per session, ``SEQUENCE`` goes up with every reschedule or
cancellation and a cancelled session stays in the feed with ``STATUS:CANCELLED``, so
subscribed calendars move or strike it. Nothing private is written: no agenda, no
names, no reasons.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.auth.revocation import Revocations
from chassis.errors import NotFound
from services.sessions.application.meetings import Meetings

ICS = "text/calendar; charset=utf-8"
PRODID = "-//Tandem//Mentoring sessions//EN"
FORMATS = {
    "one_to_one": "Mentoring session",
    "group": "Group mentoring session",
    "shadowing": "Shadowing session",
    "project": "Mentoring project session",
}


# -- RFC 5545 writing ---------------------------------------------------------------------


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (§3.1)."""
    data, parts, limit = line.encode(), [], 75
    while len(data) > limit:
        cut = limit
        while (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        parts.append(data[:cut].decode())
        data, limit = data[cut:], 74
    parts.append(data.decode())
    return "\r\n ".join(parts)


def _utc(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(row: RowMapping) -> list[str]:
    """One session as a VEVENT."""
    cancelled = row["state"] == "cancelled"
    return [
        "BEGIN:VEVENT",
        f"UID:{row['session_id']}@sessions.tandem",
        f"DTSTAMP:{_utc(row['updated_at'])}",
        f"LAST-MODIFIED:{_utc(row['updated_at'])}",
        f"DTSTART:{_utc(row['starts_at'])}",
        f"DURATION:PT{row['minutes']}M",
        f"SEQUENCE:{row['sequence']}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"SUMMARY:{_escape(FORMATS.get(row['format'], 'Mentoring session'))}",
        f"CATEGORIES:{_escape(row['format'])}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]


def render(rows: Iterable[RowMapping], *, name: str = "Mentoring sessions") -> str:
    """A VCALENDAR holding the given session rows."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for row in rows:
        lines.extend(vevent(row))
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


# -- per-person feed tokens ---------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Calendar:
    """Feed tokens (only their hashes are kept), the rows a feed shows, and one
    session's ``.ics`` for its pair."""

    def __init__(self, engine: AsyncEngine, meetings: Meetings) -> None:
        self.engine = engine
        self.meetings = meetings

    async def session_ics(self, principal: Principal, session_id: str) -> str:
        """One session as a VCALENDAR, for its pair only."""
        row, party = await self.meetings.row(principal, session_id)
        if not party:
            raise NotFound(f"session {session_id} not found")
        return render([row])

    async def mint(self, tenant: str, person_id: str) -> str:
        """A new secret for the person's feed; the previous one stops working."""
        token = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO calendar_tokens (tenant, person_id, token_hash, "
                    "created_at) VALUES (:t, :p, :h, :c) ON CONFLICT (tenant, "
                    "person_id) DO UPDATE SET token_hash = excluded.token_hash, "
                    "created_at = excluded.created_at"
                ),
                {"t": tenant, "p": person_id, "h": _digest(token), "c": _now()},
            )
        return token

    async def feed(self, person_id: str, token: str) -> str:
        async with self.engine.connect() as conn:
            tenant = await self._tenant_of(conn, person_id, token)
            rows = await conn.execute(
                text(
                    "SELECT * FROM sessions WHERE tenant = :t AND "
                    "(mentor_id = :p OR mentee_id = :p) ORDER BY starts_at"
                ),
                {"t": tenant, "p": person_id},
            )
            return render(rows.mappings())

    async def _tenant_of(
        self, conn: AsyncConnection, person_id: str, token: str
    ) -> str:
        given = _digest(token)
        for row in await conn.execute(
            text("SELECT tenant, token_hash FROM calendar_tokens WHERE person_id = :p"),
            {"p": person_id},
        ):
            if hmac.compare_digest(row.token_hash, given):
                tenant = str(row.tenant)
                # The feed's token is a credential as a bearer token is: a person
                # deactivated or erased gets nothing from it either.
                if await Revocations.reason_on(conn, tenant, person_id) is not None:
                    break
                return tenant
        raise NotFound("no such calendar")  # a wrong token reveals nothing


def _now() -> datetime:
    return datetime.now(UTC)
