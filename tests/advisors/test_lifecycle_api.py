"""The advisor lifecycle over HTTP, on real PostgreSQL and Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from chassis.envelope import Envelope, event_name
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.advisors.application.lifecycle import Advisors
from tests.advisors.conftest import ADMIN, COORDINATOR, OTHER_TENANT, SPONSOR
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
CHECKS = ("background", "conflict_of_interest", "confidentiality", "compliance")
PROFILE = {"geography": "GB", "time_zone": "Europe/London", "languages": ["en"]}
SECRETS = ("Hopper", "grace@navy.example", "Ministry of Compilers")


def proposal(**overrides) -> dict:
    body = {
        "name": "Grace Hopper",
        "email": "grace@navy.example",
        "organisation": "Ministry of Compilers",
        "bio": "Wrote the first compiler.",
        "expertise_sought": ["digital transformation", "board governance"],
    }
    body.update(overrides)
    return body


async def propose(client, **overrides) -> str:
    r = await client.post("/advisors", json=proposal(**overrides), headers=SPONSOR)
    assert r.status_code == 201, r.text
    return r.json()["advisor_id"]


async def diligence_passed(client, aid: str) -> None:
    r = await client.post(f"/advisors/{aid}/diligence", headers=COORDINATOR)
    assert r.status_code == 200, r.text
    expiry = (date.today() + timedelta(days=365)).isoformat()
    for check in CHECKS:
        r = await client.put(
            f"/advisors/{aid}/checks/{check}",
            json={
                "status": "passed",
                "evidence": f"{check} file 42",
                "owner": "compliance-1",
                "expires_on": expiry,
            },
            headers=COORDINATOR,
        )
        assert r.status_code == 200, r.text


async def stored(app, aid: str) -> list:
    return await mounted(app).runtime.store.read_stream(aid)


async def topic_messages(bootstrap: str, key: str, want: set[str], timeout_s=30):
    consumer = AIOKafkaConsumer(
        "tandem.advisors.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found = []
    try:

        async def all_found() -> bool:
            nonlocal found
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [r for r in records if r.key == key.encode()]
            return want <= {
                event_name(dict(m.headers)["ce_type"].decode()) for m in found
            }

        await until(all_found, f"{sorted(want)} of {key} published", timeout_s)
    finally:
        await consumer.stop()
    return found


async def test_proposal_to_offboarding_publishes_no_personal_data(
    advisors, kafka_bootstrap
):
    app, client = advisors
    aid = await propose(client)
    await diligence_passed(client, aid)

    approved = await client.post(
        f"/advisors/{aid}/approve", json=PROFILE, headers=COORDINATOR
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    for step, status in (("activate", "active"), ("offboard", "offboarded")):
        r = await client.post(f"/advisors/{aid}/{step}", headers=COORDINATOR)
        assert (r.status_code, r.json()["status"]) == (200, status), r.text

    seen = (await client.get(f"/advisors/{aid}", headers=SPONSOR)).json()
    assert seen["name"] == "Grace Hopper"
    assert seen["checks"]["background"]["evidence"] == "background file 42"
    assert seen["profile"]["geography"] == "GB"

    messages = await topic_messages(
        kafka_bootstrap, aid, {"AdvisorApproved", "AdvisorOffboarded"}
    )
    types = [event_name(dict(m.headers)["ce_type"].decode()) for m in messages]
    assert types == [
        "AdvisorProposed",
        "AdvisorApproved",
        "AdvisorActivated",
        "AdvisorOffboarded",
    ]  # diligence details stay in the service
    for m in messages:
        assert not any(bit in m.value.decode() for bit in SECRETS)
    payload = json.loads(messages[1].value)
    assert payload["advisor_id"] == aid and payload["geography"] == "GB"
    raw = " ".join(json.dumps(e.data) for e in await stored(app, aid))
    assert not any(bit in raw for bit in SECRETS), "encrypted at rest"


async def test_erasure_shreds_the_key_and_reads_show_the_marker(advisors):
    app, client = advisors
    aid = await propose(client)
    await diligence_passed(client, aid)
    refused = await client.delete(f"/advisors/{aid}", headers=COORDINATOR)
    assert refused.status_code == 403, "erasure is for admins"

    assert (await client.delete(f"/advisors/{aid}", headers=ADMIN)).status_code == 204

    assert (await client.get(f"/advisors/{aid}", headers=ADMIN)).json() == {
        "advisor_id": aid,
        "status": "erased",
        "erased": True,
    }
    events = await stored(app, aid)
    assert events[-1].event_type == "AdvisorErased"
    lifecycle = mounted(app).provide(Advisors)
    async with lifecycle.engine.connect() as conn:
        key = (
            await conn.execute(
                text("SELECT wrapped_key FROM person_keys WHERE person_id = :p"),
                {"p": aid},
            )
        ).scalar_one()
        decoded = [await lifecycle.advisors.decode(e, conn) for e in events]
        row = (
            await conn.execute(
                text(
                    "SELECT name, email, evidence FROM advisors WHERE advisor_id = :a"
                ),
                {"a": aid},
            )
        ).one()
    assert key is None
    assert (decoded[0].name, decoded[0].email) == (None, None)
    assert decoded[0].expertise_sought == [], "shredded: reads as empty"
    assert all(getattr(e, "evidence", None) is None for e in decoded)
    assert (row.name, row.email, row.evidence) == (None, None, "{}")
    again = await client.post(f"/advisors/{aid}/reject", json={}, headers=COORDINATOR)
    assert again.status_code == 410


async def test_another_tenant_sees_nothing(advisors):
    _app, client = advisors
    aid = await propose(client)
    assert (
        await client.get(f"/advisors/{aid}", headers=OTHER_TENANT)
    ).status_code == 404
    r = await client.post(f"/advisors/{aid}/diligence", headers=OTHER_TENANT)
    assert r.status_code == 404
    assert (
        await client.delete(f"/advisors/{aid}", headers=OTHER_TENANT)
    ).status_code == 404
    listed = (await client.get("/advisors", headers=OTHER_TENANT)).json()
    assert listed["items"] == []
    assert [
        a["advisor_id"]
        for a in (await client.get("/advisors", headers=SPONSOR)).json()["items"]
    ] == [aid]


async def test_bad_input_gets_a_typed_error_and_writes_nothing(advisors):
    app, client = advisors
    bad = await client.post(
        "/advisors",
        json=proposal(email="not-an-email", expertise_sought=[]),
        headers=SPONSOR,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"
    async with mounted(app).runtime.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
    assert count == 0

    aid = await propose(client)
    await client.post(f"/advisors/{aid}/diligence", headers=COORDINATOR)
    before = len(await stored(app, aid))
    unknown = await client.put(
        f"/advisors/{aid}/checks/astrology",
        json={"status": "passed"},
        headers=COORDINATOR,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "UnknownCheck"
    blocked = await client.post(
        f"/advisors/{aid}/approve", json=PROFILE, headers=COORDINATOR
    )
    assert blocked.status_code == 422 and blocked.json()["code"] == "ApprovalBlocked"
    assert {b["check"] for b in blocked.json()["blockers"]} == set(CHECKS)
    early = await client.post(f"/advisors/{aid}/activate", headers=COORDINATOR)
    assert early.status_code == 409
    assert len(await stored(app, aid)) == before


async def test_a_tenant_checklist_replaces_the_default(advisors):
    _app, client = advisors
    default = (await client.get("/diligence-checklist", headers=COORDINATOR)).json()
    assert [c["name"] for c in default["checks"]] == list(CHECKS)
    bad = await client.put(
        "/diligence-checklist",
        json={"checks": [{"name": "Bad Name"}, {"name": "x_ok"}]},
        headers=COORDINATOR,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"
    refused = await client.put(
        "/diligence-checklist", json={"checks": [{"name": "ok"}]}, headers=SPONSOR
    )
    assert refused.status_code == 403
    checks = [
        {"name": "background", "owner": "hr-1"},
        {"name": "references", "required": False},
    ]
    r = await client.put(
        "/diligence-checklist", json={"checks": checks}, headers=COORDINATOR
    )
    assert r.status_code == 200, r.text
    aid = await propose(client)
    started = await client.post(f"/advisors/{aid}/diligence", headers=COORDINATOR)
    assert started.json()["checks"]["background"]["owner"] == "hr-1"
    assert set(started.json()["checks"]) == {"background", "references"}
    await client.put(
        f"/advisors/{aid}/checks/background",
        json={"status": "passed"},
        headers=COORDINATOR,
    )
    approved = await client.post(
        f"/advisors/{aid}/approve", json=PROFILE, headers=COORDINATOR
    )
    assert approved.status_code == 200, "optional checks do not block approval"
    other = (await client.get("/diligence-checklist", headers=OTHER_TENANT)).json()
    assert [c["name"] for c in other["checks"]] == list(CHECKS)


async def test_restricted_organisation_sweep_and_person_erasure(
    advisors, kafka_bootstrap
):
    app, client = advisors
    r = await client.put(
        "/restricted-organisations",
        json={"organisations": ["Globex Corp"]},
        headers=COORDINATOR,
    )
    assert r.status_code == 200
    conflicted = await propose(client)
    await client.post(f"/advisors/{conflicted}/diligence", headers=COORDINATOR)
    r = await client.put(
        f"/advisors/{conflicted}/conflicts",
        json={"board_seats": ["GLOBEX  corp"]},
        headers=COORDINATOR,
    )
    check = r.json()["checks"]["conflict_of_interest"]
    assert (check["status"], check["reason_code"]) == (
        "failed",
        "restricted_organisation",
    )

    # An active advisor whose checks lapse is suspended by the sweep.
    person = str(uuid.uuid4())
    aid = await propose(client, person_id=person)
    await diligence_passed(client, aid)
    await client.post(f"/advisors/{aid}/approve", json=PROFILE, headers=COORDINATOR)
    lifecycle = mounted(app).provide(Advisors)
    lifecycle.clock = lambda: date.today() + timedelta(days=400)
    assert await lifecycle.sweep() == 1
    seen = (await client.get(f"/advisors/{aid}", headers=COORDINATOR)).json()
    assert (seen["status"], seen["reason_code"]) == ("suspended", "check_expired")

    # The advisor is also a person in profiles: erasing the person erases them.
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(
            [
                OutboundMessage.of(
                    "tandem.profiles.v1",
                    Envelope(
                        id=str(uuid.uuid4()),
                        source="tandem/profiles",
                        type="PersonErased",
                        subject=person,
                        time=utcnow(),
                        data={"person_id": person, "erased_at": utcnow().isoformat()},
                        tenant="acme",
                    ),
                )
            ]
        )
    finally:
        await transport.stop()

    async def erased() -> dict | None:
        seen = (await client.get(f"/advisors/{aid}", headers=ADMIN)).json()
        return seen if seen["status"] == "erased" else None

    seen = await until(erased, "the advisor to show as erased", 30, interval_s=0.2)
    assert seen == {"advisor_id": aid, "status": "erased", "erased": True}


async def test_a_reader_without_rights_sees_no_personal_field_and_staff_see_all(
    advisors,
):
    """The view leaves out (not nulls) what the caller may not see."""
    _app, client = advisors
    aid = await propose(client)
    await diligence_passed(client, aid)
    mentor = token("acme", "mentor", sub="mentor-1")

    seen = (await client.get(f"/advisors/{aid}", headers=mentor)).json()
    assert set(seen) == {
        "advisor_id",
        "status",
        "expertise_sought",
        "reason_code",
        "profile",
        "erased",
        "checks",
    }
    assert seen["profile"] is None and seen["reason_code"] is None
    assert all("evidence" not in check for check in seen["checks"].values())

    staff = (await client.get(f"/advisors/{aid}", headers=COORDINATOR)).json()
    assert set(staff) == set(seen) | {
        "name",
        "email",
        "organisation",
        "bio",
        "person_id",
        "conflicts",
    }
    assert staff["person_id"] is None and staff["conflicts"] == {}
    assert staff["checks"]["background"] == {
        "required": True,
        "status": "passed",
        "owner": "compliance-1",
        "expires_on": (date.today() + timedelta(days=365)).isoformat(),
        "reason_code": None,
        "evidence": "background file 42",
    }
    page = (await client.get("/advisors", headers=mentor)).json()
    assert page["next_after"] is None and set(page["items"][0]) == set(seen)
