"""The gateway reads the matching service's answers through their models
(``contracts.api.matching``): every field comes from the service's answer, and an
answer that does not fit its model is the service's failure (``InternalError``),
never a silent null.

The first tests put the gateway in front of a stand-in matching service
(``httpx.MockTransport``); the last ones run on the whole platform: a reason given
as a code only, and the goals a group circle shares.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from chassis.auth import Role
from contracts.api import matching as api
from gateway.answers import read, read_list
from gateway.upstream import UpstreamError
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_graph_pieces import act, cohort_of, gid, local, run_round
from tests.gateway.test_hardening import gateway, not_found
from tests.gateway.test_matching import subscribe, until_listening
from tests.insights.conftest import event, publish

pytestmark = pytest.mark.asyncio(loop_scope="module")

PART = {
    "criterion": "skills",
    "weight": 0.5,
    "value": 0.8,
    "contribution": 0.4,
    "reason": "strong in Strategy (5 of 5)",
}
PAIRING: dict[str, Any] = {
    "pairing_id": "p-1",
    "round_id": "r-1",
    "cohort_id": "c-1",
    "mentor_id": "m-1",
    "mentee_id": "e-1",
    "programme_type": "group",
    "state": "declined",
    "score": 0.4,
    "parts": [PART],
    "accepted_by": [],
    "replaces": "p-0",
    "reason": "next_best_after_decline",
    "reason_code": "next_best_after_decline",
    "expires_at": "2027-03-01T12:00:00+00:00",
    "notes": [
        {
            "action": "PairingDeclined",
            "code": "declined_fit",
            "author_id": "e-1",
            "text": "",
            "written_at": "2027-02-20T09:30:00+00:00",
        }
    ],
}
FAIRNESS = {
    "group_by": "business_unit",
    "min_ratio": 0.9,
    "min_group_size": 5,
    "satisfied": True,
    "chosen_iteration": 0,
    "groups": [
        {"group": "Sales", "size": 10, "suppressed": False, "matched": 10, "mean": 0.7}
    ],
    "suppressed_groups": 2,
    "iterations": [
        {
            "iteration": 0,
            "boosts": {"Sales": 0.0},
            "means": {"Sales": 0.7},
            "worst_ratio": 1.0,
            "total_score": 7.0,
            "matched": 10,
        }
    ],
}
ROUND: dict[str, Any] = {
    "round_id": "r-1",
    "cohort_id": "c-1",
    "mode": "coverage",
    "programme_type": "group",
    "mentees": 12,
    "mentors": 4,
    "status": "completed",
    "progress": {"phase": "done", "done": 3, "total": 3},
    "pinned": [{"mentee_id": "e-1", "mentor_id": "m-1"}],
    "proposed": 10,
    "unmatched": ["e-9"],
    "total_score": 7.0,
    "fairness": FAIRNESS,
    "not_proposed": [],
    "circles": [
        {
            "mentor_id": "m-1",
            "mentee_ids": ["e-1", "e-2"],
            "shared_goals": [
                {"competency_id": "strategy", "name": "Strategy", "members": 2}
            ],
            "affinity": 0.5,
        }
    ],
}


def matching(answers: dict[tuple[str, str], Any]):
    """A stand-in matching service answering ``(method, path)`` with JSON."""

    def handle(request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path)
        if request.url.host == "matching" and key in answers:
            return httpx.Response(200, json=answers[key])
        return not_found(request)

    return handle


PAIRING_FIELDS = """... on Pairing { status score programmeType expiresAt reason
  reasonCode explanation { criterion weight value contribution reason }
  declineReason { step code text writtenAt } reasons { step } }"""


async def test_a_pairings_fields_read_the_services_answer():
    answers = {("POST", "/pairings/batch"): {"items": [PAIRING]}}
    async with gateway(matching(answers)) as gw:
        body = await gw.post(
            f"query($id: ID!) {{ node(id: $id) {{ {PAIRING_FIELDS} }} }}",
            {"id": gid("Pairing", "p-1")},
        )
    assert "errors" not in body, body
    assert body["data"]["node"] == {
        "status": "DECLINED",
        "score": 0.4,
        "programmeType": "GROUP",
        "expiresAt": "2027-03-01T12:00:00+00:00",
        "reason": "next_best_after_decline",
        "reasonCode": "next_best_after_decline",
        "explanation": [PART],
        "declineReason": {
            "step": "DECLINED",
            "code": "declined_fit",
            "text": "",
            "writtenAt": "2027-02-20T09:30:00+00:00",
        },
        "reasons": [{"step": "DECLINED"}],
    }


async def test_a_rounds_fields_and_its_circles_shared_goals_read_the_answer():
    answers = {
        ("POST", "/rounds/batch"): {"items": [ROUND]},
        ("GET", "/pairings"): [
            PAIRING | {"pairing_id": "p-1", "state": "approved"},
            PAIRING | {"pairing_id": "p-2", "mentee_id": "e-2", "state": "proposed"},
        ],
    }
    async with gateway(matching(answers)) as gw:
        body = await gw.post(
            """query($id: ID!) { node(id: $id) { ... on MatchingRound {
              status mode programmeType progress { phase done total }
              menteeCount mentorCount proposedCount totalScore error
              fairness { groupBy minRatio minGroupSize satisfied chosenIteration
                suppressedGroups iterations
                groups { group size suppressed matched matchRate mean } }
              circles { size sharedGoals { name members } } } } }""",
            {"id": gid("MatchingRound", "r-1")},
        )
    assert "errors" not in body, body
    assert body["data"]["node"] == {
        "status": "COMPLETED",
        "mode": "COVERAGE",
        "programmeType": "GROUP",
        "progress": {"phase": "done", "done": 3, "total": 3},
        "menteeCount": 12,
        "mentorCount": 4,
        "proposedCount": 10,
        "totalScore": 7.0,
        "error": None,
        "fairness": {
            "groupBy": "business_unit",
            "minRatio": 0.9,
            "minGroupSize": 5,
            "satisfied": True,
            "chosenIteration": 0,
            "suppressedGroups": 2,
            "iterations": FAIRNESS["iterations"],
            "groups": [
                {
                    "group": "Sales",
                    "size": 10,
                    "suppressed": False,
                    "matched": 10,
                    "matchRate": None,
                    "mean": 0.7,
                }
            ],
        },
        "circles": [{"size": 2, "sharedGoals": [{"name": "Strategy", "members": 2}]}],
    }


async def test_a_round_without_a_fairness_check_has_no_report():
    unfair = ROUND | {"fairness": {}, "programme_type": "standard"}
    answers = {("POST", "/rounds/batch"): {"items": [unfair]}}
    async with gateway(matching(answers)) as gw:
        body = await gw.post(
            "query($id: ID!) { node(id: $id) { ... on MatchingRound { fairness { "
            "groupBy } circles { size } } } }",
            {"id": gid("MatchingRound", "r-1")},
        )
    assert body["data"]["node"] == {"fairness": None, "circles": []}


async def test_suggestions_and_a_rotation_plan_read_the_answer():
    answers = {
        ("GET", "/mentees/e-1/suggestions"): {
            "mentee_id": "e-1",
            "cohort_id": "c-1",
            "suggestions": [
                {
                    "rank": 1,
                    "mentor_id": "m-1",
                    "score": 0.4,
                    "summary": "skills and style",
                    "parts": [PART],
                }
            ],
        },
        ("GET", "/mentees/e-1/rotation"): {
            "plan_id": "plan-1",
            "mentee_id": "e-1",
            "cohort_id": None,
            "planned_at": "2027-02-01T08:00:00+00:00",
            "cycles": [
                {
                    "cycle": 1,
                    "mentor_id": "m-1",
                    "starts_on": "2027-03-01",
                    "ends_on": "2027-05-23",
                }
            ],
        },
    }
    async with gateway(matching(answers)) as gw:
        body = await gw.post(
            """query($id: ID!) {
              suggestions(menteeId: $id) { items { rank score summary
                explanation { criterion } } }
              rotationPlan(menteeId: $id) { planId plannedAt
                cycles { cycle startsOn endsOn } } }""",
            {"id": gid("Person", "e-1")},
        )
    assert "errors" not in body, body
    assert body["data"]["suggestions"]["items"] == [
        {
            "rank": 1,
            "score": 0.4,
            "summary": "skills and style",
            "explanation": [{"criterion": "skills"}],
        }
    ]
    assert body["data"]["rotationPlan"] == {
        "planId": "plan-1",
        "plannedAt": "2027-02-01T08:00:00+00:00",
        "cycles": [{"cycle": 1, "startsOn": "2027-03-01", "endsOn": "2027-05-23"}],
    }


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_a_malformed_answer_is_an_internal_error_not_a_null():
    broken = {k: v for k, v in PAIRING.items() if k != "score"}
    answers = {
        ("POST", "/pairings/batch"): {"items": [broken]},
        ("GET", "/pairings"): [PAIRING | {"state": "dissolved"}],
        ("POST", "/pairings/p-1/accept"): PAIRING | {"parts": "none"},
        ("POST", "/rounds/batch"): {"items": [ROUND | {"mentees": "twelve"}]},
    }
    async with gateway(matching(answers)) as gw:
        one = await gw.post(
            "query($id: ID!) { node(id: $id) { ... on Pairing { score } } }",
            {"id": gid("Pairing", "p-1")},
        )
        listed = await gw.post("{ pairings { edges { node { score } } } }")
        accepted = await gw.post(
            "mutation($i: PairingInput!) { acceptPairing(input: $i) { __typename "
            "... on PairingSuccess { pairing { score } } } }",
            {"i": {"pairingId": gid("Pairing", "p-1")}},
        )
        round_ = await gw.post(
            "query($id: ID!) { node(id: $id) { ... on MatchingRound { status } } }",
            {"id": gid("MatchingRound", "r-1")},
        )
    for body in (one, listed, accepted, round_):
        assert codes(body) == ["InternalError"], body
        assert "score" not in json.dumps(body["errors"])  # the details stay logged
    assert one["data"]["node"] is None
    assert listed["data"] is None
    assert accepted["data"] is None
    assert round_["data"]["node"] is None


async def test_read_list_refuses_what_is_not_a_list_of_the_model():
    for wrong in ({"items": []}, [PAIRING, {"pairing_id": "p-2"}]):
        with pytest.raises(UpstreamError) as raised:
            read_list(api.PairingView, wrong, "matching")
        assert (raised.value.code, raised.value.status) == ("InternalError", 502)
        assert "PairingView" in raised.value.message
    assert [
        p.pairing_id for p in read_list(api.PairingView, [PAIRING], "matching")
    ] == ["p-1"]
    with pytest.raises(UpstreamError):
        read(api.RoundView, ROUND | {"status": "paused"}, "matching")
    assert read(api.RoundView, ROUND, "matching").circles is not None


# -- on the whole platform ---------------------------------------------------------------

REASONS = """query($id: ID!) { node(id: $id) { ... on Pairing { status
  declineReason { step code text writtenAt author { id } }
  withdrawalReason { step code text } } } }"""


async def test_a_reason_given_as_a_code_only_is_read_by_those_who_may(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    org = await cohort_of(platform, admin, "standard", mentees=2, mentors=1)
    round_ = await run_round(platform, admin, org["cohort"])
    pairs = {
        local(e["node"]["mentee"]["id"]): e["node"]["id"]
        for e in round_["proposedPairs"]["edges"]
    }
    decliner, other = org["mentees"]
    as_decliner = token(decliner, tenant, Role.MENTEE)
    declined = await act(
        platform,
        "declinePairing",
        "DeclinePairingInput",
        {"pairingId": pairs[decliner], "reason": "declined_fit"},
        as_decliner,
    )
    assert declined == "PairingSuccess"
    withdrawn = await act(
        platform,
        "withdrawPairing",
        "PairingReasonInput",
        {"pairingId": pairs[other], "reason": "conflict_of_interest"},
        admin,
    )
    assert withdrawn == "PairingSuccess"

    seen = (await platform.graphql(REASONS, {"id": pairs[decliner]}, bearer=admin))[
        "data"
    ]["node"]
    assert seen["status"] == "DECLINED"
    reason = seen["declineReason"]
    assert reason["writtenAt"]
    assert {k: v for k, v in reason.items() if k != "writtenAt"} == {
        "step": "DECLINED",
        "code": "declined_fit",
        "text": "",
        "author": {"id": gid("Person", decliner)},
    }
    own = await platform.graphql(REASONS, {"id": pairs[decliner]}, bearer=as_decliner)
    assert own["data"]["node"]["declineReason"]["code"] == "declined_fit"
    # The mentor sees the pairing, not a reason they did not give.
    mentor = token(org["mentors"][0], tenant, Role.MENTOR)
    theirs = await platform.graphql(REASONS, {"id": pairs[decliner]}, bearer=mentor)
    assert theirs["data"]["node"]["status"] == "DECLINED"
    assert theirs["data"]["node"]["declineReason"] is None

    gone = await platform.graphql(REASONS, {"id": pairs[other]}, bearer=admin)
    assert gone["data"]["node"]["withdrawalReason"] == {
        "step": "WITHDRAWN",
        "code": "conflict_of_interest",
        "text": "",
    }
    assert gone["data"]["node"]["declineReason"] is None


async def test_declining_without_any_reason_leaves_no_reason(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    org = await cohort_of(platform, admin, "standard", mentees=1, mentors=1)
    round_ = await run_round(platform, admin, org["cohort"])
    [pairing] = [e["node"]["id"] for e in round_["proposedPairs"]["edges"]]
    mentee = token(org["mentees"][0], tenant, Role.MENTEE)
    assert (
        await act(
            platform,
            "declinePairing",
            "DeclinePairingInput",
            {"pairingId": pairing},
            mentee,
        )
        == "PairingSuccess"
    )
    seen = await platform.graphql(REASONS, {"id": pairing}, bearer=admin)
    assert seen["data"]["node"]["status"] == "DECLINED"
    assert seen["data"]["node"]["declineReason"] is None


SHARED = "circles { size sharedGoals { name members competency { name } } }"


async def test_a_group_circle_shows_the_goals_its_mentees_share(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    org = await cohort_of(platform, admin, "group", mentees=3, mentors=1)
    round_ = await run_round(platform, admin, org["cohort"], SHARED)
    [circle] = round_["circles"]
    assert circle["size"] == 3
    assert circle["sharedGoals"] == [
        {"name": "Strategy", "members": 3, "competency": {"name": "Strategy"}}
    ]

    # The service answers the circles with the round, as they stand.
    rest = await platform.service(
        "matching", "GET", f"/rounds/{local(round_['id'])}", bearer=admin
    )
    [answered] = rest.json()["circles"]
    assert answered["mentor_id"] == org["mentors"][0]
    assert sorted(answered["mentee_ids"]) == sorted(org["mentees"])
    assert answered["shared_goals"] == [
        {"competency_id": "strategy", "name": "Strategy", "members": 3}
    ]
    assert answered["affinity"] == 1.0

    # One mentee declines: the two left still share the goal, counted as two.
    first = round_["proposedPairs"]["edges"][0]["node"]
    leaving = token(local(first["mentee"]["id"]), tenant, Role.MENTEE)
    assert (
        await act(
            platform,
            "declinePairing",
            "DeclinePairingInput",
            {"pairingId": first["id"]},
            leaving,
        )
        == "PairingSuccess"
    )
    again = await platform.graphql(
        f"query($id: ID!) {{ node(id: $id) {{ ... on MatchingRound {{ {SHARED} }} }} }}",
        {"id": round_["id"]},
        bearer=admin,
    )
    [left] = again["data"]["node"]["circles"]
    assert left["size"] == 2
    assert left["sharedGoals"] == [
        {"name": "Strategy", "members": 2, "competency": {"name": "Strategy"}}
    ]

    # A standard programme's round answers no circles.
    elsewhere = token("admin-1", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    other = await cohort_of(platform, elsewhere, "standard", mentees=2, mentors=1)
    standard = await platform.service(
        "matching",
        "GET",
        f"/rounds/{local((await run_round(platform, elsewhere, other['cohort']))['id'])}",
        bearer=elsewhere,
    )
    assert "circles" not in standard.json()


async def test_a_pairing_event_that_does_not_fit_its_contract_is_skipped(
    platform, kafka_bootstrap
):
    tenant = new_tenant()
    coordinator = token("coordinator-1", tenant, Role.COORDINATOR)
    before = len(platform.gateway.state.hub._listeners)
    ws = await subscribe(
        platform,
        coordinator,
        "subscription($p: ID!) { pairingUpdates(personId: $p) { kind pairingId } }",
        {"p": gid("Person", "e-1")},
    )
    try:
        await until_listening(platform, before + 1)
        await publish(
            kafka_bootstrap,
            [
                event(
                    "matching",
                    "PairingApproved",
                    "p-bad",
                    {"pairing_id": "p-bad", "mentee_id": "e-1"},  # no mentor_id
                    tenant=tenant,
                ),
                event(
                    "matching",
                    "PairingApproved",
                    "p-good",
                    {"pairing_id": "p-good", "mentor_id": "m-1", "mentee_id": "e-1"},
                    tenant=tenant,
                ),
            ],
        )
        msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert msg["type"] == "next", msg
        assert msg["payload"]["data"]["pairingUpdates"] == {
            "kind": "APPROVED",
            "pairingId": gid("Pairing", "p-good"),
        }
    finally:
        await ws.close()
