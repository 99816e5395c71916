"""Matching through the gateway, end to end over HTTP and a real websocket: a round,
the pairing workflow with typed errors, a subscription fed from Kafka, and upstream
calls that do not grow with the length of a list."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets

from chassis.auth import Role
from tests.gateway.journey import until_matching_sees
from tests.gateway.platform import new_tenant, token
from tests.profiles.conftest import person
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

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


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


async def build_cohort(platform, tenant: str, mentees: int = 3) -> dict:
    """Two mentors (1 and 2 seats) and some mentees in a cohort, set up directly."""
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)

    async def call(method: str, path: str, body: dict) -> dict:
        resp = await platform.service("profiles", method, path, bearer=admin, json=body)
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else {}

    for cid in ("strategy", "finance"):
        await call("POST", "/competencies", {"competency_id": cid, "name": cid})
    cohort = (await call("POST", "/cohorts", {"name": "Leaders", "capacity": 20}))[
        "cohort_id"
    ]
    mentors = []
    for n, seats in ((100, 1), (101, 2)):
        pid = (await call("POST", "/people", person(n, level=9, roles=["mentor"])))[
            "person_id"
        ]
        await call(
            "PUT", f"/people/{pid}/mentor-profile", {**PROFILE, "max_mentees": seats}
        )
        await call(
            "POST",
            f"/cohorts/{cohort}/participants",
            {"person_id": pid, "role": "mentor"},
        )
        mentors.append(pid)
    people = []
    for n in range(110, 110 + mentees):
        pid = (await call("POST", "/people", person(n)))["person_id"]
        await call("PUT", f"/people/{pid}/intake", INTAKE)
        await call("POST", f"/cohorts/{cohort}/participants", {"person_id": pid})
        people.append(pid)
    await until_matching_sees(platform, cohort, len(mentors) + len(people))
    return {"cohort": cohort, "mentors": mentors, "mentees": people, "admin": admin}


START = """
mutation($input: StartMatchingRoundInput!) { startMatchingRound(input: $input) {
  __typename
  ... on Error { code message }
  ... on MatchingRoundSuccess { round { id status mentorCount menteeCount cohort { name }
      proposedCount progress { phase }
      proposedPairs(first: 10) { edges { node { id status score
        mentor { id givenName } mentee { id givenName }
        explanation { criterion weight value contribution reason } } } } } } } }
"""
ACT = """
mutation($input: PairingInput!) { %s(input: $input) {
  __typename ... on Error { code message }
  ... on PairingSuccess { pairing { id status } } } }
"""


async def run_round(platform, org: dict, **extra) -> dict:
    body = await platform.graphql(
        START,
        {"input": {"cohortId": gid("Cohort", org["cohort"]), "wait": True, **extra}},
        bearer=org["admin"],
    )
    return body["data"]["startMatchingRound"]


async def test_a_round_proposes_explained_pairs_with_people(platform):
    org = await build_cohort(platform, new_tenant())
    result = await run_round(platform, org)
    assert result["__typename"] == "MatchingRoundSuccess", result
    rnd = result["round"]
    assert rnd["status"] == "COMPLETED" and rnd["progress"]["phase"] == "done"
    assert (rnd["menteeCount"], rnd["mentorCount"]) == (3, 2)
    assert rnd["cohort"]["name"] == "Leaders"
    pairs = [e["node"] for e in rnd["proposedPairs"]["edges"]]
    assert len(pairs) == rnd["proposedCount"] == 3
    for p in pairs:
        assert p["status"] == "PROPOSED"
        assert p["mentor"]["givenName"].startswith("Ada10")
        assert p["mentee"]["givenName"].startswith("Ada11")
        assert p["score"] == pytest.approx(
            sum(part["contribution"] for part in p["explanation"]), abs=1e-9
        )
        assert all(part["reason"] for part in p["explanation"])


async def test_pins_beyond_a_mentors_seats_are_capacity_exceeded(platform):
    org = await build_cohort(platform, new_tenant())
    one_seat = org["mentors"][0]
    pins = [
        {"menteeId": gid("Person", m), "mentorId": gid("Person", one_seat)}
        for m in org["mentees"][:2]
    ]
    result = await run_round(platform, org, pins=pins)
    assert result["__typename"] == "CapacityExceeded", result
    assert result["code"] == "CapacityExceeded"
    listed = await platform.graphql(
        "{ pairings(first: 5) { edges { node { id } } } }", bearer=org["admin"]
    )
    assert listed["data"]["pairings"]["edges"] == [], "nothing was proposed"


async def subscribe(platform, bearer: str, query: str, variables: dict):
    url = platform.gateway_url.replace("http", "ws") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps(
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {bearer}"},
            }
        )
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )
    )
    return ws


async def until_listening(platform, count: int, timeout_s: float = 10) -> None:
    hub = platform.gateway.state.hub
    await until(
        lambda: len(hub._listeners) >= count,
        "the subscription to start",
        timeout_s,
        interval_s=0.02,
    )


UPDATES = """
subscription($p: ID!) { pairingUpdates(personId: $p) { kind pairingId
  pairing { status mentee { givenName } } } }
"""


async def test_approval_and_both_acceptances_reach_the_subscriber(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=1)
    result = await run_round(platform, org)
    pair = result["round"]["proposedPairs"]["edges"][0]["node"]
    mentor = base64.b64decode(pair["mentor"]["id"]).decode().split(":", 1)[1]
    mentee = base64.b64decode(pair["mentee"]["id"]).decode().split(":", 1)[1]
    mentee_token = token(mentee, tenant, Role.MENTEE)
    mentor_token = token(mentor, tenant, Role.MENTOR)

    before = len(platform.gateway.state.hub._listeners)
    ws = await subscribe(platform, mentee_token, UPDATES, {"p": pair["mentee"]["id"]})
    try:
        await until_listening(platform, before + 1)
        approved = await platform.graphql(
            ACT % "approvePairing",
            {"input": {"pairingId": pair["id"]}},
            bearer=org["admin"],
        )
        assert approved["data"]["approvePairing"]["pairing"]["status"] == "APPROVED"
        for bearer in (mentee_token, mentor_token):
            done = await platform.graphql(
                ACT % "acceptPairing",
                {"input": {"pairingId": pair["id"]}},
                bearer=bearer,
            )
            assert done["data"]["acceptPairing"]["__typename"] == "PairingSuccess"
        kinds = []
        updates = []

        async def confirmed() -> bool:
            try:  # cancelling recv loses no message
                msg = json.loads(await asyncio.wait_for(ws.recv(), 1))
            except TimeoutError:
                return False
            assert msg["type"] == "next", msg
            updates.append(msg["payload"]["data"]["pairingUpdates"])
            assert updates[-1]["pairingId"] == pair["id"]
            kinds.append(updates[-1]["kind"])
            return "CONFIRMED" in kinds

        await until(
            confirmed,
            "the confirmation",
            60,
            interval_s=0,
            detail=lambda: f"saw {kinds}",
        )
        update = updates[-1]
        assert update["pairing"]["status"] == "CONFIRMED"
        assert update["pairing"]["mentee"]["givenName"] == "Ada110"
        assert kinds.index("APPROVED") < kinds.index("CONFIRMED")
    finally:
        await ws.close()

    # Someone else's pairings are not theirs to follow.
    ws = await subscribe(platform, mentor_token, UPDATES, {"p": pair["mentee"]["id"]})
    try:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "Forbidden"
    finally:
        await ws.close()


async def test_upstream_calls_do_not_grow_with_the_number_of_pairings(platform):
    org = await build_cohort(platform, new_tenant())
    await run_round(platform, org)
    query = """query($n: Int!) { pairings(first: $n) { edges { node { score
      mentor { givenName } mentee { givenName } round { status } } } } }"""
    one = await platform.graphql(query, {"n": 1}, bearer=org["admin"])
    many = await platform.graphql(query, {"n": 3}, bearer=org["admin"])
    assert len(many["data"]["pairings"]["edges"]) == 3
    assert one["extensions"]["upstreamCalls"] == many["extensions"]["upstreamCalls"]


RERUN = """
mutation($input: RerunRoundInput!) { rerunRound(input: $input) {
  __typename ... on Error { code message }
  ... on MatchingRoundSuccess { round { id status pinned { mentee { id } mentor { id } }
    proposedPairs(first: 10) { edges { node { mentor { id } mentee { id } } } } } } } }
"""


async def test_a_rerun_keeps_the_pins_and_strangers_cannot_accept(platform):
    tenant = new_tenant()
    org = await build_cohort(platform, tenant)
    first = (await run_round(platform, org))["round"]
    pair = first["proposedPairs"]["edges"][0]["node"]
    stranger = token("someone-else", tenant, Role.MENTEE)
    refused = await platform.graphql(
        ACT % "acceptPairing", {"input": {"pairingId": pair["id"]}}, bearer=stranger
    )
    refusal = refused["data"]["acceptPairing"]
    assert (refusal["__typename"], refusal["code"]) == ("Forbidden", "NotAParty")

    mentee, mentor = gid("Person", org["mentees"][0]), gid("Person", org["mentors"][1])
    body = await platform.graphql(
        RERUN,
        {
            "input": {
                "roundId": first["id"],
                "pins": [{"menteeId": mentee, "mentorId": mentor}],
            }
        },
        bearer=org["admin"],
    )
    again = body["data"]["rerunRound"]
    assert again["__typename"] == "MatchingRoundSuccess", again
    assert again["round"]["status"] == "COMPLETED"
    assert again["round"]["pinned"] == [
        {"mentee": {"id": mentee}, "mentor": {"id": mentor}}
    ]
    pairs = {
        (e["node"]["mentee"]["id"], e["node"]["mentor"]["id"])
        for e in again["round"]["proposedPairs"]["edges"]
    }
    assert (mentee, mentor) in pairs
