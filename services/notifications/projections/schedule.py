"""What the sweep needs, kept from inbound events: per relationship its latest sign
of life, cadence and warning; sessions to come; open milestones; early warnings still
raised; the programme's coordinators; each tenant's rules; the councils'
recommendations awaiting a decision and each council's sponsors (advisors' events);
the tenant's admins as the service has seen them (``see_admin``).

Every write is an upsert that only moves forward (a session held keeps the latest
effective ``held_at``), so a redelivered or late event changes nothing it should not.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from services.notifications.domain.rules import Relationship, Rules
from services.notifications.projections import rules_tables  # noqa: F401  (schema)


def stamp(at: datetime) -> str:
    """A moment as the tables keep it: fixed-width ISO 8601 UTC."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _when(value: object) -> str:
    return stamp(datetime.fromisoformat(str(value)))


_TOUCH = text(
    "INSERT INTO notification_schedule (tenant, relationship_id, state) "
    "VALUES (:t, :r, 'active') ON CONFLICT DO NOTHING"
)


async def _touch(conn: AsyncConnection, tenant: str, rid: str) -> None:
    await conn.execute(_TOUCH, {"t": tenant, "r": rid})


async def _set(
    conn: AsyncConnection, tenant: str, rid: str, sql: str, **p: object
) -> None:
    await _touch(conn, tenant, rid)
    await conn.execute(
        text(
            f"UPDATE notification_schedule SET {sql} WHERE tenant = :t AND relationship_id = :r"
        ),
        {"t": tenant, "r": rid, **p},
    )


async def on_relationship_started(env: Envelope, conn: AsyncConnection) -> None:
    d = env.data
    starts_on = date.fromisoformat(str(d["starts_on"]))
    started = stamp(
        datetime(starts_on.year, starts_on.month, starts_on.day, tzinfo=UTC)
    )
    await _set(
        conn, env.tenant, str(d["relationship_id"]), "started_at = :s", s=started
    )


async def on_session_held(env: Envelope, conn: AsyncConnection) -> None:
    rid, held = str(env.data["relationship_id"]), _when(env.data["held_at"])
    await _set(
        conn,
        env.tenant,
        rid,
        "last_held_at = CASE WHEN last_held_at IS NULL OR last_held_at < :h "
        "THEN :h ELSE last_held_at END",
        h=held,
    )
    await _forget_session(conn, env.tenant, str(env.data["session_id"]))


async def on_contract_drafted(env: Envelope, conn: AsyncConnection) -> None:
    every = int(env.data["cadence"]["every_days"])
    await _set(
        conn, env.tenant, str(env.data["relationship_id"]), "cadence_days = :c", c=every
    )


def _state(to: str) -> Callable[[Envelope, AsyncConnection], Awaitable[None]]:
    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        # A relationship closed here stays closed; concluded is final.
        await _set(
            conn,
            env.tenant,
            str(env.data["relationship_id"]),
            "state = CASE WHEN state IN ('concluded') THEN state ELSE :s END",
            s=to,
        )

    return handle


on_paused = _state("paused")
on_resumed = _state("active")
on_concluded = _state("concluded")


async def on_session_scheduled(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO notification_upcoming (tenant, session_id, relationship_id, "
            "starts_at) VALUES (:t, :s, :r, :a) ON CONFLICT (tenant, session_id) "
            "DO UPDATE SET starts_at = excluded.starts_at"
        ),
        {
            "t": env.tenant,
            "s": env.data["session_id"],
            "r": env.data["relationship_id"],
            "a": _when(env.data["starts_at"]),
        },
    )


async def on_session_rescheduled(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "UPDATE notification_upcoming SET starts_at = :a "
            "WHERE tenant = :t AND session_id = :s"
        ),
        {
            "t": env.tenant,
            "s": env.data["session_id"],
            "a": _when(env.data["starts_at"]),
        },
    )


async def _forget_session(conn: AsyncConnection, tenant: str, session_id: str) -> None:
    await conn.execute(
        text("DELETE FROM notification_upcoming WHERE tenant = :t AND session_id = :s"),
        {"t": tenant, "s": session_id},
    )


async def on_session_over(env: Envelope, conn: AsyncConnection) -> None:
    """Cancelled or missed: no reminder."""
    await _forget_session(conn, env.tenant, str(env.data["session_id"]))


async def on_milestone_set(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO notification_milestones (tenant, milestone_id, "
            "relationship_id, due_on) VALUES (:t, :m, :r, :d) "
            "ON CONFLICT (tenant, milestone_id) DO UPDATE SET due_on = excluded.due_on"
        ),
        {
            "t": env.tenant,
            "m": env.data["milestone_id"],
            "r": env.data["relationship_id"],
            "d": str(env.data["due_on"]),
        },
    )


async def on_milestone_over(env: Envelope, conn: AsyncConnection) -> None:
    """Achieved or missed: no reminder."""
    await conn.execute(
        text(
            "DELETE FROM notification_milestones WHERE tenant = :t AND milestone_id = :m"
        ),
        {"t": env.tenant, "m": env.data["milestone_id"]},
    )


async def on_warning_raised(env: Envelope, conn: AsyncConnection) -> None:
    """The first moment of a warning still raised (a worse one keeps it)."""
    await conn.execute(
        text(
            "INSERT INTO notification_warnings (tenant, relationship_id, raised_at) "
            "VALUES (:t, :r, :a) ON CONFLICT DO NOTHING"
        ),
        {"t": env.tenant, "r": env.data["relationship_id"], "a": stamp(env.time)},
    )


RECOVERED = ("on_track", "too_early", "concluded")


async def on_health_changed(env: Envelope, conn: AsyncConnection) -> None:
    if env.data.get("to_state") in RECOVERED:
        await conn.execute(
            text(
                "DELETE FROM notification_warnings "
                "WHERE tenant = :t AND relationship_id = :r"
            ),
            {"t": env.tenant, "r": env.data["relationship_id"]},
        )


async def on_roles(env: Envelope, conn: AsyncConnection) -> None:
    p = {"t": env.tenant, "p": env.data["person_id"]}
    if "coordinator" in env.data.get("roles", []):
        await conn.execute(
            text(
                "INSERT INTO notification_coordinators (tenant, person_id) "
                "VALUES (:t, :p) ON CONFLICT DO NOTHING"
            ),
            p,
        )
    else:
        await forget(conn, env.tenant, str(env.data["person_id"]))


async def forget(conn: AsyncConnection, tenant: str, person: str) -> None:
    await conn.execute(
        text(
            "DELETE FROM notification_coordinators WHERE tenant = :t AND person_id = :p"
        ),
        {"t": tenant, "p": person},
    )


async def forget_person(conn: AsyncConnection, tenant: str, person: str) -> None:
    """``PersonErased``: no longer a coordinator, a council's sponsor nor an admin."""
    await forget(conn, tenant, person)
    for table in ("notification_council_sponsors", "notification_admins"):
        await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant = :t AND person_id = :p"),
            {"t": tenant, "p": person},
        )


# -- advisors: councils' recommendations and their deciders -----------------------------


async def on_recommendation_made(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO notification_recommendations (tenant, recommendation_id, "
            "council_id, made_at) VALUES (:t, :r, :c, :a) ON CONFLICT DO NOTHING"
        ),
        {
            "t": env.tenant,
            "r": env.data["recommendation_id"],
            "c": env.data["council_id"],
            "a": _when(env.data["made_at"]),
        },
    )


async def on_recommendation_decided(env: Envelope, conn: AsyncConnection) -> None:
    """Accepted or rejected: nobody is told it awaits a decision any more."""
    await conn.execute(
        text(
            "DELETE FROM notification_recommendations "
            "WHERE tenant = :t AND recommendation_id = :r"
        ),
        {"t": env.tenant, "r": env.data["recommendation_id"]},
    )


async def on_council_member_added(env: Envelope, conn: AsyncConnection) -> None:
    if env.data.get("kind") != "sponsor":
        return
    await conn.execute(
        text(
            "INSERT INTO notification_council_sponsors (tenant, council_id, person_id) "
            "VALUES (:t, :c, :p) ON CONFLICT DO NOTHING"
        ),
        {"t": env.tenant, "c": env.data["council_id"], "p": env.data["member_id"]},
    )


async def on_council_member_removed(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "DELETE FROM notification_council_sponsors "
            "WHERE tenant = :t AND council_id = :c AND person_id = :p"
        ),
        {"t": env.tenant, "c": env.data["council_id"], "p": env.data["member_id"]},
    )


async def recommendations(
    conn: AsyncConnection, tenant: str
) -> list[tuple[str, str, datetime]]:
    """Undecided recommendations: (recommendation, council, made_at), oldest first."""
    rows = await conn.execute(
        text(
            "SELECT recommendation_id, council_id, made_at "
            "FROM notification_recommendations WHERE tenant = :t "
            "ORDER BY made_at, recommendation_id"
        ),
        {"t": tenant},
    )
    return [
        (r.recommendation_id, r.council_id, datetime.fromisoformat(r.made_at))
        for r in rows
    ]


async def sponsors(conn: AsyncConnection, tenant: str) -> dict[str, tuple[str, ...]]:
    """Each council's sponsors (who decide its recommendations)."""
    rows = await conn.execute(
        text(
            "SELECT council_id, person_id FROM notification_council_sponsors "
            "WHERE tenant = :t ORDER BY council_id, person_id"
        ),
        {"t": tenant},
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.council_id, []).append(r.person_id)
    return {c: tuple(p) for c, p in out.items()}


# -- the tenant's admins ------------------------------------------------------------------


async def see_admin(
    conn: AsyncConnection, tenant: str, person: str, at: datetime
) -> None:
    """An admin reached the service: they are among the tenant's admins told of what
    admins are told (a disabled webhook endpoint)."""
    await conn.execute(
        text(
            "INSERT INTO notification_admins (tenant, person_id, seen_at) "
            "VALUES (:t, :p, :a) ON CONFLICT (tenant, person_id) "
            "DO UPDATE SET seen_at = excluded.seen_at"
        ),
        {"t": tenant, "p": person, "a": stamp(at)},
    )


async def admins(conn: AsyncConnection, tenant: str) -> tuple[str, ...]:
    rows = await conn.execute(
        text(
            "SELECT a.person_id FROM notification_admins a WHERE a.tenant = :t "
            "AND NOT EXISTS (SELECT 1 FROM revoked_subjects r "
            "WHERE r.tenant = a.tenant AND r.subject = a.person_id) "
            "ORDER BY a.person_id"
        ),
        {"t": tenant},
    )
    return tuple(r.person_id for r in rows)


# -- reads and writes of the sweep ------------------------------------------------------


async def rules(conn: AsyncConnection, tenant: str) -> Rules:
    stored = await conn.scalar(
        text("SELECT rules FROM notification_rules WHERE tenant = :t"), {"t": tenant}
    )
    return Rules() if stored is None else Rules.of(json.loads(stored))


async def save_rules(
    conn: AsyncConnection, tenant: str, chosen: Rules, at: datetime
) -> None:
    await conn.execute(
        text(
            "INSERT INTO notification_rules (tenant, rules, updated_at) "
            "VALUES (:t, :r, :a) ON CONFLICT (tenant) DO UPDATE SET "
            "rules = excluded.rules, updated_at = excluded.updated_at"
        ),
        {"t": tenant, "r": json.dumps(chosen.as_dict()), "a": stamp(at)},
    )


async def tenants(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT tenant FROM notification_schedule UNION "
            "SELECT tenant FROM notification_upcoming UNION "
            "SELECT tenant FROM notification_milestones UNION "
            "SELECT tenant FROM notification_warnings UNION "
            "SELECT tenant FROM notification_recommendations ORDER BY tenant"
        )
    )
    return [r.tenant for r in rows]


_SCHEDULE = (
    "SELECT s.relationship_id, r.mentor_id, r.mentee_id, s.started_at, "
    "s.last_held_at, s.answered_at, s.cadence_days, s.state, s.warned_at, "
    "s.warned_for FROM notification_schedule s JOIN notification_relationships r "
    "ON r.tenant = s.tenant AND r.relationship_id = s.relationship_id "
    "WHERE s.tenant = :t AND s.started_at IS NOT NULL"
)


def _relationship(r: object) -> Relationship:
    g = r.__getattribute__
    started = moment(g("started_at"))
    assert started is not None
    return Relationship(
        relationship_id=g("relationship_id"),
        mentor_id=g("mentor_id"),
        mentee_id=g("mentee_id"),
        started_at=started,
        last_held_at=moment(g("last_held_at")),
        answered_at=moment(g("answered_at")),
        cadence_days=g("cadence_days"),
        state=g("state"),
        warned_at=moment(g("warned_at")),
        warned_for=moment(g("warned_for")),
    )


async def live(conn: AsyncConnection, tenant: str) -> list[Relationship]:
    """The tenant's relationships not concluded nor closed, with their pair."""
    rows = await conn.execute(
        text(
            _SCHEDULE
            + " AND s.state IN ('active', 'paused') ORDER BY s.relationship_id"
        ),
        {"t": tenant},
    )
    return [_relationship(r) for r in rows]


async def one(conn: AsyncConnection, tenant: str, rid: str) -> Relationship | None:
    row = (
        await conn.execute(
            text(_SCHEDULE + " AND s.relationship_id = :r"), {"t": tenant, "r": rid}
        )
    ).first()
    return None if row is None else _relationship(row)


async def mark(
    conn: AsyncConnection, tenant: str, rid: str, **values: str | None
) -> None:
    """Set columns of the relationship's row (warned_at, warned_for, answered_at, …)."""
    sets = ", ".join(f"{k} = :{k}" for k in values)
    await conn.execute(
        text(
            f"UPDATE notification_schedule SET {sets} WHERE tenant = :t AND relationship_id = :r"
        ),
        {"t": tenant, "r": rid, **values},
    )


@dataclass(frozen=True)
class Upcoming:
    session_id: str
    relationship_id: str
    starts_at: datetime
    pair: tuple[str, str]


async def upcoming(
    conn: AsyncConnection, tenant: str, after: datetime, until: datetime
) -> list[Upcoming]:
    rows = await conn.execute(
        text(
            "SELECT u.session_id, u.relationship_id, u.starts_at, r.mentor_id, "
            "r.mentee_id FROM notification_upcoming u JOIN notification_relationships "
            "r ON r.tenant = u.tenant AND r.relationship_id = u.relationship_id "
            "WHERE u.tenant = :t AND u.starts_at > :a AND u.starts_at <= :u "
            "ORDER BY u.starts_at"
        ),
        {"t": tenant, "a": stamp(after), "u": stamp(until)},
    )
    return [
        Upcoming(
            r.session_id,
            r.relationship_id,
            datetime.fromisoformat(r.starts_at),
            (r.mentor_id, r.mentee_id),
        )
        for r in rows
    ]


async def milestones(
    conn: AsyncConnection, tenant: str, until: date
) -> list[tuple[str, str, str, date]]:
    """Open milestones due by ``until``: (milestone, relationship, mentee, due_on)."""
    rows = await conn.execute(
        text(
            "SELECT m.milestone_id, m.relationship_id, r.mentee_id, m.due_on "
            "FROM notification_milestones m JOIN notification_relationships r "
            "ON r.tenant = m.tenant AND r.relationship_id = m.relationship_id "
            "WHERE m.tenant = :t AND m.due_on <= :u ORDER BY m.due_on"
        ),
        {"t": tenant, "u": until.isoformat()},
    )
    return [
        (r.milestone_id, r.relationship_id, r.mentee_id, date.fromisoformat(r.due_on))
        for r in rows
    ]


async def warnings(conn: AsyncConnection, tenant: str) -> list[tuple[str, datetime]]:
    rows = await conn.execute(
        text(
            "SELECT relationship_id, raised_at FROM notification_warnings "
            "WHERE tenant = :t ORDER BY relationship_id"
        ),
        {"t": tenant},
    )
    return [(r.relationship_id, datetime.fromisoformat(r.raised_at)) for r in rows]


async def coordinators(conn: AsyncConnection, tenant: str) -> tuple[str, ...]:
    rows = await conn.execute(
        text(
            "SELECT person_id FROM notification_coordinators WHERE tenant = :t "
            "ORDER BY person_id"
        ),
        {"t": tenant},
    )
    return tuple(r.person_id for r in rows)


Fact = Callable[[Envelope, AsyncConnection], Awaitable[None]]

# The inbound events the sweep learns from, by type.
HANDLERS: dict[str, Fact] = {
    "RelationshipStarted": on_relationship_started,
    "ContractDrafted": on_contract_drafted,
    "RelationshipPaused": on_paused,
    "RelationshipResumed": on_resumed,
    "RelationshipConcluded": on_concluded,
    "SessionScheduled": on_session_scheduled,
    "SessionRescheduled": on_session_rescheduled,
    "SessionHeld": on_session_held,
    "SessionCancelled": on_session_over,
    "SessionMissed": on_session_over,
    "MilestoneSet": on_milestone_set,
    "MilestoneAchieved": on_milestone_over,
    "MilestoneMissed": on_milestone_over,
    "EarlyWarningRaised": on_warning_raised,
    "RelationshipHealthChanged": on_health_changed,
    "ProgrammeRolesChanged": on_roles,
    "RecommendationMade": on_recommendation_made,
    "RecommendationAccepted": on_recommendation_decided,
    "RecommendationRejected": on_recommendation_decided,
    "CouncilMemberAdded": on_council_member_added,
    "CouncilMemberRemoved": on_council_member_removed,
}


def chained(handlers: Mapping[str, Fact]) -> dict[str, Fact]:
    """``handlers`` with what the sweep keeps of each event, in the same transaction."""
    out = dict(handlers)
    for kind, keep in HANDLERS.items():
        first = out.get(kind)
        if first is None:
            out[kind] = keep
            continue

        async def both(
            env: Envelope, conn: AsyncConnection, a: Fact = first, b: Fact = keep
        ) -> None:
            await a(env, conn)
            await b(env, conn)

        both.__name__ = f"{getattr(first, '__name__', kind)}_and_schedule"
        out[kind] = both
    return out
