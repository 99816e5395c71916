"""Commands validate fully before they change anything; refusals are typed.

On PostgreSQL: a re-run (or a start) whose pins cannot be honoured is refused by the
call itself, every bad pin listed, with every proposal of the round still there and
no ``RoundFailed``; an approval or acceptance for a full mentor is
``CapacityExceeded`` and changes nothing; a second round of a running cohort is
``RoundInProgress``; a mentor who lowers their capacity loses surplus proposals,
never a confirmed pairing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chassis.auth.principal import system_principal
from chassis.http import metadata_for
from chassis.service import mounted
from contracts import matching as m
from services.matching.application.pairings import Pairings
from services.matching.application.rounds import Rounds
from services.matching.domain.pairing import Pairing
from tests.invariants import matching_helpers
from tests.invariants.matching_helpers import (
    build_org,
    event_types,
    pairings,
    set_capacity,
    snapshot,
)

pytestmark = pytest.mark.kafka
matching_pg = matching_helpers.matching_pg  # the fixture


async def first_round(c, org) -> dict:
    resp = await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "completed"
    return resp.json()


async def test_a_rerun_with_pins_it_cannot_honour_is_refused_and_changes_nothing(
    matching_pg,
):
    app, c = matching_pg
    org = await build_org(app, seats=[2, 0], mentees=3)
    full, no_seat = org.mentors
    done = await first_round(c, org)
    assert done["proposed"] == 2
    (waiting,) = done["unmatched"]
    paired = [e for e in org.mentees if e != waiting]
    forbid = await c.post(
        "/forbidden-pairs",
        json={"mentor_id": full, "mentee_id": waiting, "reason": "same project"},
        headers=org.coordinator,
    )
    assert forbid.status_code == 201
    before = await snapshot(app, org.tenant)
    stranger = str(uuid.uuid4())
    cases = [
        # (pins, code, the reason named for the first pin)
        ([(waiting, no_seat)], "CapacityExceeded", "no seat left"),
        ([(waiting, stranger)], "PinsRefused", "not a mentor of the cohort"),
        ([(stranger, full)], "PinsRefused", "not a mentee of the cohort"),
        ([(waiting, full)], "PinsRefused", "a coordinator forbade this pair"),
        (
            [(waiting, no_seat), (stranger, full), (paired[0], full)],
            "PinsRefused",
            "no seat left",
        ),
    ]
    for pins, code, reason in cases:
        body = {"pins": [{"mentee_id": e, "mentor_id": r} for e, r in pins]}
        resp = await c.post(
            f"/rounds/{done['round_id']}/rerun", json=body, headers=org.coordinator
        )
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert problem["code"] == code, problem
        assert reason in problem["pins"][0]["reasons"][0]
        if len(pins) == 3:  # every bad pin listed, the good one left out
            listed = {(p["mentee_id"], p["mentor_id"]) for p in problem["pins"]}
            assert listed == set(pins[:2]), problem
        assert await snapshot(app, org.tenant) == before, f"{pins} changed something"
    # The same holds for a start with pins.
    started = await c.post(
        "/rounds?wait=true",
        json={
            "cohort_id": org.cohort,
            "pins": [{"mentee_id": waiting, "mentor_id": stranger}],
        },
        headers=org.coordinator,
    )
    assert started.status_code == 422 and started.json()["code"] == "PinsRefused"
    kinds = await event_types(app, org.tenant)
    assert kinds["RoundFailed"] == 0 and kinds["PairingWithdrawn"] == 0
    assert kinds["RoundStarted"] == 1
    rows = await pairings(app, org.tenant)
    assert sorted(r.state for r in rows) == ["proposed", "proposed"]


async def test_a_pin_on_a_seat_the_rerun_frees_is_honoured(matching_pg):
    """The pins are checked against the pool as the re-run will make it: a seat
    held by a proposal the re-run withdraws is free for a pin."""
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=2)
    (mentor,) = org.mentors
    done = await first_round(c, org)
    (waiting,) = done["unmatched"]
    resp = await c.post(
        f"/rounds/{done['round_id']}/rerun",
        json={"pins": [{"mentee_id": waiting, "mentor_id": mentor}]},
        headers=org.coordinator,
    )
    assert resp.status_code == 200, resp.text
    rows = await pairings(app, org.tenant)
    live = [(r.mentee_id, r.mentor_id) for r in rows if r.state == "proposed"]
    assert live == [(waiting, mentor)]


async def test_approval_and_acceptance_for_a_full_mentor_change_nothing(matching_pg):
    """A one-seat mentor with two proposals (made before seats were checked, say):
    neither can be approved until one goes, and the refusal records nothing."""
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=2)
    (mentor,) = org.mentors
    ids = []
    for mentee in org.mentees:
        pid = str(uuid.uuid4())
        await (
            mounted(app)
            .provide(Pairings)
            .pairings.save(
                Pairing.propose(
                    org.tenant,
                    m.PairingProposed(
                        pairing_id=pid,
                        cohort_id=org.cohort,
                        mentor_id=mentor,
                        mentee_id=mentee,
                        score=0.5,
                        expires_at=datetime.now(UTC) + timedelta(days=7),
                    ),
                ),
                metadata_for(system_principal(org.tenant)),
            )
        )
        ids.append(pid)
    before = await snapshot(app, org.tenant)
    for pid in ids:
        resp = await c.post(f"/pairings/{pid}/approve", headers=org.coordinator)
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert problem["code"] == "CapacityExceeded"
        assert problem["mentor_id"] == mentor and problem["capacity"] == 1
    assert await snapshot(app, org.tenant) == before

    withdrawn = await c.post(
        f"/pairings/{ids[1]}/withdraw",
        json={"reason": "one seat only"},
        headers=org.coordinator,
    )
    assert withdrawn.status_code == 204
    assert (
        await c.post(f"/pairings/{ids[0]}/approve", headers=org.coordinator)
    ).json()["state"] == "approved"
    # The mentor has since stepped back to no seat: the pairing is withdrawn by
    # matching itself (an open proposal beyond capacity), so accepting it is refused.
    await set_capacity(app, org, mentor, 0)
    accepted = await c.post(
        f"/pairings/{ids[0]}/accept", headers=org.person(org.mentees[0])
    )
    assert accepted.status_code == 422
    assert accepted.json()["code"] == "InvalidTransition"
    rows = {r.pairing_id: r.state for r in await pairings(app, org.tenant)}
    assert rows == {ids[0]: "withdrawn", ids[1]: "withdrawn"}


async def test_lower_capacity_withdraws_proposals_first_and_keeps_confirmed(
    matching_pg,
):
    app, c = matching_pg
    org = await build_org(app, seats=[3], mentees=3)
    (mentor,) = org.mentors
    await first_round(c, org)
    rows = await pairings(app, org.tenant)
    assert len(rows) == 3
    confirmed, approved, proposed = (r.pairing_id for r in rows)
    await c.post(f"/pairings/{confirmed}/approve", headers=org.coordinator)
    await c.post(f"/pairings/{approved}/approve", headers=org.coordinator)
    for who in (mentor, next(r.mentee_id for r in rows if r.pairing_id == confirmed)):
        await c.post(f"/pairings/{confirmed}/accept", headers=org.person(who))

    await set_capacity(app, org, mentor, 2)
    states = {r.pairing_id: r.state for r in await pairings(app, org.tenant)}
    assert states == {
        confirmed: "confirmed",
        approved: "approved",
        proposed: "withdrawn",
    }
    await set_capacity(app, org, mentor, 0)
    states = {r.pairing_id: r.state for r in await pairings(app, org.tenant)}
    assert states[confirmed] == "confirmed", "a running pair is never ended for it"
    assert states[approved] == "withdrawn"


async def test_a_second_round_of_a_running_cohort_is_round_in_progress(matching_pg):
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=2)
    gate = asyncio.Event()
    real = mounted(app).provide(Rounds)._work

    async def held(*args, **kwargs):
        await gate.wait()
        await real(*args, **kwargs)

    mounted(app).provide(Rounds)._work = held
    try:
        running = await c.post(
            "/rounds", json={"cohort_id": org.cohort}, headers=org.coordinator
        )
        assert running.status_code == 202 and running.json()["status"] == "running"
        second = await c.post(
            "/rounds", json={"cohort_id": org.cohort}, headers=org.coordinator
        )
        assert second.status_code == 409, second.text
        assert second.json()["code"] == "RoundInProgress"
        rerun = await c.post(
            f"/rounds/{running.json()['round_id']}/rerun",
            json={"pins": []},
            headers=org.coordinator,
        )
        assert rerun.status_code == 422 and rerun.json()["code"] == "RoundNotFinished"
    finally:
        gate.set()
        mounted(app).provide(Rounds)._work = real
    while mounted(app).provide(Rounds)._tasks:
        await asyncio.sleep(0.05)
    again = await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    assert again.status_code == 202, "the cohort is free once the round has finished"
    kinds = await event_types(app, org.tenant)
    assert kinds["RoundStarted"] == 2 and kinds["RoundCompleted"] == 2
