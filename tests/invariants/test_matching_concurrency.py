"""Two busy coordinators (and a mentor changing their mind) at once, on PostgreSQL.

Each scenario is run many times with several concurrent calls through the service's
HTTP API, because a race shows only now and then. Whatever interleaving the event
loop and the database pick, a one-seat mentor ends with at most one live pairing
(proposed, approved or confirmed) and so at most one confirmed, no mentee holds two
live pairings in the cohort, and every refused call is a typed 4xx.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from tests.invariants import matching_helpers
from tests.invariants.matching_helpers import (
    INTAKE,
    LIVE,
    Org,
    admit,
    build_org,
    capacities,
    doubly_paired,
    feed,
    new_id,
    over_capacity,
    pairings,
    register,
    set_capacity,
)

pytestmark = pytest.mark.kafka
matching_pg = matching_helpers.matching_pg  # the fixture
ROUNDS = 12  # repetitions of each race
TYPED_REFUSALS = {"RoundInProgress", "CapacityExceeded", "InvalidTransition",
                  "MenteeAlreadyPaired", "ConcurrencyConflict", "RoundNotFinished",
                  "PinsRefused", "NothingToMatch", "ProposalExpired"}  # fmt: skip


def typed(resp) -> str:
    """A call either worked or was refused with a typed 4xx problem; which?"""
    if resp.status_code < 300:
        return "ok"
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] in TYPED_REFUSALS, resp.text
    return resp.json()["code"]


async def approve_and_accept_everything(c, org) -> None:
    """Every open proposal approved, then accepted by both people, all at once."""
    listed = (await c.get("/pairings", headers=org.coordinator)).json()
    answers = await asyncio.gather(
        *(
            c.post(f"/pairings/{p['pairing_id']}/approve", headers=org.coordinator)
            for p in listed
            if p["state"] == "proposed"
        )
    )
    for a in answers:
        typed(a)
    listed = (await c.get("/pairings", headers=org.coordinator)).json()
    calls = [
        c.post(f"/pairings/{p['pairing_id']}/accept", headers=org.person(who))
        for p in listed
        if p["state"] == "approved"
        for who in (p["mentee_id"], p["mentor_id"])
    ]
    random.shuffle(calls)
    for a in await asyncio.gather(*calls):
        typed(a)


async def start(c, org):
    return await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )


async def assert_invariants(app, org, *, seats: int = 1) -> Counter:
    rows = await pairings(app, org.tenant)
    (mentor,) = org.mentors
    states = Counter(r.state for r in rows if r.mentor_id == mentor)
    assert sum(states[s] for s in LIVE) <= seats, states
    assert states["confirmed"] <= seats, states
    assert over_capacity(rows, await capacities(app, org.tenant)) == {}
    assert doubly_paired(rows) == {}
    return states


async def test_concurrent_rounds_then_approvals_never_overbook_a_mentor(matching_pg):
    app, c = matching_pg
    confirmed, answers = 0, Counter()
    for _ in range(ROUNDS):
        org = await build_org(app, seats=[1], mentees=3)
        started = await asyncio.gather(
            *(
                c.post(
                    "/rounds?wait=true",
                    json={"cohort_id": org.cohort},
                    headers=org.coordinator,
                )
                for _ in range(3)
            )
        )
        answers.update(typed(s) for s in started)
        assert any(s.status_code == 202 for s in started)
        await approve_and_accept_everything(c, org)
        confirmed += (await assert_invariants(app, org))["confirmed"]
    assert confirmed == ROUNDS, "each cohort still gets its one pairing"
    assert answers["RoundInProgress"], "the rounds did run at the same time"


async def test_capacity_changes_during_approvals_never_overbook(matching_pg):
    """The mentor's seats flicker 1 → 0 → 1 while rounds, approvals and acceptances
    run: whatever order they land in, nothing open stays above the seats, and the
    one seat is confirmed at most once."""
    app, c = matching_pg
    for _ in range(ROUNDS):
        org = await build_org(app, seats=[1], mentees=3)
        (mentor,) = org.mentors
        first = await c.post(
            "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
        )
        typed(first)
        work = [
            approve_and_accept_everything(c, org),
            set_capacity(app, org, mentor, 0),
            start(c, org),
            start(c, org),
            set_capacity(app, org, mentor, 1),
            approve_and_accept_everything(c, org),
        ]
        random.shuffle(work)
        for result in await asyncio.gather(*work):
            if result is not None:
                typed(result)
        await set_capacity(app, org, mentor, 1)
        for result in await asyncio.gather(
            approve_and_accept_everything(c, org), start(c, org), start(c, org)
        ):
            if result is not None:
                typed(result)
        await approve_and_accept_everything(c, org)
        await assert_invariants(app, org)


async def test_concurrent_reruns_and_approvals_never_overbook(matching_pg):
    app, c = matching_pg
    for _ in range(ROUNDS):
        org = await build_org(app, seats=[1], mentees=3)
        first = (
            await c.post(
                "/rounds?wait=true",
                json={"cohort_id": org.cohort},
                headers=org.coordinator,
            )
        ).json()
        work = [
            *(
                c.post(
                    f"/rounds/{first['round_id']}/rerun",
                    json={"pins": []},
                    headers=org.coordinator,
                )
                for _ in range(2)
            ),
            start(c, org),
            start(c, org),
        ]
        random.shuffle(work)
        for r in await asyncio.gather(*work):
            typed(r)
        await approve_and_accept_everything(c, org)
        await assert_invariants(app, org)


async def test_rounds_of_two_cohorts_sharing_a_mentor_never_overbook(matching_pg):
    """Seats are the mentor's, not the cohort's: two cohorts' rounds at once (each
    with a cohort of its own to run in) still give a one-seat mentor one pairing."""
    app, c = matching_pg
    for _ in range(ROUNDS):
        org = await build_org(app, seats=[1], mentees=2)
        other = Org(org.tenant, new_id("cohort"), org.mentors, [])
        await feed(
            app,
            org.tenant,
            "CohortCreated",
            cohort_id=other.cohort,
            name="Leaders B",
            capacity=50,
        )
        await admit(app, other, org.mentors[0], "mentor")
        for n in range(2):
            mentee = new_id(f"b-mentee{n}")
            await register(app, org.tenant, mentee, level=5, roles=["mentee"])
            await feed(app, org.tenant, "IntakeSubmitted", person_id=mentee, **INTAKE)
            await admit(app, other, mentee, "mentee")
        for s in await asyncio.gather(start(c, org), start(c, other)):
            typed(s)
        await asyncio.gather(
            approve_and_accept_everything(c, org),
            approve_and_accept_everything(c, other),
        )
        await assert_invariants(app, org)
