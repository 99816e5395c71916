"""Approved external advisors join matching's candidates (from ``tandem.advisors.v1``).

An approved advisor is offered as an external mentor; a suspended or offboarded one is
not (the row stays inactive so a reinstatement brings them back); an erased one leaves
every table an erased person leaves (their candidate row holds their industries,
markets, functions and crises, personal fields of ``AdvisorApproved``; a pairing's
explanation may quote them). Cohorts whose programme type is ``external`` draw their
mentors from these advisors.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from chassis.messaging import Handler
from services.matching.projections import candidates, pairings

ADVISOR_ROLE = "external_advisor"
PROFILE_FIELDS = (
    "strengths", "industries", "markets", "functions_led", "crisis_experience",
    "formats", "max_mentees", "hours_per_month", "availability",
)  # fmt: skip


async def on_approved(env: Envelope, conn: AsyncConnection) -> None:
    d = env.data
    profile = {k: d.get(k) for k in PROFILE_FIELDS if d.get(k) is not None}
    await conn.execute(
        text(
            "INSERT INTO candidates (person_id, tenant, level, business_unit, function, "
            "geography, time_zone, languages, roles, active, mentor_profile) VALUES "
            "(:p, :t, :level, 'External', 'Advisory', :geo, :tz, :lang, :roles, 1, :profile) "
            "ON CONFLICT (person_id) DO UPDATE SET level = excluded.level, "
            "geography = excluded.geography, time_zone = excluded.time_zone, "
            "languages = excluded.languages, roles = excluded.roles, active = 1, "
            "mentor_profile = excluded.mentor_profile"
        ),
        {
            "p": d["advisor_id"],
            "t": env.tenant,
            "level": d.get("level", 10),
            "geo": d["geography"],
            "tz": d["time_zone"],
            "lang": json.dumps(d.get("languages", [])),
            "roles": json.dumps([ADVISOR_ROLE]),
            "profile": json.dumps(profile),
        },
    )


def _active(value: int) -> Handler:
    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        await conn.execute(
            text("UPDATE candidates SET active = :a WHERE person_id = :p"),
            {"a": value, "p": env.data["advisor_id"]},
        )

    return handle


async def on_erased(env: Envelope, conn: AsyncConnection) -> None:
    for table, column in candidates.PERSON_TABLES + pairings.PERSON_TABLES:
        await conn.execute(
            text(f"DELETE FROM {table} WHERE {column} = :p"),
            {"p": env.data["advisor_id"]},
        )


HANDLERS: dict[str, Handler] = {
    "AdvisorApproved": on_approved,
    "AdvisorSuspended": _active(0),
    "AdvisorOffboarded": _active(0),
    "AdvisorReinstated": _active(1),
    "AdvisorErased": on_erased,
}
