"""One mentee in the cohort's pool: which cohort, whom they have had, whom they
dismissed (the ranking of their mentors is ``application.suggestions``).

The pool itself (``load_pool``) leaves out mentees with an open or confirmed pairing;
re-pairing and rotation plans are for exactly such mentees, so ``mentee_pool`` puts
the mentee back in from the candidate view.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.errors import DomainError, FieldError, NotFound, ValidationFailed
from contracts import matching as m
from services.matching.domain.candidates import MenteeProfile
from services.matching.projections.pool import (
    Pool,
    chains_of,
    load_pool,
    person_record,
)


class MenteeNotInCohort(NotFound):
    code = "MenteeNotInCohort"
    title = "Not a mentee of the cohort"


class IntakeMissing(DomainError):
    code = "IntakeMissing"
    title = "The mentee has not submitted an intake"


# -- reads on the candidate view and the pairings projection ----------------------------


async def cohort_of(
    conn: AsyncConnection, tenant: str, mentee_id: str, cohort_id: str | None
) -> str:
    """The cohort the person is an admitted mentee of (the one named, or their only)."""
    sql = (
        "SELECT cohort_id FROM cohort_members WHERE tenant = :t AND person_id = :p "
        "AND role = 'mentee'"
    )
    params = {"t": tenant, "p": mentee_id}
    if cohort_id is not None:
        sql += " AND cohort_id = :c"
        params["c"] = cohort_id
    cohorts = sorted(r.cohort_id for r in await conn.execute(text(sql), params))
    if not cohorts:
        where = f"cohort {cohort_id}" if cohort_id else "any cohort"
        raise MenteeNotInCohort(f"{mentee_id} is not an admitted mentee of {where}")
    if len(cohorts) > 1:
        raise ValidationFailed(
            [FieldError("cohort_id", f"the mentee is in {len(cohorts)} cohorts")]
        )
    return cohorts[0]


async def mentee_pool(
    conn: AsyncConnection,
    tenant: str,
    cohort_id: str,
    mentee_id: str,
    exclude: set[tuple[str, str]],
    whole_cohort: bool = False,
) -> Pool:
    """The cohort's pool with this mentee in it, even one already paired (the pool
    itself leaves out mentees with an open or confirmed pairing)."""
    only = None if whole_cohort else {mentee_id}
    pool = await load_pool(
        conn, tenant, cohort_id, only_mentees=only, exclude_pairs=exclude
    )
    if all(p.person_id != mentee_id for p in pool.mentees):
        pool.mentees.append(await mentee_profile(conn, tenant, cohort_id, mentee_id))
    return pool


async def mentee_profile(
    conn: AsyncConnection, tenant: str, cohort_id: str, mentee_id: str
) -> MenteeProfile:
    row = (
        await conn.execute(
            text(
                "SELECT c.* FROM cohort_members m JOIN candidates c "
                "ON c.person_id = m.person_id WHERE m.cohort_id = :c AND m.tenant = :t "
                "AND m.person_id = :p AND m.role = 'mentee' AND c.active = 1"
            ),
            {"c": cohort_id, "t": tenant, "p": mentee_id},
        )
    ).first()
    if row is None:
        raise MenteeNotInCohort(f"{mentee_id} is not an active mentee of {cohort_id}")
    if not row.intake:
        raise IntakeMissing(f"{mentee_id} has not submitted an intake yet")
    demographics = json.loads(row.demographics) if row.demographics else None
    chains = await chains_of(conn, tenant, [mentee_id])
    return MenteeProfile.from_records(
        person_record(row, chains), json.loads(row.intake), demographics
    )


async def mentors_of(
    conn: AsyncConnection, tenant: str, mentee_id: str, cohort_id: str | None = None
) -> set[str]:
    """Every mentor the mentee was ever proposed with (in the cohort, if named)."""
    sql = "SELECT mentor_id FROM pairings WHERE tenant = :t AND mentee_id = :e"
    params = {"t": tenant, "e": mentee_id}
    if cohort_id is not None:
        sql += " AND cohort_id = :c"
        params["c"] = cohort_id
    return {r.mentor_id for r in await conn.execute(text(sql), params)}


async def dismissals(conn: AsyncConnection, tenant: str) -> dict[str, set[str]]:
    """Every mentee's dismissed mentors, for the cohort-wide suggestion board."""
    rows = await conn.execute(
        text(
            "SELECT mentee_id, mentor_id FROM dismissed_suggestions WHERE tenant = :t"
        ),
        {"t": tenant},
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r.mentee_id, set()).add(r.mentor_id)
    return out


async def ruled_out(
    conn: AsyncConnection, tenant: str, mentee_id: str, cohort_id: str | None = None
) -> set[tuple[str, str]]:
    """(mentee, mentor) pairs never to propose again: every mentor the mentee was
    proposed with (in the cohort, if named) and every mentor they dismissed."""
    mentors = await mentors_of(conn, tenant, mentee_id, cohort_id)
    mentors |= (await dismissals(conn, tenant)).get(mentee_id, set())
    return {(mentee_id, r) for r in mentors}


async def waiting_elsewhere(
    conn: AsyncConnection, tenant: str, cohort_id: str, freed: m.PairingProposed
) -> bool:
    """True when the mentee already has another open proposal in the cohort (or a
    confirmed pairing, unless the freed proposal was itself a replacement)."""
    states = ("proposed", "approved") + (() if freed.replaces else ("confirmed",))
    marks = ", ".join(f"'{s}'" for s in states)
    found = await conn.execute(
        text(
            "SELECT 1 FROM pairings WHERE tenant = :t AND cohort_id = :c AND "
            f"mentee_id = :e AND state IN ({marks}) LIMIT 1"
        ),
        {"t": tenant, "c": cohort_id, "e": freed.mentee_id},
    )
    return found.first() is not None


async def replacement_open(conn: AsyncConnection, tenant: str, pairing_id: str) -> bool:
    found = await conn.execute(
        text(
            "SELECT 1 FROM pairings WHERE tenant = :t AND replaces = :r AND "
            "state IN ('proposed', 'approved') LIMIT 1"
        ),
        {"t": tenant, "r": pairing_id},
    )
    return found.first() is not None
