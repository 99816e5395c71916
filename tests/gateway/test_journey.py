"""The issue's end-to-end journey, all through GraphQL over HTTP against the real
services, PostgreSQL and Kafka: an HRIS import, a matching round, approval and
acceptance (a subscription receives the confirmation), a contract signed, sessions
held, a milestone achieved, and the mentee's scorecard updated."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from chassis.auth import Role
from tests.gateway import journey
from tests.gateway.journey import local, until
from tests.gateway.platform import new_tenant, token

pytestmark = pytest.mark.asyncio(loop_scope="module")

UPDATES = """subscription($p: ID!) { pairingUpdates(personId: $p) { kind pairingId
  pairing { status } } }"""


async def subscribe(platform, bearer: str, query: str, variables: dict):
    url = platform.gateway_url.replace("http", "ws") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {bearer}"}}
    await ws.send(json.dumps(init))
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


async def test_a_mentee_from_hris_import_to_an_updated_scorecard(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR, Role.INTEGRATION)
    coordinator = token("coord-1", tenant, Role.COORDINATOR)

    ids = await journey.import_organisation(platform, admin, mentees=2)
    assert len(ids) == 3
    cohort = await journey.enrol(platform, admin, ids)
    pairs = await journey.run_round(platform, admin, cohort, mentees=2)
    for pair in pairs:
        assert pair["explanation"], "every proposal explains its score"
        assert sum(p["contribution"] for p in pair["explanation"]) == pytest.approx(
            pair["score"], abs=1e-6
        )
    pair = next(p for p in pairs if p["mentee"]["id"] == ids["ada10@acme.example"])
    mentee = local(pair["mentee"]["id"])
    mentor = local(pair["mentor"]["id"])
    as_mentee = token(mentee, tenant, Role.MENTEE)
    as_mentor = token(mentor, tenant, Role.MENTOR)

    ws = await subscribe(platform, as_mentee, UPDATES, {"p": pair["mentee"]["id"]})
    hub = platform.gateway.state.hub
    await until(
        lambda: hub.listener_count, "the subscription to start", 10, interval_s=0.02
    )
    try:
        await journey.confirm(platform, tenant, coordinator, pair)
        kinds = []
        while "CONFIRMED" not in kinds:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert message["type"] == "next", message
            update = message["payload"]["data"]["pairingUpdates"]
            assert update["pairingId"] == pair["id"]
            kinds.append(update["kind"])
        # (The round's "proposed" may still be on its way when the subscription
        # starts.)
        assert "APPROVED" in kinds and kinds[-1] == "CONFIRMED"
        assert kinds.index("APPROVED") < kinds.index("CONFIRMED")
    finally:
        await ws.close()

    relationship = await journey.relationship_of(platform, as_mentee)
    await journey.develop(platform, relationship, as_mentor, as_mentee, sessions=2)

    async def scorecard_updated():
        body = await platform.graphql(
            journey.SCORECARD, {"m": pair["mentee"]["id"]}, bearer=as_mentee
        )
        card = body["data"]["menteeScorecard"]
        return card if card["behaviouralChange"]["milestones"]["achieved"] else None

    card = await until(scorecard_updated, "the mentee's scorecard to update")
    assert card["behaviouralChange"]["milestones"] == {
        "set": 1,
        "achieved": 1,
        "onTime": 1,
    }
    assert local(relationship) in card["relationshipIds"]

    # Another mentee of the same programme cannot read this scorecard.
    other = token(local(ids["ada11@acme.example"]), tenant, Role.MENTEE)
    denied = await platform.graphql(
        journey.SCORECARD,
        {"m": pair["mentee"]["id"]},
        bearer=other,
        expect_errors=True,
    )
    assert denied["data"]["menteeScorecard"] is None
    assert denied["errors"][0]["extensions"]["code"] == "Forbidden"
