"""Insights through the gateway, over HTTP on the whole platform: who may read a
scorecard, batching of scorecards, suppressed equity groups, and the coordinators-only
subscriptions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest

from chassis.auth import Role
from contracts.api import insights as api
from gateway.answers import read
from gateway.upstream import UpstreamError
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_matching import build_cohort, gid, subscribe, until_listening
from tests.insights.conftest import event, publish
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

CARD = """
query($id: ID!) { menteeScorecard(menteeId: $id) { asOf mentee { givenName }
  skillGrowth { goals { competencyId target } }
  behaviouralChange { milestones { set } feedback { count } }
  businessImpact { participants { people } comparison { people } comparisonNote } } }
"""


async def test_a_mentee_reads_their_own_scorecard_and_not_anothers(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=2)
    me, other = org["mentees"]
    mine = token(me, tenant, Role.MENTEE)

    async def own():
        body = await platform.graphql(
            CARD, {"id": gid("Person", me)}, bearer=mine, expect_errors=True
        )
        return body["data"]["menteeScorecard"]

    card = await until(own, "insights to know the scorecard", 60, interval_s=0.2)
    assert card["mentee"]["givenName"] == "Ada110"
    assert card["skillGrowth"] is not None and card["businessImpact"] is not None

    refused = await platform.graphql(
        CARD, {"id": gid("Person", other)}, bearer=mine, expect_errors=True
    )
    assert refused["data"]["menteeScorecard"] is None
    assert refused["errors"][0]["extensions"]["code"] == "Forbidden"
    assert refused["errors"][0]["path"] == ["menteeScorecard"]


async def test_scorecards_of_many_mentees_take_one_upstream_call(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=3)
    query = """query($ids: [ID!]!) { menteeScorecards(menteeIds: $ids) {
      mentee { givenName } skillGrowth { meanChange } } }"""
    ids = [gid("Person", m) for m in org["mentees"]]

    async def all_known():
        body = await platform.graphql(
            query, {"ids": ids}, bearer=org["admin"], expect_errors=True
        )
        cards = body["data"]["menteeScorecards"]
        return body if all(cards) else None

    many = await until(
        all_known, "insights to know every scorecard", 60, interval_s=0.2
    )
    one = await platform.graphql(query, {"ids": ids[:1]}, bearer=org["admin"])
    names = {c["mentee"]["givenName"] for c in many["data"]["menteeScorecards"]}
    assert names == {"Ada110", "Ada111", "Ada112"}
    assert one["extensions"]["upstreamCalls"] == many["extensions"]["upstreamCalls"]


async def test_small_equity_groups_are_suppressed_as_nulls_not_zeros(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=2)
    query = """{ equityReport(dimension: "business_unit") { k
      groups { group suppressed participants matchRate matchRateImpact } } }"""

    async def report():
        body = await platform.graphql(query, bearer=org["admin"])
        groups = body["data"]["equityReport"]["groups"]
        return groups or None

    groups = await until(report, "insights to report equity groups", 60, interval_s=0.2)
    assert all(g["suppressed"] for g in groups), "fewer than k people in each group"
    for g in groups:
        assert g["participants"] is None and g["matchRate"] is None
        assert g["matchRateImpact"] is None


async def test_health_subscriptions_are_for_coordinators_and_admins(platform):
    tenant = new_tenant()
    mentee = token("m-1", tenant, Role.MENTEE)
    ws = await subscribe(
        platform, mentee, "subscription { earlyWarnings { relationshipId level } }", {}
    )
    try:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "Forbidden"
    finally:
        await ws.close()


REPORTS = """query($cohort: ID!, $mentor: ID!) {
  mentorImpact(mentorId: $mentor, quarter: "2027Q1") { quarter sessionsHeld
    meanRating mentees { id } }
  cohortScorecard(cohortId: $cohort) { scope cohortId menteeCount withdrawn cohorts
    skillGrowth { goals } members { edges { node { mentee { id } } } } }
  programmeScorecard { scope cohortId cohorts withdrawn behaviouralChange {
    milestones { set completionRate } feedback { count mean } } }
  equityReport { k total { group suppressed participants } }
  pairingPatterns { pairings confidence characteristics { characteristic value }
    suggestedWeights { criterion change } }
  programmeOperations { asOf participation { eligible participants rate cohorts }
    waitingList mentorUtilisation advisorHours pulseSurveys } }"""


async def test_every_report_is_read_from_the_services_answer(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=2)
    admin = org["admin"]

    async def known():
        body = await platform.graphql(
            REPORTS,
            {
                "cohort": gid("Cohort", org["cohort"]),
                "mentor": gid("Person", org["mentors"][0]),
            },
            bearer=admin,
        )
        members = body["data"]["cohortScorecard"]["members"]["edges"]
        return body["data"] if len(members) == 2 else None

    data = await until(known, "insights to know the cohort", 60, interval_s=0.2)
    cohort, programme = data["cohortScorecard"], data["programmeScorecard"]
    impact = data["mentorImpact"]
    assert impact["quarter"] == "2027Q1" and impact["sessionsHeld"] == 0
    assert impact["meanRating"] is None and impact["mentees"] == []
    assert (cohort["scope"], cohort["cohortId"]) == ("COHORT", org["cohort"])
    assert cohort["cohorts"] is None and cohort["withdrawn"] == 0
    assert programme["scope"] == "PROGRAMME" and programme["cohortId"] is None
    assert programme["withdrawn"] is None and programme["cohorts"] >= 1
    assert data["equityReport"]["total"]["group"] == "total"
    patterns = data["pairingPatterns"]
    assert patterns["confidence"] == 0.95
    assert {w["criterion"] for w in patterns["suggestedWeights"]} <= {
        "perspective",
        "style",
    }
    ops = (
        await platform.service("insights", "GET", "/operations", bearer=admin)
    ).json()
    got = data["programmeOperations"]
    assert got["asOf"] == ops["as_of"]
    assert got["participation"]["cohorts"] == ops["participation"]["cohorts"]
    assert got["waitingList"] == ops["waiting_list"]
    assert got["mentorUtilisation"] == ops["mentor_utilisation"]
    assert got["advisorHours"] == ops["advisor_hours"]
    assert got["pulseSurveys"] == ops["pulse_surveys"]


async def test_a_malformed_answer_is_the_services_failure_not_a_null():
    with pytest.raises(UpstreamError) as raised:
        read(api.MentorImpact, {"mentor_id": "m-1", "quarter": "2027Q1"}, "insights")
    assert (raised.value.code, raised.value.status) == ("InternalError", 502)
    assert "MentorImpact" in raised.value.message
    impact = read(
        api.MentorImpact,
        {
            "mentor_id": "m-1",
            "quarter": "2027Q1",
            "mentees": ["e-1"],
            "sessions_held": 3,
            "sessions_expected": 4,
            "milestones_achieved": 1,
            "mean_rating": None,
            "ratings": 0,
            "recognitions": 1,
        },
        "insights",
    )
    assert impact.mentees == ["e-1"] and impact.mean_rating is None


async def test_a_health_change_reaches_the_coordinator_and_a_malformed_one_does_not(
    platform, kafka_bootstrap
):
    tenant = new_tenant()
    coordinator = token("coordinator-1", tenant, Role.COORDINATOR)
    query = """subscription { relationshipHealthChanges {
      relationshipId fromState toState reasons } }"""
    before = len(platform.gateway.state.hub._listeners)
    ws = await subscribe(platform, coordinator, query, {})
    try:
        await until_listening(platform, before + 1)
        changed = {"relationship_id": "rel-1", "to_state": "at_risk"}
        await publish(
            kafka_bootstrap,
            [
                event(
                    "insights",
                    "RelationshipHealthChanged",
                    "rel-0",
                    {"relationship_id": "rel-0", "reasons": []},
                    tenant=tenant,
                ),
                event(
                    "insights",
                    "RelationshipHealthChanged",
                    "rel-1",
                    {**changed, "from_state": None, "reasons": ["idle"]},
                    tenant=tenant,
                ),
            ],
        )
        msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert msg["type"] == "next", msg
        assert msg["payload"]["data"]["relationshipHealthChanges"] == {
            "relationshipId": "rel-1",
            "fromState": None,
            "toState": "AT_RISK",
            "reasons": ["idle"],
        }
    finally:
        await ws.close()


HISTORY = """query($from: Date!, $to: Date!, $every: HealthInterval, $cohort: ID) {
  relationshipHealthHistory(from: $from, to: $to, every: $every, cohortId: $cohort) {
    date onTrack needsCheckIn atRisk tooEarly concluded total } }"""


async def test_health_history_is_the_services_answer(platform, kafka_bootstrap):
    tenant = new_tenant()
    coordinator = token("coordinator-1", tenant, Role.COORDINATOR)

    def sessions(kind: str, rid: str, data: dict, day: int):
        when = datetime(2025, 3, day, 10, tzinfo=UTC)
        body = {"relationship_id": rid, **data}
        return event("sessions", kind, rid, body, at=when, tenant=tenant)

    planted = []
    for n, cohort in enumerate(("c-1", "c-1", "c-2")):
        rid = f"rel-{n}"
        start = {"pairing_id": f"p-{n}", "mentor_id": f"m-{n}", "mentee_id": f"e-{n}"}
        start |= {"cohort_id": cohort, "starts_on": "2025-03-03"}
        planted.append(sessions("RelationshipStarted", rid, start, 3))
    planted.append(sessions("SessionCancelled", "rel-0", {"session_id": "a"}, 10))
    planted.append(sessions("SessionMissed", "rel-0", {"session_id": "b"}, 17))
    await publish(kafka_bootstrap, planted)

    async def service_answer(params: dict):
        resp = await platform.service(
            "insights",
            "GET",
            "/relationships/health/history",
            bearer=coordinator,
            params=params,
        )
        points = resp.json()["points"]
        return points if points and points[-1]["total"] else None

    weekly = {"from": "2025-03-01", "to": "2025-03-31"}
    expected = await until(
        lambda: service_answer(weekly),
        "insights to count the history",
        60,
        interval_s=0.2,
    )
    assert expected[-1]["counts"]["at_risk"] == 1  # rel-0: two sessions not held
    body = await platform.graphql(
        HISTORY, {"from": "2025-03-01", "to": "2025-03-31"}, bearer=coordinator
    )
    assert body["data"]["relationshipHealthHistory"] == [
        {
            "date": p["date"],
            "onTrack": p["counts"]["on_track"],
            "needsCheckIn": p["counts"]["needs_check_in"],
            "atRisk": p["counts"]["at_risk"],
            "tooEarly": p["counts"]["too_early"],
            "concluded": p["counts"]["concluded"],
            "total": p["total"],
        }
        for p in expected
    ]
    monthly = await platform.graphql(
        HISTORY,
        {
            "from": "2025-01-31",
            "to": "2025-03-31",
            "every": "MONTH",
            "cohort": gid("Cohort", "c-2"),
        },
        bearer=coordinator,
    )
    months = monthly["data"]["relationshipHealthHistory"]
    assert [(m["date"], m["total"]) for m in months] == [
        ("2025-01-31", 0),
        ("2025-02-28", 0),
        ("2025-03-31", 1),
    ]
    refused = await platform.graphql(
        HISTORY,
        {"from": "2025-03-31", "to": "2025-03-01"},
        bearer=coordinator,
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["code"] == "ValidationError"


async def test_an_equity_report_is_asked_for_by_an_enum_and_an_attribute():
    """``by`` names the dimension (``attribute`` with DEMOGRAPHICS); the deprecated
    ``dimension`` string still works; a wrong combination is a typed error that
    asks the service nothing."""
    from tests.gateway.test_hardening import gateway

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["dimension"])
        return httpx.Response(
            200,
            json={
                "dimension": request.url.params["dimension"],
                "cohort_id": None,
                "k": 5,
                "groups": [],
                "total": {"group": "total", "suppressed": True},
                "suppressed_groups": 0,
            },
        )

    query = """query($by: EquityDimension, $a: String, $d: String) {
      equityReport(by: $by, attribute: $a, dimension: $d) { k } }"""
    async with gateway(answer) as gw:
        for variables, sent in (
            ({}, "business_unit"),
            ({"by": "LEVEL_BAND"}, "level_band"),
            ({"by": "DEMOGRAPHICS", "a": "gender"}, "demographics.gender"),
            ({"d": "tenure_band"}, "tenure_band"),
        ):
            asked.clear()
            body = await gw.post(query, variables)
            assert asked == [sent], (variables, body)
            assert body["data"] == {"equityReport": {"k": 5}}, body
        for variables, path in (
            ({"by": "DEMOGRAPHICS"}, "attribute"),
            ({"by": "GEOGRAPHY", "a": "gender"}, "attribute"),
            ({"by": "GEOGRAPHY", "d": "geography"}, "by"),
        ):
            asked.clear()
            body = await gw.post(query, variables)
            [error] = body["errors"]
            assert error["extensions"] == {"code": "ValidationError", "path": path}
            assert asked == []


async def test_a_health_list_answers_the_services_figures_in_one_call():
    """The service's list answers each item's days since a session and cancellation
    streak (assessed as one alone is): the gateway forwards them and asks nothing
    more (it used to ask the batch of single healths for them)."""
    from tests.gateway.test_hardening import gateway

    asked: list[str] = []
    item = {
        "relationship_id": "rel-1",
        "mentor_id": "m-1",
        "mentee_id": "e-1",
        "cohort_id": None,
        "state": "at_risk",
        "reasons": ["cancellation_streak_2"],
        "idle": False,
        "days_since_session": 6,
        "cancellation_streak": 2,
        "as_of": "2027-03-01",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"items": [item]})

    query = """{ relationshipHealths { edges { node { state daysSinceSession
      cancellationStreak } } }
      earlyWarnings { edges { node { daysSinceSession cancellationStreak } } } }"""
    async with gateway(answer) as gw:
        body = await gw.post(query, {})
    assert body["data"] == {
        "relationshipHealths": {
            "edges": [
                {
                    "node": {
                        "state": "AT_RISK",
                        "daysSinceSession": 6,
                        "cancellationStreak": 2,
                    }
                }
            ]
        },
        "earlyWarnings": {
            "edges": [{"node": {"daysSinceSession": 6, "cancellationStreak": 2}}]
        },
    }, body
    assert asked == ["/relationships/health", "/relationships/health"]


async def test_mentor_impact_marks_an_inactive_mentor():
    from tests.gateway.test_hardening import gateway

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/mentors/m-1/impact"
        return httpx.Response(
            200,
            json={
                "mentor_id": "m-1",
                "quarter": "2026Q2",
                "mentees": [],
                "sessions_held": 1,
                "sessions_expected": 5,
                "milestones_achieved": 0,
                "mean_rating": None,
                "ratings": 0,
                "recognitions": 0,
                "mentor_status": "deactivated",
                "active_days": 76,
            },
        )

    query = """query($id: ID!) { mentorImpact(mentorId: $id, quarter: "2026Q2") {
      sessionsHeld sessionsExpected mentorStatus activeDays } }"""
    async with gateway(answer) as gw:
        body = await gw.post(query, {"id": gid("Person", "m-1")})
    assert body["data"]["mentorImpact"] == {
        "sessionsHeld": 1,
        "sessionsExpected": 5,
        "mentorStatus": "DEACTIVATED",
        "activeDays": 76,
    }, body
