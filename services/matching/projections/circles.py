"""A group round's circles as they stand: each mentor with the mentees still placed
with them, and the goals those mentees share (``domain.circles``).

Read from the pairings view (proposals declined, expired or withdrawn are left out,
as the gateway's circles leave them out) and the mentees' intakes in the candidate
view, so a circle a mentee left no longer counts their goals. An erased or
intake-less mentee counts as wanting nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.api.matching import CircleView, SharedGoal
from contracts.matching import PairingState
from services.matching.domain.candidates import Goal
from services.matching.domain.circles import form

LEFT = (PairingState.DECLINED, PairingState.EXPIRED, PairingState.WITHDRAWN)


def growth_goals(intake: str | None) -> frozenset[str]:
    """The competency ids an intake wants to grow (a target above the current)."""
    goals = json.loads(intake).get("goals", ()) if intake else ()
    return frozenset(
        g["competency_id"]
        for g in goals
        if Goal(g["competency_id"], int(g["current"]), int(g["target"])).gap > 0
    )


async def circles_of_round(
    conn: AsyncConnection, tenant: str, round_id: str
) -> list[CircleView]:
    """The round's circles: its mentors with two or more mentees still in."""
    return (await circles_of_rounds(conn, tenant, [round_id]))[round_id]


async def circles_of_rounds(
    conn: AsyncConnection, tenant: str, round_ids: Sequence[str]
) -> dict[str, list[CircleView]]:
    """Each round's circles (as ``circles_of_round``), for any number of rounds in
    three statements: their pairings, their mentees' intakes, the competency names."""
    wanted = sorted(set(round_ids))
    out: dict[str, list[CircleView]] = {r: [] for r in wanted}
    if not wanted:
        return out
    rows = (
        await conn.execute(
            text(
                "SELECT round_id, mentor_id, mentee_id FROM pairings WHERE tenant = :t "
                "AND round_id IN :rounds AND state NOT IN :left "
                "ORDER BY proposed_at, pairing_id"
            ).bindparams(
                bindparam("rounds", expanding=True), bindparam("left", expanding=True)
            ),
            {"t": tenant, "rounds": wanted, "left": [s.value for s in LEFT]},
        )
    ).all()
    members: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        placed = members.setdefault(row.round_id, {})
        placed.setdefault(row.mentor_id, []).append(row.mentee_id)
    members = {
        round_id: {m: kept for m, kept in circles.items() if len(kept) >= 2}
        for round_id, circles in members.items()
    }
    mentees = sorted(
        {e for circles in members.values() for kept in circles.values() for e in kept}
    )
    if not mentees:
        return out
    intakes = {
        r.person_id: r.intake
        for r in await conn.execute(
            text(
                "SELECT person_id, intake FROM candidates WHERE tenant = :t "
                "AND person_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"t": tenant, "ids": mentees},
        )
    }
    names = {
        r.competency_id: r.name
        for r in await conn.execute(
            text("SELECT competency_id, name FROM competencies WHERE tenant = :t"),
            {"t": tenant},
        )
    }
    for round_id, circles in members.items():
        for mentor_id, kept in circles.items():
            circle = form(mentor_id, [(e, growth_goals(intakes.get(e))) for e in kept])
            out[round_id].append(
                CircleView(
                    mentor_id=mentor_id,
                    mentee_ids=list(circle.mentee_ids),
                    shared_goals=[
                        SharedGoal(competency_id=c, name=names.get(c) or c, members=k)
                        for c, k in circle.shared_goals
                    ],
                    affinity=round(circle.affinity, 4),
                )
            )
    return out
