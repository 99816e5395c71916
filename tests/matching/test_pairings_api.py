"""The pairing workflow over HTTP on real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from chassis.auth.principal import system_principal
from chassis.envelope import event_name
from chassis.http import metadata_for
from chassis.service import mounted
from contracts import matching as m
from services.matching.application.pairings import Pairings
from services.matching.domain.pairing import Pairing
from tests.invariants.matching_helpers import PROFILE, feed, register
from tests.profiles.conftest import OTHER_TENANT, token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
COORDINATOR = token("acme", "coordinator")


async def propose(app, *, expires_in=timedelta(days=7)) -> tuple[str, str, str]:
    """A proposal as a round makes one (the round itself is tested elsewhere), for a
    mentor matching knows with one seat (approval and acceptance check the seat)."""
    pid, mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    await register(app, "acme", mentor, level=9, roles=["mentor"])
    await feed(app, "acme", "MentorProfileSet", person_id=mentor, **PROFILE)
    pairing = Pairing.propose(
        "acme",
        m.PairingProposed(
            pairing_id=pid,
            cohort_id="c-1",
            mentor_id=mentor,
            mentee_id=mentee,
            score=0.72,
            parts=[
                m.ScorePart(
                    criterion="skill complementarity",
                    weight=0.8,
                    value=0.9,
                    contribution=0.72,
                )
            ],
            expires_at=datetime.now(UTC) + expires_in,
        ),
    )
    await (
        mounted(app)
        .provide(Pairings)
        .pairings.save(pairing, metadata_for(system_principal("acme")))
    )
    return pid, mentor, mentee


async def test_approval_and_both_acceptances_confirm_and_publish(
    matching, kafka_bootstrap
):
    app, c = matching
    pid, mentor, mentee = await propose(app)

    seen = (await c.get(f"/pairings/{pid}", headers=COORDINATOR)).json()
    assert seen["state"] == "proposed" and seen["parts"][0]["contribution"] == 0.72

    early = await c.post(
        f"/pairings/{pid}/accept", headers=token("acme", "mentee", sub=mentee)
    )
    assert early.status_code == 422 and early.json()["code"] == "InvalidTransition"
    mentee_cannot_approve = await c.post(
        f"/pairings/{pid}/approve", headers=token("acme", "mentee", sub=mentee)
    )
    assert mentee_cannot_approve.status_code == 403

    assert (await c.post(f"/pairings/{pid}/approve", headers=COORDINATOR)).json()[
        "state"
    ] == ("approved")
    stranger = await c.post(
        f"/pairings/{pid}/accept", headers=token("acme", "mentor", sub="x")
    )
    assert stranger.status_code == 403 and stranger.json()["code"] == "NotAParty"
    await c.post(f"/pairings/{pid}/accept", headers=token("acme", "mentee", sub=mentee))
    done = await c.post(
        f"/pairings/{pid}/accept", headers=token("acme", "mentor", sub=mentor)
    )
    assert done.json()["state"] == "confirmed"

    confirmed = await read_confirmations(kafka_bootstrap, pid)
    assert (
        confirmed
        and confirmed["mentor_id"] == mentor
        and confirmed["mentee_id"] == mentee
    )

    mine = await c.get("/pairings", headers=token("acme", "mentee", sub=mentee))
    assert [p["pairing_id"] for p in mine.json()] == [pid]
    assert (await c.get(f"/pairings/{pid}", headers=OTHER_TENANT)).status_code == 404


async def read_confirmations(bootstrap: str, pairing_id: str, timeout_s: float = 60):
    consumer = AIOKafkaConsumer(
        "tandem.matching.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def confirmation() -> dict | None:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    headers = dict(r.headers)
                    if (
                        r.key == pairing_id.encode()
                        and event_name(headers["ce_type"].decode())
                        == "PairingConfirmed"
                    ):
                        import json

                        return dict(json.loads(r.value))
            return None

        return await until(confirmation, "PairingConfirmed published", timeout_s)
    finally:
        await consumer.stop()


async def test_a_decline_closes_and_a_forbidden_pair_is_withdrawn(matching):
    app, c = matching
    pid, mentor, _mentee = await propose(app)
    await c.post(f"/pairings/{pid}/approve", headers=COORDINATOR)
    declined = await c.post(
        f"/pairings/{pid}/decline",
        json={"reason": "no time this quarter"},
        headers=token("acme", "mentor", sub=mentor),
    )
    assert declined.json()["state"] == "declined"

    other, mentor2, mentee2 = await propose(app)
    forbidden = await c.post(
        "/forbidden-pairs",
        json={
            "mentor_id": mentor2,
            "mentee_id": mentee2,
            "reason": "same project team",
        },
        headers=COORDINATOR,
    )
    assert forbidden.status_code == 201 and forbidden.json()["withdrawn"] == [other]
    assert (await c.get(f"/pairings/{other}", headers=COORDINATOR)).json()[
        "state"
    ] == "withdrawn"
    bad = await c.post(
        "/forbidden-pairs", json={"mentor_id": mentor2}, headers=COORDINATOR
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"


async def test_proposals_expire(matching):
    app, c = matching
    pid, _mentor, _mentee = await propose(app, expires_in=timedelta(seconds=-1))
    late = await c.post(f"/pairings/{pid}/approve", headers=COORDINATOR)
    assert late.status_code == 422 and late.json()["code"] == "ProposalExpired"
    expired = await mounted(app).provide(Pairings).expire_everywhere()
    assert expired >= 1
    assert (await c.get(f"/pairings/{pid}", headers=COORDINATOR)).json()[
        "state"
    ] == "expired"
