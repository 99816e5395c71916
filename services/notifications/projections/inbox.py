"""The in-app inbox: one row per (event, recipient), read and unread."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.domain.notices import Kind

_INSERT = text(
    "INSERT INTO notifications (notification_id, tenant, recipient_id, kind, event_id, "
    "subject_id, facts, created_at) VALUES (:i, :t, :r, :k, :e, :s, :f, :at) "
    "ON CONFLICT DO NOTHING RETURNING notification_id"
)
# ``add`` of many rows in one statement (PostgreSQL): one array per column.
_INSERT_MANY = text(
    "INSERT INTO notifications (notification_id, tenant, recipient_id, kind, event_id, "
    "subject_id, facts, created_at) SELECT * FROM unnest(CAST(:i AS text[]), "
    "CAST(:t AS text[]), CAST(:r AS text[]), CAST(:k AS text[]), CAST(:e AS text[]), "
    "CAST(:s AS text[]), CAST(:f AS text[]), CAST(:at AS text[])) "
    "ON CONFLICT DO NOTHING RETURNING notification_id"
)
_COLUMNS = "notification_id, kind, subject_id, facts, created_at, read_at"


@dataclass(frozen=True)
class Row:
    notification_id: str
    kind: Kind
    subject_id: str
    facts: Mapping[str, str]
    created_at: str
    read_at: str | None


def stamp(at: datetime) -> str:
    """A moment as the tables keep it: fixed-width ISO 8601 UTC."""
    return at.isoformat(timespec="microseconds")


def _row(r: object) -> Row:
    return Row(
        notification_id=r.notification_id,  # type: ignore[attr-defined]
        kind=Kind(r.kind),  # type: ignore[attr-defined]
        subject_id=r.subject_id,  # type: ignore[attr-defined]
        facts=json.loads(r.facts),  # type: ignore[attr-defined]
        created_at=r.created_at,  # type: ignore[attr-defined]
        read_at=r.read_at,  # type: ignore[attr-defined]
    )


async def add(
    conn: AsyncConnection,
    *,
    notification_id: str,
    tenant: str,
    recipient_id: str,
    kind: Kind,
    event_id: str,
    subject_id: str,
    facts: Mapping[str, str],
    at: datetime,
) -> bool:
    """Keep the notification; False when it was kept already (a redelivery)."""
    row = (
        await conn.execute(
            _INSERT,
            {
                "i": notification_id,
                "t": tenant,
                "r": recipient_id,
                "k": str(kind),
                "e": event_id,
                "s": subject_id,
                "f": json.dumps(dict(facts), sort_keys=True),
                "at": stamp(at),
            },
        )
    ).first()
    return row is not None


@dataclass(frozen=True)
class New:
    """A notification to keep (``add_many``)."""

    notification_id: str
    tenant: str
    recipient_id: str
    kind: Kind
    event_id: str
    subject_id: str
    facts: Mapping[str, str]
    at: datetime


async def add_many(conn: AsyncConnection, rows: Sequence[New]) -> set[str]:
    """``add`` of each row in one statement; the ids of those kept now (the others
    were kept already). The ids must be distinct."""
    if not rows:
        return set()
    kept = await conn.execute(
        _INSERT_MANY,
        {
            "i": [r.notification_id for r in rows],
            "t": [r.tenant for r in rows],
            "r": [r.recipient_id for r in rows],
            "k": [str(r.kind) for r in rows],
            "e": [r.event_id for r in rows],
            "s": [r.subject_id for r in rows],
            "f": [json.dumps(dict(r.facts), sort_keys=True) for r in rows],
            "at": [stamp(r.at) for r in rows],
        },
    )
    return set(kept.scalars())


async def page(
    conn: AsyncConnection,
    tenant: str,
    person_id: str,
    *,
    unread_only: bool,
    before: str | None,
    limit: int,
) -> Sequence[Row]:
    """The person's notifications, newest first, ``limit`` of them from ``before``
    (a created_at, id cursor: ``<created_at>|<notification_id>``)."""
    where = "tenant = :t AND recipient_id = :p"
    args: dict[str, object] = {"t": tenant, "p": person_id, "n": limit}
    if unread_only:
        where += " AND read_at IS NULL"
    if before is not None:
        created, _, last_id = before.partition("|")
        where += " AND (created_at < :c OR (created_at = :c AND notification_id < :li))"
        args |= {"c": created, "li": last_id}
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM notifications WHERE {where} "
            "ORDER BY created_at DESC, notification_id DESC LIMIT :n"
        ),
        args,
    )
    return [_row(r) for r in rows]


async def unread(conn: AsyncConnection, tenant: str, person_id: str) -> int:
    found = await conn.scalar(
        text(
            "SELECT count(*) FROM notifications WHERE tenant = :t "
            "AND recipient_id = :p AND read_at IS NULL"
        ),
        {"t": tenant, "p": person_id},
    )
    return int(found or 0)


async def one(
    conn: AsyncConnection, tenant: str, person_id: str, notification_id: str
) -> Row | None:
    """The notification if it is the person's own (anyone else's reads as none)."""
    row = (
        await conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM notifications WHERE notification_id = :i "
                "AND tenant = :t AND recipient_id = :p"
            ),
            {"i": notification_id, "t": tenant, "p": person_id},
        )
    ).first()
    return None if row is None else _row(row)


async def mark_read(
    conn: AsyncConnection,
    tenant: str,
    person_id: str,
    at: datetime,
    notification_id: str | None = None,
) -> int:
    """Mark the person's notification (or all of theirs) read; how many changed.
    A notification read already keeps the moment it was first read."""
    where = "tenant = :t AND recipient_id = :p AND read_at IS NULL"
    args: dict[str, object] = {"t": tenant, "p": person_id, "at": stamp(at)}
    if notification_id is not None:
        where += " AND notification_id = :i"
        args["i"] = notification_id
    result = await conn.execute(
        text(f"UPDATE notifications SET read_at = :at WHERE {where}"), args
    )
    return int(result.rowcount or 0)


async def forget(conn: AsyncConnection, tenant: str, person_id: str) -> None:
    await conn.execute(
        text("DELETE FROM notifications WHERE tenant = :t AND recipient_id = :p"),
        {"t": tenant, "p": person_id},
    )
