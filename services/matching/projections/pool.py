"""The people a round may pair, read from the candidate view.

Mentees are the cohort's admitted mentees without an open or confirmed pairing in it.
Mentors are the cohort's mentors (or, for the whole tenant, everyone with a mentor
profile) whose seats are not all promised: open proposals and confirmed pairings both
hold a seat. The pool is a snapshot: whoever records a proposal from it checks the
seats again in that transaction (``application.seats``).

Everyone carries their whole reporting chain, not only their direct manager: the
chart is walked up through the candidate view (every person profiles registered,
in the cohort or not) with a recursive query, so the reporting-line rule covers a
manager's manager's manager too. A cycle in the chart ends the walk.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.errors import NotFound
from contracts.matching import ProgrammeType
from services.matching.domain.candidates import (
    MenteeProfile,
    MentorProfile,
    reporting_chains,
)
from services.matching.projections.advisors import ADVISOR_ROLE

MENTOR_ROLES = ("mentor", "reverse_mentor")


@dataclass
class Pool:
    cohort_id: str
    programme_type: ProgrammeType
    mentees: list[MenteeProfile] = field(default_factory=list)
    mentors: list[MentorProfile] = field(default_factory=list)
    competency_names: dict[str, str] = field(default_factory=dict)
    forbidden: list[tuple[str, str]] = field(default_factory=list)  # (mentee, mentor)


def person_record(row: Any, chains: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "reporting_chain": chains.get(row.person_id, ()),
        "person_id": row.person_id,
        "level": row.level,
        "business_unit": row.business_unit,
        "function": row.function,
        "geography": row.geography,
        "time_zone": row.time_zone,
        "manager_id": row.manager_id,
        "languages": json.loads(row.languages),
        "roles": json.loads(row.roles),
    }


async def load_pool(
    conn: AsyncConnection,
    tenant: str,
    cohort_id: str,
    *,
    only_mentees: set[str] | None = None,
    exclude_pairs: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    released: set[str] = frozenset(),  # type: ignore[assignment]
) -> Pool:
    """The cohort's pool; ``released`` pairings count as already withdrawn (a
    re-run checks its pins against the pool it is about to make)."""
    cohort = (
        await conn.execute(
            text(
                "SELECT programme_type FROM cohorts WHERE cohort_id = :c AND tenant = :t"
            ),
            {"c": cohort_id, "t": tenant},
        )
    ).first()
    if cohort is None:
        raise NotFound(f"cohort {cohort_id} not found")
    pool = Pool(cohort_id, ProgrammeType(cohort.programme_type))
    members = (
        await conn.execute(
            text(
                "SELECT c.*, m.role AS cohort_role FROM cohort_members m "
                "JOIN candidates c ON c.person_id = m.person_id "
                "WHERE m.cohort_id = :c AND m.tenant = :t AND c.active = 1 "
                "ORDER BY c.person_id"
            ),
            {"c": cohort_id, "t": tenant},
        )
    ).all()
    params = {"t": tenant, "c": cohort_id}
    mentees_busy = Counter(
        r.mentee_id
        for r in await conn.execute(
            text(
                "SELECT mentee_id FROM pairings WHERE tenant = :t AND cohort_id = :c "
                "AND state IN ('proposed', 'approved', 'confirmed')"
            ),
            params,
        )
    )
    seats = Counter(
        {
            r.mentor_id: r.n
            for r in await conn.execute(
                text(
                    "SELECT mentor_id, count(*) AS n FROM pairings WHERE tenant = :t "
                    "AND state IN ('proposed', 'approved', 'confirmed') "
                    "GROUP BY mentor_id"
                ),
                params,
            )
        }
    )
    if released:  # as if already withdrawn: their seats and mentees are free
        for r in await conn.execute(
            text(
                "SELECT mentor_id, mentee_id, cohort_id FROM pairings WHERE "
                "tenant = :t AND pairing_id IN :ids "
                "AND state IN ('proposed', 'approved', 'confirmed')"
            ).bindparams(bindparam("ids", expanding=True)),
            {"t": tenant, "ids": sorted(released)},
        ):
            seats[r.mentor_id] -= 1
            if r.cohort_id == cohort_id:
                mentees_busy[r.mentee_id] -= 1
    busy = {mentee for mentee, n in mentees_busy.items() if n > 0}
    chains = await chains_of(conn, tenant, [r.person_id for r in members])
    for row in members:
        demographics = json.loads(row.demographics) if row.demographics else None
        if row.cohort_role == "mentee" and row.intake and row.person_id not in busy:
            if only_mentees is None or row.person_id in only_mentees:
                pool.mentees.append(
                    MenteeProfile.from_records(
                        person_record(row, chains), json.loads(row.intake), demographics
                    )
                )
        elif row.cohort_role in MENTOR_ROLES and row.mentor_profile:
            profile = json.loads(row.mentor_profile)
            pool.mentors.append(
                MentorProfile.from_records(
                    person_record(row, chains),
                    profile,
                    demographics,
                    active_mentees=min(
                        seats.get(row.person_id, 0), profile.get("max_mentees", 0)
                    ),
                )
            )
    if pool.programme_type == "external":
        # External programmes pair mentees with the tenant's approved advisors.
        advisors = await conn.execute(
            text(
                "SELECT * FROM candidates WHERE tenant = :t AND active = 1 "
                "AND roles LIKE :role AND mentor_profile IS NOT NULL ORDER BY person_id"
            ),
            {"t": tenant, "role": f'%"{ADVISOR_ROLE}"%'},
        )
        for row in advisors:
            profile = json.loads(row.mentor_profile)
            pool.mentors.append(
                MentorProfile.from_records(
                    person_record(row, chains),
                    profile,
                    None,
                    kind="external",
                    active_mentees=min(
                        seats.get(row.person_id, 0), profile.get("max_mentees", 0)
                    ),
                )
            )
    names = await conn.execute(
        text("SELECT competency_id, name FROM competencies WHERE tenant = :t"),
        {"t": tenant},
    )
    pool.competency_names = {r.competency_id: r.name for r in names}
    forbidden = await conn.execute(
        text("SELECT mentee_id, mentor_id FROM forbidden_pairs WHERE tenant = :t"),
        {"t": tenant},
    )
    pool.forbidden = [(r.mentee_id, r.mentor_id) for r in forbidden] + sorted(
        exclude_pairs
    )
    return pool


async def chains_of(
    conn: AsyncConnection, tenant: str, person_ids: list[str]
) -> dict[str, tuple[str, ...]]:
    """Each person's managers, nearest first, as far up as the candidate view knows.

    The recursive query follows ``manager_id`` within the tenant; ``UNION`` keeps
    each (person, manager) edge once, so it ends on a cyclic chart too."""
    if not person_ids:
        return {}
    rows = await conn.execute(
        text(
            "WITH RECURSIVE up(person_id, manager_id) AS ("
            " SELECT person_id, manager_id FROM candidates"
            " WHERE tenant = :t AND person_id IN :ids AND manager_id IS NOT NULL"
            " UNION"
            " SELECT c.person_id, c.manager_id FROM candidates c"
            " JOIN up ON c.person_id = up.manager_id"
            " WHERE c.tenant = :t AND c.manager_id IS NOT NULL"
            ") SELECT person_id, manager_id FROM up"
        ).bindparams(bindparam("ids", expanding=True)),
        {"t": tenant, "ids": sorted(set(person_ids))},
    )
    manager_of = {r.person_id: r.manager_id for r in rows}
    return reporting_chains(person_ids, manager_of)
