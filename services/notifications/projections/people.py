"""The people and pairs notifications needs to address anyone: each person's time
zone (profiles) and each relationship's pair (sessions), plus sessions' events parked
until their relationship is known."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope

_PERSON = text(
    "INSERT INTO notification_people (tenant, person_id, time_zone) "
    "VALUES (:t, :p, :z) ON CONFLICT (tenant, person_id) "
    "DO UPDATE SET time_zone = excluded.time_zone"
)
_RELATIONSHIP = text(
    "INSERT INTO notification_relationships (tenant, relationship_id, mentor_id, "
    "mentee_id) VALUES (:t, :r, :mentor, :mentee) ON CONFLICT DO NOTHING"
)
_PAIR = text(
    "SELECT mentor_id, mentee_id FROM notification_relationships "
    "WHERE tenant = :t AND relationship_id = :r"
)
_PARK = text(
    "INSERT INTO notification_parked (tenant, event_id, relationship_id, person_id, "
    "event_type, schema_version, data) VALUES (:t, :e, :r, :p, :y, :v, :d) "
    "ON CONFLICT DO NOTHING"
)
_PARKED = text(
    "SELECT event_id, event_type, schema_version, data FROM notification_parked "
    "WHERE tenant = :t AND relationship_id = :r ORDER BY event_id"
)
_UNPARK = text(
    "DELETE FROM notification_parked WHERE tenant = :t AND relationship_id = :r"
)


_REVOKED_MANY = text(
    "SELECT r.tenant, r.subject FROM revoked_subjects r JOIN "
    "unnest(CAST(:t AS text[]), CAST(:p AS text[])) AS k(tenant, subject) "
    "ON r.tenant = k.tenant AND r.subject = k.subject"
)


@dataclass(frozen=True)
class Parked:
    """A sessions event waiting for its relationship."""

    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, object]


async def on_person(env: Envelope, conn: AsyncConnection) -> None:
    """PersonRegistered / PersonDetailsUpdated: keep the person's time zone."""
    zone = str(env.data.get("time_zone") or "UTC")
    await conn.execute(
        _PERSON, {"t": env.tenant, "p": env.data["person_id"], "z": zone}
    )


async def time_zone(conn: AsyncConnection, tenant: str, person_id: str) -> str:
    row = (
        await conn.execute(
            text(
                "SELECT time_zone FROM notification_people "
                "WHERE tenant = :t AND person_id = :p"
            ),
            {"t": tenant, "p": person_id},
        )
    ).first()
    return "UTC" if row is None else str(row.time_zone)


async def revoked(
    conn: AsyncConnection, people: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (tenant, person) were erased or deactivated (the chassis's
    revocation view), in one statement (PostgreSQL)."""
    keys = sorted(set(people))
    if not keys:
        return set()
    rows = await conn.execute(
        _REVOKED_MANY, {"t": [k[0] for k in keys], "p": [k[1] for k in keys]}
    )
    return {(r.tenant, r.subject) for r in rows}


async def keep_relationship(
    conn: AsyncConnection, tenant: str, relationship_id: str, mentor: str, mentee: str
) -> None:
    await conn.execute(
        _RELATIONSHIP,
        {"t": tenant, "r": relationship_id, "mentor": mentor, "mentee": mentee},
    )


async def pair_of(
    conn: AsyncConnection, tenant: str, relationship_id: str
) -> tuple[str, str] | None:
    row = (await conn.execute(_PAIR, {"t": tenant, "r": relationship_id})).first()
    return None if row is None else (str(row.mentor_id), str(row.mentee_id))


async def park(
    conn: AsyncConnection, env: Envelope, relationship_id: str, person_id: str | None
) -> None:
    """Keep ``env`` until its relationship is known; ``person_id`` is the one
    person it names (forgotten with them)."""
    await conn.execute(
        _PARK,
        {
            "t": env.tenant,
            "e": env.id,
            "r": relationship_id,
            "p": person_id,
            "y": env.type,
            "v": str(env.schema_version),
            "d": json.dumps(env.data),
        },
    )


async def unpark(
    conn: AsyncConnection, tenant: str, relationship_id: str
) -> Sequence[Parked]:
    """The events parked for ``relationship_id``, removed from the parking."""
    args = {"t": tenant, "r": relationship_id}
    rows = (await conn.execute(_PARKED, args)).all()
    await conn.execute(_UNPARK, args)
    return [
        Parked(r.event_id, r.event_type, int(r.schema_version), json.loads(r.data))
        for r in rows
    ]


async def forget(conn: AsyncConnection, tenant: str, person_id: str) -> None:
    """The person's time zone, their relationships' pairs and what is parked for
    those relationships (a parked session names who scheduled it)."""
    args = {"t": tenant, "p": person_id}
    await conn.execute(
        text(
            "DELETE FROM notification_parked WHERE tenant = :t AND relationship_id IN "
            "(SELECT relationship_id FROM notification_relationships WHERE tenant = :t "
            "AND (mentor_id = :p OR mentee_id = :p))"
        ),
        args,
    )
    await conn.execute(
        text("DELETE FROM notification_parked WHERE tenant = :t AND person_id = :p"),
        args,
    )
    await conn.execute(
        text(
            "DELETE FROM notification_relationships WHERE tenant = :t "
            "AND (mentor_id = :p OR mentee_id = :p)"
        ),
        args,
    )
    await conn.execute(
        text("DELETE FROM notification_people WHERE tenant = :t AND person_id = :p"),
        args,
    )
