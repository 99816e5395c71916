"""Each person's notification preferences (defaults when they chose nothing)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.notifications import Channel
from services.notifications.domain.preferences import Preferences, QuietHours
from services.notifications.projections.inbox import stamp

_LOAD = text(
    "SELECT p.channels, p.unsubscribed, p.quiet_start, p.quiet_end, p.daily_digest, "
    "p.locale, p.email, p.slack_webhook, p.teams_webhook, z.time_zone, "
    "b.tenant IS NOT NULL AS slack_bot FROM (SELECT CAST(:t AS TEXT) AS tenant, "
    "CAST(:p AS TEXT) AS person_id) k "
    "LEFT JOIN notification_preferences p "
    "ON p.tenant = k.tenant AND p.person_id = k.person_id "
    "LEFT JOIN notification_people z "
    "ON z.tenant = k.tenant AND z.person_id = k.person_id "
    "LEFT JOIN notification_slack_bots b ON b.tenant = k.tenant"
)
_SAVE = text(
    "INSERT INTO notification_preferences (tenant, person_id, channels, unsubscribed, "
    "quiet_start, quiet_end, daily_digest, locale, email, slack_webhook, "
    "teams_webhook, updated_at) VALUES (:t, :p, :c, :u, :qs, :qe, :d, :l, :e, :sw, "
    ":tw, :at) "
    "ON CONFLICT (tenant, person_id) DO UPDATE SET channels = excluded.channels, "
    "unsubscribed = excluded.unsubscribed, quiet_start = excluded.quiet_start, "
    "quiet_end = excluded.quiet_end, daily_digest = excluded.daily_digest, "
    "locale = excluded.locale, email = excluded.email, "
    "slack_webhook = excluded.slack_webhook, teams_webhook = excluded.teams_webhook, "
    "updated_at = excluded.updated_at"
)


_LOAD_MANY = text(
    "SELECT k.tenant, k.person_id, p.channels, p.unsubscribed, p.quiet_start, "
    "p.quiet_end, p.daily_digest, p.locale, p.email, p.slack_webhook, "
    "p.teams_webhook, z.time_zone, b.tenant IS NOT NULL AS slack_bot "
    "FROM unnest(CAST(:t AS text[]), CAST(:p AS text[])) AS k(tenant, person_id) "
    "LEFT JOIN notification_preferences p "
    "ON p.tenant = k.tenant AND p.person_id = k.person_id "
    "LEFT JOIN notification_people z "
    "ON z.tenant = k.tenant AND z.person_id = k.person_id "
    "LEFT JOIN notification_slack_bots b ON b.tenant = k.tenant"
)


async def load(conn: AsyncConnection, tenant: str, person_id: str) -> Preferences:
    """What the person chose, in their time zone (profiles'), or the defaults."""
    r = (await conn.execute(_LOAD, {"t": tenant, "p": person_id})).one()
    return _chosen(r)


async def load_many(
    conn: AsyncConnection, people: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Preferences]:
    """``load`` of each (tenant, person) in one statement (PostgreSQL)."""
    keys = sorted(set(people))
    if not keys:
        return {}
    rows = await conn.execute(
        _LOAD_MANY, {"t": [k[0] for k in keys], "p": [k[1] for k in keys]}
    )
    return {(r.tenant, r.person_id): _chosen(r) for r in rows}


def _chosen(r: Any) -> Preferences:
    zone = r.time_zone or "UTC"
    if r.channels is None:
        return Preferences(time_zone=zone)
    quiet = (
        QuietHours(time.fromisoformat(r.quiet_start), time.fromisoformat(r.quiet_end))
        if r.quiet_start and r.quiet_end
        else None
    )
    return Preferences(
        channels=frozenset(Channel(c) for c in json.loads(r.channels)),
        unsubscribed=bool(r.unsubscribed),
        quiet_hours=quiet,
        daily_digest=bool(r.daily_digest),
        locale=r.locale,
        time_zone=zone,
        email=r.email,
        slack_webhook=r.slack_webhook,
        teams_webhook=r.teams_webhook,
        slack_bot=bool(r.slack_bot),
    )


async def save(
    conn: AsyncConnection,
    tenant: str,
    person_id: str,
    chosen: Preferences,
    at: datetime,
) -> None:
    quiet = chosen.quiet_hours
    await conn.execute(
        _SAVE,
        {
            "t": tenant,
            "p": person_id,
            "c": json.dumps(sorted(str(c) for c in chosen.channels)),
            "u": chosen.unsubscribed,
            "qs": quiet.start.isoformat("minutes") if quiet else None,
            "qe": quiet.end.isoformat("minutes") if quiet else None,
            "d": chosen.daily_digest,
            "l": chosen.locale,
            "e": chosen.email,
            "sw": chosen.slack_webhook,
            "tw": chosen.teams_webhook,
            "at": stamp(at),
        },
    )


async def forget(conn: AsyncConnection, tenant: str, person_id: str) -> None:
    await conn.execute(
        text(
            "DELETE FROM notification_preferences WHERE tenant = :t AND person_id = :p"
        ),
        {"t": tenant, "p": person_id},
    )
