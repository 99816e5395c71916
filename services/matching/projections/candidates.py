"""Matching's own view of the people it pairs, built from the profiles topic.

Only what profiles publishes (pseudonymous ids, organisational attributes, mentor
profiles, intake goals, consented demographics) lands here. Each handler is applied
exactly once by the consumer runner, in the same transaction as its row changes.
``PersonErased`` removes every row about the person.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.envelope import Envelope
from chassis.messaging import Handler
from services.matching.projections.tables import CANDIDATE_VIEW, metadata

ATTRIBUTES = (
    "level", "business_unit", "function", "geography", "time_zone", "manager_id",
    "tenure_start",
)  # fmt: skip


async def create_schema(engine: AsyncEngine) -> None:
    """The candidate view's tables, for a runtime that keeps only this view (the
    service creates all of ``tables.metadata``)."""
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync: metadata.create_all(sync, tables=list(CANDIDATE_VIEW))
        )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def _set(conn: AsyncConnection, env: Envelope, **columns: Any) -> None:
    """Set columns of a candidate, creating the row if this is the first event seen."""
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    await conn.execute(
        text(
            f"INSERT INTO candidates (person_id, tenant, {names}) VALUES (:pid, :t, {marks}) "
            f"ON CONFLICT (person_id) DO UPDATE SET {updates}"
        ),
        {"pid": env.data["person_id"], "t": env.tenant, **columns},
    )


async def on_person(env: Envelope, conn: AsyncConnection) -> None:
    d = env.data
    await _set(
        conn,
        env,
        **{a: d.get(a) for a in ATTRIBUTES},
        languages=_json(d.get("languages", [])),
        roles=_json(d.get("roles", [])),
    )


async def on_roles(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, roles=_json(env.data["roles"]))


async def on_mentor_profile(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, mentor_profile=_json(env.data))


async def on_capacity(env: Envelope, conn: AsyncConnection) -> None:
    row = (
        await conn.execute(
            text("SELECT mentor_profile FROM candidates WHERE person_id = :p"),
            {"p": env.data["person_id"]},
        )
    ).first()
    profile = json.loads(row.mentor_profile) if row and row.mentor_profile else {}
    profile.update(
        max_mentees=env.data["max_mentees"], hours_per_month=env.data["hours_per_month"]
    )
    await _set(conn, env, mentor_profile=_json(profile))


async def on_intake(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, intake=_json(env.data))


async def on_demographics(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, demographics=_json(env.data["attributes"]))


async def on_demographics_withdrawn(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, demographics=None)


async def on_deactivated(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, active=0)


async def on_reactivated(env: Envelope, conn: AsyncConnection) -> None:
    await _set(conn, env, active=1)


async def on_competency(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO competencies (tenant, competency_id, name) VALUES (:t, :c, :n) "
            "ON CONFLICT (tenant, competency_id) DO UPDATE SET name = excluded.name"
        ),
        {"t": env.tenant, "c": env.data["competency_id"], "n": env.data["name"]},
    )


async def on_competency_retired(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "UPDATE competencies SET retired = 1 WHERE tenant = :t AND competency_id = :c"
        ),
        {"t": env.tenant, "c": env.data["competency_id"]},
    )


async def on_cohort(env: Envelope, conn: AsyncConnection) -> None:
    d = env.data
    await conn.execute(
        text(
            "INSERT INTO cohorts (cohort_id, tenant, name, programme_type, capacity, "
            "definition) VALUES (:c, :t, :n, :p, :cap, :d) ON CONFLICT (cohort_id) DO NOTHING"
        ),
        {
            "c": d["cohort_id"],
            "t": env.tenant,
            "n": d["name"],
            "p": d.get("programme_type", "standard"),
            "cap": d["capacity"],
            "d": _json(d),
        },
    )


async def on_cohort_capacity(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text("UPDATE cohorts SET capacity = :cap WHERE cohort_id = :c"),
        {"cap": env.data["capacity"], "c": env.data["cohort_id"]},
    )


async def on_admitted(env: Envelope, conn: AsyncConnection) -> None:
    d = env.data
    await conn.execute(
        text(
            "INSERT INTO cohort_members (cohort_id, person_id, tenant, role) "
            "VALUES (:c, :p, :t, :r) ON CONFLICT (cohort_id, person_id) "
            "DO UPDATE SET role = excluded.role"
        ),
        {"c": d["cohort_id"], "p": d["person_id"], "t": env.tenant, "r": d["role"]},
    )


async def on_withdrew(env: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text("DELETE FROM cohort_members WHERE cohort_id = :c AND person_id = :p"),
        {"c": env.data["cohort_id"], "p": env.data["person_id"]},
    )


# Tables (and columns) of this module that hold a person id.
PERSON_TABLES: list[tuple[str, str]] = [
    ("candidates", "person_id"),
    ("cohort_members", "person_id"),
]


def erasure(tables: Sequence[tuple[str, str]]) -> Handler:
    """``PersonErased``: the person leaves every listed table."""

    async def on_erased(env: Envelope, conn: AsyncConnection) -> None:
        pid = env.data["person_id"]
        for table, column in tables:
            await conn.execute(
                text(f"DELETE FROM {table} WHERE {column} = :p"), {"p": pid}
            )

    return on_erased


def handlers(forget: Sequence[tuple[str, str]] = PERSON_TABLES) -> dict[str, Handler]:
    """The profiles events the candidate view follows; erasure clears ``forget``."""
    return {**HANDLERS, "PersonErased": erasure(forget)}


HANDLERS: dict[str, Handler] = {
    "PersonRegistered": on_person,
    "PersonDetailsUpdated": on_person,
    "ProgrammeRolesChanged": on_roles,
    "MentorProfileSet": on_mentor_profile,
    "MentorCapacityChanged": on_capacity,
    "IntakeSubmitted": on_intake,
    "DemographicsShared": on_demographics,
    "DemographicsWithdrawn": on_demographics_withdrawn,
    "PersonDeactivated": on_deactivated,
    "PersonReactivated": on_reactivated,
    "CompetencyDefined": on_competency,
    "CompetencyRetired": on_competency_retired,
    "CohortCreated": on_cohort,
    "CohortCapacityChanged": on_cohort_capacity,
    "ParticipantAdmitted": on_admitted,
    "ParticipantWithdrew": on_withdrew,
}
