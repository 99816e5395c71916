"""The reporting-line rule covers the whole chain above a person, in both directions.

Pure tests of the chain and of the rule, then the service on PostgreSQL: matching
learns ``manager_id`` from profiles' events for everyone, walks the chart up itself,
and never proposes (or lets a coordinator pin) a mentee with someone above them.
"""

from __future__ import annotations

import pytest

from services.matching.domain.candidates import reporting_chains
from services.matching.domain.config import MatchingConfig
from services.matching.domain.round import run_round
from services.matching.domain.rules import PinsRefused
from tests.invariants import matching_helpers
from tests.invariants.matching_helpers import admit, build_org, new_id, register
from tests.matching.test_scoring import mentee, mentor

matching_pg = matching_helpers.matching_pg  # the fixture


def test_a_chain_goes_all_the_way_up_nearest_first():
    chart = {"ada": "bob", "bob": "cy", "cy": "dee", "dee": None}
    assert reporting_chains(["ada", "cy"], chart) == {
        "ada": ("bob", "cy", "dee"),
        "cy": ("dee",),
    }
    # A manager matching has never heard of still counts; the walk stops there.
    assert reporting_chains(["eve"], {"eve": "stranger"}) == {"eve": ("stranger",)}


def test_a_cyclic_chart_ends_the_walk_and_nobody_manages_themself():
    chart = {"ada": "bob", "bob": "cy", "cy": "ada"}
    chains = reporting_chains(["ada", "bob", "cy", "nobody"], chart)
    assert chains == {
        "ada": ("bob", "cy"),
        "bob": ("cy", "ada"),
        "cy": ("ada", "bob"),
        "nobody": (),
    }
    assert reporting_chains(["me"], {"me": "me"}) == {"me": ()}


def test_three_levels_up_is_never_proposed_nor_pinned():
    boss = mentor("boss", level=12, strengths={"strategy": 5}, capacity=1)
    other = mentor("other", level=9, strengths={"strategy": 1}, capacity=1)
    ada = mentee("ada", manager_id="m1", reporting_chain=("m1", "m2", "boss"))
    result = run_round([ada], [boss, other])
    assert [(p.mentee_id, p.mentor_id) for p in result.pairs] == [("ada", "other")]
    assert any("reporting line" in why for why in result.why_not("ada", "boss"))
    with pytest.raises(PinsRefused) as refused:
        run_round([ada], [boss, other], pinned=[("ada", "boss")])
    assert refused.value.problem()["pins"] == [
        {
            "mentee_id": "ada",
            "mentor_id": "boss",
            "reasons": ["the mentor is in the mentee's reporting line (above)"],
        }
    ]


def test_reverse_mentoring_never_pairs_a_senior_with_someone_in_their_line():
    """In a reverse programme the mentee is the senior one: a junior mentor who
    reports (three levels down) to that mentee is refused too."""
    ceo = mentee("ceo", level=12)
    junior = mentor(
        "junior",
        level=3,
        manager_id="vp",
        reporting_chain=("vp", "svp", "ceo"),
        kind="reverse",
    )
    outsider = mentor("outsider", level=3, kind="reverse")
    config = MatchingConfig.for_programme("reverse")
    result = run_round([ceo], [junior, outsider], config)
    assert [p.mentor_id for p in result.pairs] == ["outsider"]
    assert "the mentee is in the mentor's reporting line (above)" in result.why_not(
        "ceo", "junior"
    )


@pytest.mark.kafka
async def test_the_service_walks_the_chart_and_survives_a_cycle(matching_pg):
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=0)
    (other,) = org.mentors
    boss, m2, m1 = new_id("boss"), new_id("m2"), new_id("m1")
    # The chart: mentee → m1 → m2 → boss, none of the managers in the cohort but boss.
    await register(app, org.tenant, boss, level=12, roles=["mentor"])
    await matching_helpers.feed(
        app,
        org.tenant,
        "MentorProfileSet",
        person_id=boss,
        **{**matching_helpers.PROFILE, "max_mentees": 3},
    )
    await admit(app, org, boss, "mentor")
    await register(app, org.tenant, m2, level=11, roles=[], manager_id=boss)
    await register(app, org.tenant, m1, level=10, roles=[], manager_id=m2)
    mentee = new_id("mentee")
    await register(app, org.tenant, mentee, level=5, roles=["mentee"], manager_id=m1)
    await matching_helpers.feed(
        app, org.tenant, "IntakeSubmitted", person_id=mentee, **matching_helpers.INTAKE
    )
    await admit(app, org, mentee, "mentee")

    pinned = await c.post(
        "/rounds?wait=true",
        json={
            "cohort_id": org.cohort,
            "pins": [{"mentee_id": mentee, "mentor_id": boss}],
        },
        headers=org.coordinator,
    )
    assert pinned.status_code == 422, pinned.text
    assert pinned.json()["code"] == "PinsRefused"
    assert "reporting line" in pinned.json()["pins"][0]["reasons"][0]

    done = await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    assert done.status_code == 202 and done.json()["status"] == "completed"
    proposed = (await c.get("/pairings", headers=org.coordinator)).json()
    assert [(p["mentee_id"], p["mentor_id"]) for p in proposed] == [(mentee, other)]

    # An HRIS import error closes the chart into a loop: matching still answers.
    await register(app, org.tenant, boss, level=12, roles=["mentor"], manager_id=m1)
    looped = await c.get(f"/mentees/{mentee}/suggestions", headers=org.coordinator)
    assert looped.status_code == 200, looped.text
    assert boss not in {s["mentor_id"] for s in looped.json()["suggestions"]}
