"""A matching round end to end: profiles → Kafka → matching → proposals → confirmation."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text

from chassis.service import mounted
from tests.profiles.conftest import (
    ADMIN,
    COORDINATOR,
    OTHER_TENANT,
    person,
    token,
)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

PROFILE = {
    "strengths": [
        {"competency_id": "strategy", "proficiency": 5},
        {"competency_id": "finance", "proficiency": 4},
    ],
    "markets": ["APAC"],
    "crisis_experience": ["turnaround"],
    "leadership_style": "coaching",
    "formats": ["one_to_one", "shadowing"],
    "hours_per_month": 6,
    "availability": [{"weekday": 1, "start": "08:00", "end": "12:00"}],
}
INTAKE = {
    "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
    "experiences_lacking": ["APAC", "turnaround"],
    "preferred_formats": ["one_to_one"],
    "hours_per_month": 4,
}


async def build_cohort(client) -> dict:
    """Two mentors (1 and 2 seats), four mentees, one of them reporting to mentor A."""
    for cid, name in (("strategy", "Strategic thinking"), ("finance", "Finance")):
        await client.post(
            "/competencies", json={"competency_id": cid, "name": name}, headers=ADMIN
        )
    cohort = (
        await client.post(
            "/cohorts", json={"name": "Leaders 2027", "capacity": 10}, headers=ADMIN
        )
    ).json()["cohort_id"]

    async def register(n: int, **kw) -> str:
        resp = await client.post("/people", json=person(n, **kw), headers=COORDINATOR)
        assert resp.status_code == 201, resp.text
        return resp.json()["person_id"]

    mentor_a = await register(100, level=9, roles=["mentor"], business_unit="Insurance")
    mentor_b = await register(
        101,
        level=8,
        roles=["mentor"],
        business_unit="Retail",
        geography="SG",
        time_zone="Asia/Singapore",
    )
    for mentor, seats in ((mentor_a, 1), (mentor_b, 2)):
        resp = await client.put(
            f"/people/{mentor}/mentor-profile",
            json={**PROFILE, "max_mentees": seats},
            headers=ADMIN,
        )
        assert resp.status_code == 204, resp.text
        await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": mentor, "role": "mentor"},
            headers=ADMIN,
        )
    mentees = [await register(110, manager_id=mentor_a)]
    mentees += [await register(n) for n in (111, 112, 113)]
    for mentee in mentees:
        assert (
            await client.put(f"/people/{mentee}/intake", json=INTAKE, headers=ADMIN)
        ).status_code == 204
        await client.post(
            f"/cohorts/{cohort}/participants", json={"person_id": mentee}, headers=ADMIN
        )
    return {"cohort": cohort, "a": mentor_a, "b": mentor_b, "mentees": mentees}


async def until_seen(app, cohort: str, members: int, timeout_s: float = 90) -> None:
    async def seen() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            ready = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM cohort_members m JOIN candidates c "
                        "ON c.person_id = m.person_id WHERE m.cohort_id = :c "
                        "AND (c.intake IS NOT NULL OR c.mentor_profile IS NOT NULL)"
                    ),
                    {"c": cohort},
                )
            ).scalar_one()
        return bool(ready >= members)

    await until(seen, "matching to see the cohort", timeout_s)


async def test_a_round_pairs_the_cohort_under_every_rule(matching, client):
    app, c = matching
    org = await build_cohort(client)
    await until_seen(app, org["cohort"], 6)
    reporting, kept_apart = org["mentees"][0], org["mentees"][1]
    forbid = await c.post(
        "/forbidden-pairs",
        json={"mentor_id": org["b"], "mentee_id": kept_apart, "reason": "same project"},
        headers=COORDINATOR,
    )
    assert forbid.status_code == 201

    started = await c.post(
        "/rounds?wait=true", json={"cohort_id": org["cohort"]}, headers=COORDINATOR
    )
    assert started.status_code == 202, started.text
    result = started.json()
    assert result["status"] == "completed", result
    assert result["progress"]["phase"] == "done"
    assert (result["mentees"], result["mentors"]) == (4, 2)
    assert result["proposed"] == 3 and len(result["unmatched"]) == 1

    proposals = (
        await c.get(f"/pairings?round_id={result['round_id']}", headers=COORDINATOR)
    ).json()
    load = Counter(p["mentor_id"] for p in proposals)
    assert load[org["a"]] <= 1 and load[org["b"]] <= 2, "capacity never exceeded"
    pairs = {(p["mentee_id"], p["mentor_id"]) for p in proposals}
    assert (reporting, org["a"]) not in pairs, "never the mentee's own reporting line"
    assert (kept_apart, org["b"]) not in pairs, "never a forbidden pair"
    for p in proposals:
        assert p["score"] == pytest.approx(
            sum(part["contribution"] for part in p["parts"]), abs=1e-9
        )
        assert all(part["reason"] for part in p["parts"])
    assert any(
        "Strategic thinking" in part["reason"] for p in proposals for part in p["parts"]
    )

    chosen = proposals[0]
    await c.post(f"/pairings/{chosen['pairing_id']}/approve", headers=COORDINATOR)
    for who in (chosen["mentee_id"], chosen["mentor_id"]):
        answer = await c.post(
            f"/pairings/{chosen['pairing_id']}/accept",
            headers=token("acme", "mentee", sub=who),
        )
        assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "confirmed"

    assert (
        await c.get(f"/rounds/{result['round_id']}", headers=OTHER_TENANT)
    ).status_code == 404
    mentee_view = await c.get(
        f"/rounds/{result['round_id']}", headers=token("acme", "mentee", sub=reporting)
    )
    assert mentee_view.status_code == 403


async def test_a_rerun_keeps_approved_pairs_and_honours_pins(matching, client):
    app, c = matching
    org = await build_cohort(client)
    await until_seen(app, org["cohort"], 6)
    first = (
        await c.post(
            "/rounds?wait=true", json={"cohort_id": org["cohort"]}, headers=COORDINATOR
        )
    ).json()
    proposals = (
        await c.get(f"/pairings?round_id={first['round_id']}", headers=COORDINATOR)
    ).json()
    kept = proposals[0]
    await c.post(f"/pairings/{kept['pairing_id']}/approve", headers=COORDINATOR)
    # Pin the unmatched mentee to mentor B: two seats, at most one held by the kept pair.
    unmatched = first["unmatched"][0]
    pin = {"mentee_id": unmatched, "mentor_id": org["b"]}
    if (
        kept["mentor_id"] == org["b"]
        and sum(p["mentor_id"] == org["b"] for p in proposals) == 2
    ):
        pin["mentor_id"] = org["b"]
    rerun = await c.post(
        f"/rounds/{first['round_id']}/rerun", json={"pins": [pin]}, headers=COORDINATOR
    )
    assert rerun.status_code == 200, rerun.text
    second = rerun.json()
    assert second["status"] == "completed" and second["pinned"] == [pin]

    states = {p["pairing_id"]: p["state"] for p in proposals}
    after = {
        p["pairing_id"]: p["state"]
        for p in (await c.get("/pairings", headers=COORDINATOR)).json()
    }
    assert after[kept["pairing_id"]] == "approved"
    assert all(after[pid] == "withdrawn" for pid in states if pid != kept["pairing_id"])
    new = (
        await c.get(f"/pairings?round_id={second['round_id']}", headers=COORDINATOR)
    ).json()
    assert (unmatched, org["b"]) in {(p["mentee_id"], p["mentor_id"]) for p in new}
    load = Counter(p["mentor_id"] for p in new) + Counter([kept["mentor_id"]])
    assert load[org["a"]] <= 1 and load[org["b"]] <= 2


async def test_nothing_to_match_is_a_typed_error(matching, client):
    _app, c = matching
    cohort = (
        await client.post(
            "/cohorts", json={"name": "Empty", "capacity": 3}, headers=ADMIN
        )
    ).json()["cohort_id"]
    # The cohort may not have reached matching yet: either way nobody can be paired.
    resp = await c.post("/rounds", json={"cohort_id": cohort}, headers=COORDINATOR)
    assert resp.status_code in (404, 422)
    assert resp.json()["code"] in ("NotFound", "NothingToMatch")
    bad = await c.post(
        "/rounds", json={"cohort_id": cohort, "mode": "fastest"}, headers=COORDINATOR
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"


async def test_a_fair_round_never_shows_a_coordinator_a_group_below_k(matching, client):
    """Asking for groups of one is raised to the tenant's k (5), silently, and the
    report says so; a withheld group is neither named nor sized anywhere in it."""
    app, c = matching
    org = await build_cohort(client)
    # Three mentees share "woman", one "man" (each with their own token).
    for i, mentee in enumerate(org["mentees"]):
        own = token("acme", "mentee", sub=mentee)
        given = await client.put(
            f"/people/{mentee}/consents/demographics", json={"given": True}, headers=own
        )
        assert given.status_code == 204, given.text
        shared = await client.put(
            f"/people/{mentee}/demographics",
            json={"attributes": {"gender": "man" if i == 0 else "woman"}},
            headers=own,
        )
        assert shared.status_code == 204, shared.text
    await until_seen(app, org["cohort"], 6)
    await until_demographics(app, org["mentees"])
    for group_by in ("demographics.gender", "business_unit"):
        started = await c.post(
            "/rounds?wait=true",
            json={
                "cohort_id": org["cohort"],
                "fairness": {
                    "group_by": group_by,
                    "min_ratio": 0.8,
                    "min_group_size": 1,
                },
            },
            headers=COORDINATOR,
        )
        result = started.json()
        assert result["status"] == "completed", result
        fairness = result["fairness"]
        assert fairness["min_group_size"] == 5  # the floor, not the 1 asked for
        assert fairness["groups"] == []
        assert fairness["suppressed_groups"] == (
            2 if group_by != "business_unit" else 1
        )
        text_of = str(fairness)
        for secret in ("woman", "man", "Retail", "'size'", "p50"):
            assert secret not in text_of
        fetched = (
            await c.get(f"/rounds/{result['round_id']}", headers=COORDINATOR)
        ).json()
        assert fetched["fairness"] == fairness


async def until_demographics(app, people: list[str], timeout_s: float = 90) -> None:
    async def seen() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            ready = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM candidates WHERE person_id = ANY(:p) "
                        "AND demographics IS NOT NULL"
                    ),
                    {"p": people},
                )
            ).scalar_one()
        return bool(ready == len(people))

    await until(seen, "matching to see the demographics", timeout_s)


async def test_a_round_that_fails_says_so_and_records_it(matching, client, monkeypatch):
    """A solver failure ends the round as failed, with the error, in its own stream
    (``RoundFailed``), so whoever watches its progress sees the end."""
    app, c = matching
    org = await build_cohort(client)
    await until_seen(app, org["cohort"], 6)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the solver ran out of memory")

    monkeypatch.setattr("services.matching.application.rounds.run_round", crash)
    resp = await c.post(
        "/rounds?wait=true", json={"cohort_id": org["cohort"]}, headers=COORDINATOR
    )
    assert resp.status_code == 202, resp.text
    view = resp.json()
    assert view["status"] == "failed"
    assert "the solver ran out of memory" in view["error"]
    async with mounted(app).runtime.engine.connect() as conn:
        kinds = (
            await conn.execute(
                text(
                    "SELECT event_type FROM events WHERE stream_id LIKE :s "
                    "ORDER BY version"
                ),
                {"s": f"%{view['round_id']}%"},
            )
        ).scalars()
        kinds = list(kinds)
    assert kinds[0] == "RoundStarted" and kinds[-1] == "RoundFailed"
    # Nothing was proposed, and the same cohort can be matched again.
    assert (
        await c.get(f"/pairings?round_id={view['round_id']}", headers=COORDINATOR)
    ).json() == []
    monkeypatch.undo()
    again = await c.post(
        "/rounds?wait=true", json={"cohort_id": org["cohort"]}, headers=COORDINATOR
    )
    assert again.json()["status"] == "completed"
