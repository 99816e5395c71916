"""The delivery outbox's rows: enqueued with the notification, claimed when due,
then sent, rescheduled or dead.

Claiming moves a due row's ``next_attempt_at`` a lease ahead in one statement (on
PostgreSQL skipping rows another replica holds), so two dispatchers never send the
same row at once, and a dispatcher that dies mid-send leaves its rows due again when
the lease ends: delivered at least once, never lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from contracts.notifications import Channel, DeliveryStatus
from services.notifications.projections.inbox import stamp

DELIVERY_IDS = uuid.UUID("0b7e4f58-6a39-4c61-8d2e-91f3a7c5d402")
_ENQUEUE = text(
    "INSERT INTO deliveries (delivery_id, tenant, notification_id, recipient_id, "
    "channel, status, digest, attempts, next_attempt_at, created_at) "
    "VALUES (:d, :t, :n, :r, :c, 'pending', :g, 0, :at, :now) ON CONFLICT DO NOTHING"
)
_ENQUEUE_MANY = text(
    "INSERT INTO deliveries (delivery_id, tenant, notification_id, recipient_id, "
    "channel, status, digest, attempts, next_attempt_at, created_at) "
    "SELECT d, t, n, r, c, 'pending', g, 0, at, now FROM unnest(CAST(:d AS text[]), "
    "CAST(:t AS text[]), CAST(:n AS text[]), CAST(:r AS text[]), CAST(:c AS text[]), "
    "CAST(:g AS boolean[]), CAST(:at AS text[]), CAST(:now AS text[])) "
    "AS u(d, t, n, r, c, g, at, now) ON CONFLICT DO NOTHING"
)
_CLAIM = (
    "UPDATE deliveries SET next_attempt_at = :lease WHERE delivery_id IN ("
    "SELECT delivery_id FROM deliveries WHERE status = 'pending' "
    "AND next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :n{lock}) "
    "RETURNING delivery_id, tenant, notification_id, recipient_id, channel, digest, "
    "attempts"
)


@dataclass(frozen=True)
class Claimed:
    """A due delivery, with what its message says."""

    delivery_id: str
    tenant: str
    notification_id: str
    recipient_id: str
    channel: Channel
    digest: bool
    attempts: int
    kind: str = ""
    facts: dict[str, str] | None = None


def delivery_id(notification_id: str, channel: Channel) -> str:
    return str(uuid.uuid5(DELIVERY_IDS, f"{notification_id}\x00{channel}"))


async def enqueue(
    conn: AsyncConnection,
    *,
    tenant: str,
    notification_id: str,
    recipient_id: str,
    channel: Channel,
    due: datetime,
    digest: bool,
    now: datetime,
) -> None:
    await conn.execute(
        _ENQUEUE,
        {
            "d": delivery_id(notification_id, channel),
            "t": tenant,
            "n": notification_id,
            "r": recipient_id,
            "c": str(channel),
            "g": digest,
            "at": stamp(due),
            "now": stamp(now),
        },
    )


@dataclass(frozen=True)
class Due:
    """A delivery to enqueue (``enqueue_many``)."""

    tenant: str
    notification_id: str
    recipient_id: str
    channel: Channel
    due: datetime
    digest: bool
    now: datetime


async def enqueue_many(conn: AsyncConnection, rows: Sequence[Due]) -> None:
    """``enqueue`` of each row in one statement (PostgreSQL)."""
    if not rows:
        return
    await conn.execute(
        _ENQUEUE_MANY,
        {
            "d": [delivery_id(r.notification_id, r.channel) for r in rows],
            "t": [r.tenant for r in rows],
            "n": [r.notification_id for r in rows],
            "r": [r.recipient_id for r in rows],
            "c": [str(r.channel) for r in rows],
            "g": [r.digest for r in rows],
            "at": [stamp(r.due) for r in rows],
            "now": [stamp(r.now) for r in rows],
        },
    )


async def claim(
    conn: AsyncConnection, now: datetime, lease_until: datetime, limit: int
) -> Sequence[Claimed]:
    """Take up to ``limit`` due deliveries for ``lease_until``, with their
    notifications' kind and facts."""
    lock = "" if is_sqlite(conn.engine) else " FOR UPDATE SKIP LOCKED"
    rows = (
        await conn.execute(
            text(_CLAIM.format(lock=lock)),
            {"now": stamp(now), "lease": stamp(lease_until), "n": limit},
        )
    ).all()
    if not rows:
        return []
    ids = {r.notification_id for r in rows}
    params = {f"i{n}": i for n, i in enumerate(sorted(ids))}
    told = {
        r.notification_id: (r.kind, json.loads(r.facts))
        for r in await conn.execute(
            text(
                "SELECT notification_id, kind, facts FROM notifications "
                f"WHERE notification_id IN ({', '.join(':' + k for k in params)})"
            ),
            params,
        )
    }
    claimed = []
    for r in rows:
        kind, facts = told.get(r.notification_id, ("", {}))
        claimed.append(
            Claimed(
                delivery_id=r.delivery_id,
                tenant=r.tenant,
                notification_id=r.notification_id,
                recipient_id=r.recipient_id,
                channel=Channel(r.channel),
                digest=bool(r.digest),
                attempts=int(r.attempts),
                kind=kind,
                facts=facts,
            )
        )
    return claimed


async def next_due(conn: AsyncConnection) -> datetime | None:
    """When the next pending delivery falls due (claimed ones: when their lease
    ends); None when none is pending."""
    found = await conn.scalar(
        text("SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'")
    )
    return None if found is None else datetime.fromisoformat(found)


async def sent(
    conn: AsyncConnection, delivery_ids: Sequence[str], at: datetime
) -> None:
    for did in delivery_ids:
        await conn.execute(
            text(
                "UPDATE deliveries SET status = 'sent', sent_at = :at, "
                "attempts = attempts + 1, last_error = NULL WHERE delivery_id = :d"
            ),
            {"d": did, "at": stamp(at)},
        )


async def failed(
    conn: AsyncConnection, delivery_id: str, error: str, retry_at: datetime | None
) -> None:
    """One more failed attempt: due again at ``retry_at``, or dead when None."""
    status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.DEAD
    await conn.execute(
        text(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = :e, "
            "status = :s, next_attempt_at = COALESCE(:at, next_attempt_at) "
            "WHERE delivery_id = :d"
        ),
        {
            "d": delivery_id,
            "e": error[:500],
            "s": str(status),
            "at": stamp(retry_at) if retry_at is not None else None,
        },
    )


async def forget(conn: AsyncConnection, tenant: str, person_id: str) -> None:
    await conn.execute(
        text("DELETE FROM deliveries WHERE tenant = :t AND recipient_id = :p"),
        {"t": tenant, "p": person_id},
    )
