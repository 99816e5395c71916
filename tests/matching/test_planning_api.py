"""One mentee's matching over HTTP on real PostgreSQL and Kafka: self-service
suggestions, the next best after a decline or an expiry, re-pairing, rotation plans."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.auth.principal import system_principal
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.http import metadata_for
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from contracts import matching as m
from services.matching.application.pairings import Pairings
from services.matching.domain.pairing import Pairing
from services.matching.domain.rotation import RotationPlan, RotationRepeatsMentor
from tests.matching import test_rounds_api as rounds_tests
from tests.profiles.conftest import COORDINATOR, OTHER_TENANT, token
from tests.support.waiting import until

kafka = pytest.mark.kafka
# The cohort the rounds tests pair.
build_cohort, until_seen = rounds_tests.build_cohort, rounds_tests.until_seen


def as_person(person_id: str) -> dict[str, str]:
    return token("acme", "mentee", sub=person_id)


async def ready_cohort(app, client) -> dict:
    org = await build_cohort(client)
    await until_seen(app, org["cohort"], 6)
    return org


async def propose(
    app, org: dict, mentee: str, mentor: str, *, expires_in=timedelta(days=7)
) -> str:
    """A proposal in the cohort as a round makes one (rounds are tested elsewhere)."""
    pid = str(uuid.uuid4())
    pairing = Pairing.propose(
        "acme",
        m.PairingProposed(
            pairing_id=pid,
            round_id=str(uuid.uuid4()),
            cohort_id=org["cohort"],
            mentor_id=mentor,
            mentee_id=mentee,
            score=0.5,
            expires_at=datetime.now(UTC) + expires_in,
        ),
    )
    await (
        mounted(app)
        .provide(Pairings)
        .pairings.save(pairing, metadata_for(system_principal("acme")))
    )
    return pid


async def confirm(c, pairing: dict) -> dict:
    approved = await c.post(
        f"/pairings/{pairing['pairing_id']}/approve", headers=COORDINATOR
    )
    assert approved.status_code == 200, approved.text
    for who in (pairing["mentee_id"], pairing["mentor_id"]):
        answer = await c.post(
            f"/pairings/{pairing['pairing_id']}/accept", headers=as_person(who)
        )
        assert answer.status_code == 200, answer.text
    return answer.json()


@kafka
async def test_suggestions_are_explained_private_and_forget_dismissed_mentors(
    matching, client
):
    app, c = matching
    org = await ready_cohort(app, client)
    reporting, mentee, other = org["mentees"][:3]

    resp = await c.get(
        f"/mentees/{mentee}/suggestions?top=2", headers=as_person(mentee)
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["cohort_id"] == org["cohort"]
    listed = body["suggestions"]
    assert {s["mentor_id"] for s in listed} == {org["a"], org["b"]}
    assert [s["rank"] for s in listed] == [1, 2]
    assert listed[0]["score"] >= listed[1]["score"]
    for s in listed:
        assert s["score"] == pytest.approx(
            sum(p["contribution"] for p in s["parts"]), abs=1e-9
        )
        assert all(p["reason"] for p in s["parts"]) and s["summary"]

    theirs = await c.get(f"/mentees/{reporting}/suggestions", headers=COORDINATOR)
    assert org["a"] not in {s["mentor_id"] for s in theirs.json()["suggestions"]}, (
        "never the mentee's own reporting line"
    )
    peek = await c.get(f"/mentees/{mentee}/suggestions", headers=as_person(other))
    assert peek.status_code == 403
    elsewhere = await c.get(f"/mentees/{mentee}/suggestions", headers=OTHER_TENANT)
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "MenteeNotInCohort"

    best = listed[0]["mentor_id"]
    dismissed = await c.post(
        f"/mentees/{mentee}/dismissed",
        json={"mentor_id": best},
        headers=as_person(mentee),
    )
    assert dismissed.status_code == 204
    after = await c.get(
        f"/mentees/{mentee}/suggestions?top=2", headers=as_person(mentee)
    )
    assert [s["mentor_id"] for s in after.json()["suggestions"]] == [
        listed[1]["mentor_id"]
    ]


@kafka
async def test_a_decline_or_an_expiry_brings_the_next_best_mentor(matching, client):
    app, c = matching
    org = await ready_cohort(app, client)
    mentee, late = org["mentees"][1], org["mentees"][2]
    first = await propose(app, org, mentee, org["b"])

    declined = await c.post(
        f"/pairings/{first}/decline",
        json={"reason": "I would rather learn from another market"},
        headers=as_person(mentee),
    )
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    mine = (await c.get("/pairings", headers=as_person(mentee))).json()
    (offer,) = [p for p in mine if p["state"] == "proposed"]
    assert offer["mentor_id"] == org["a"] and offer["cohort_id"] == org["cohort"]
    assert offer["reason"] == "next_best_after_decline"
    assert offer["parts"] and all(p["reason"] for p in offer["parts"])

    # The mentor says no too: nobody in the cohort is left, so nothing is proposed.
    await c.post(
        f"/pairings/{offer['pairing_id']}/decline", json={}, headers=as_person(org["a"])
    )
    mine = (await c.get("/pairings", headers=as_person(mentee))).json()
    assert len(mine) == 2 and {p["state"] for p in mine} == {"declined"}

    stale = await propose(app, org, late, org["b"], expires_in=timedelta(seconds=-1))
    assert await mounted(app).provide(Pairings).expire_everywhere() >= 1
    assert (await c.get(f"/pairings/{stale}", headers=COORDINATOR)).json()[
        "state"
    ] == "expired"
    theirs = (await c.get("/pairings", headers=as_person(late))).json()
    (offer,) = [p for p in theirs if p["state"] == "proposed"]
    assert offer["mentor_id"] == org["a"]
    assert offer["reason"] == "next_best_after_expiry"


@kafka
async def test_repairing_proposes_a_new_mentor_and_ends_the_old_pair_as_rematched(
    matching, client
):
    app, c = matching
    org = await ready_cohort(app, client)
    mentee, other = org["mentees"][1], org["mentees"][2]
    old_id = await propose(app, org, mentee, org["b"])
    old = (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()
    assert (await confirm(c, old))["state"] == "confirmed"

    stranger = await c.post(
        f"/pairings/{old_id}/repair", json={"reason": "x"}, headers=as_person(other)
    )
    assert stranger.status_code == 403
    reason = "we have not managed to meet for two months"
    resp = await c.post(
        f"/pairings/{old_id}/repair", json={"reason": reason}, headers=as_person(mentee)
    )
    assert resp.status_code == 201, resp.text
    new = resp.json()
    assert new["mentee_id"] == mentee and new["mentor_id"] == org["a"]
    assert (new["replaces"], new["reason"], new["state"]) == (
        old_id,
        reason,
        "proposed",
    )
    again = await c.post(
        f"/pairings/{old_id}/repair", json={"reason": reason}, headers=COORDINATOR
    )
    assert again.status_code == 409 and again.json()["code"] == "RepairUnderway"
    stream = await mounted(app).runtime.store.read_stream(old_id, tenant="acme")
    assert stream[-1].event_type == "RepairingRequested"
    assert stream[-1].data["requested_by"] == "mentee"
    assert (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()[
        "state"
    ] == "confirmed", "the old pair runs on until the new one is confirmed"

    assert (await confirm(c, new))["state"] == "confirmed"
    assert (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()[
        "state"
    ] == "ended"
    ended = await mounted(app).provide(Pairings).pairings.get(old_id, "acme")
    assert ended.closed_reason == "rematched"

    open_one = await propose(app, org, other, org["b"])
    not_running = await c.post(
        f"/pairings/{open_one}/repair", json={"reason": reason}, headers=COORDINATOR
    )
    assert not_running.status_code == 422
    assert not_running.json()["code"] == "InvalidTransition"


@kafka
async def test_a_rotation_plan_names_distinct_mentors_or_refuses(matching, client):
    app, c = matching
    org = await ready_cohort(app, client)
    reporting, mentee = org["mentees"][:2]
    body = {"cycles": 2, "cycle_weeks": 8, "starts_on": "2027-01-04"}

    resp = await c.post(f"/mentees/{mentee}/rotation", json=body, headers=COORDINATOR)
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert plan["cohort_id"] == org["cohort"] and plan["mentee_id"] == mentee
    cycles = plan["cycles"]
    assert {x["mentor_id"] for x in cycles} == {org["a"], org["b"]}
    assert [(x["cycle"], x["starts_on"], x["ends_on"]) for x in cycles] == [
        (1, "2027-01-04", "2027-02-28"),
        (2, "2027-03-01", "2027-04-25"),
    ]
    seen = await c.get(f"/mentees/{mentee}/rotation", headers=as_person(mentee))
    assert seen.status_code == 200 and seen.json() == plan

    too_many = await c.post(
        f"/mentees/{mentee}/rotation", json={**body, "cycles": 3}, headers=COORDINATOR
    )
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "NotEnoughMentors"
    assert too_many.json()["available"] == 2
    line = await c.post(
        f"/mentees/{reporting}/rotation", json=body, headers=COORDINATOR
    )
    assert line.json()["code"] == "NotEnoughMentors", "never the reporting line"
    out_of_range = await c.post(
        f"/mentees/{mentee}/rotation", json={**body, "cycles": 7}, headers=COORDINATOR
    )
    assert out_of_range.status_code == 422
    assert out_of_range.json()["code"] == "ValidationError"
    self_planned = await c.post(
        f"/mentees/{mentee}/rotation", json=body, headers=as_person(mentee)
    )
    assert self_planned.status_code == 403
    none = await c.get(f"/mentees/{reporting}/rotation", headers=COORDINATOR)
    assert none.status_code == 404


def test_a_rotation_never_repeats_a_mentor():
    with pytest.raises(RotationRepeatsMentor):
        RotationPlan.plan(
            "acme", "plan-1", "mentee", ["x", "y", "x"],
            starts_on=date(2027, 1, 4), cycle_weeks=4,
        )  # fmt: skip
    plan = RotationPlan.plan(
        "acme", "plan-2", "mentee", ["x", "y", "z"],
        starts_on=date(2027, 1, 4), cycle_weeks=4,
    )  # fmt: skip
    (planned,) = plan.collect_pending()
    assert isinstance(planned, m.RotationPlanned)
    assert [c.mentor_id for c in planned.cycles] == ["x", "y", "z"]
    for before, after in zip(planned.cycles, planned.cycles[1:], strict=False):
        assert after.starts_on == before.ends_on + timedelta(days=1)


async def test_an_escalation_resolved_with_repair_re_pairs_the_mentee(
    matching, client, kafka_bootstrap
):
    """Sessions publishes EscalationResolved(repair_requested); matching re-pairs."""
    app, c = matching
    org = await ready_cohort(app, client)
    mentee = org["mentees"][1]
    old_id = await propose(app, org, mentee, org["b"])
    old = (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()
    assert (await confirm(c, old))["state"] == "confirmed"

    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(
            [
                OutboundMessage.of(
                    "tandem.sessions.v1",
                    Envelope(
                        id=str(uuid.uuid4()),
                        source="tandem/sessions",
                        type="EscalationResolved",
                        subject=str(uuid.uuid4()),
                        time=utcnow(),
                        data={
                            "escalation_id": str(uuid.uuid4()),
                            "relationship_id": old_id,
                            "outcome": "repair_requested",
                            "resolved_by": "coordinator-1",
                        },
                        tenant="acme",
                    ),
                )
            ]
        )
    finally:
        await transport.stop()

    async def replacements() -> list[dict]:
        mine = (
            await c.get(f"/pairings?person_id={mentee}", headers=COORDINATOR)
        ).json()
        return [p for p in mine if p["replaces"] == old_id]

    replacement = await until(replacements, "matching to propose a new mentor", 60)
    assert replacement[0]["mentor_id"] != org["b"]
