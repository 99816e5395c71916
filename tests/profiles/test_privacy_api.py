"""Personal data: encrypted at rest, never on the topic, shredded on erasure."""

from __future__ import annotations

import contextlib
import json
import uuid

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from chassis.envelope import Envelope, event_name
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.profiles.application import Profiles
from tests.profiles.conftest import ADMIN, COORDINATOR, person, token
from tests.support.waiting import TimedOut, until

SECRET_BITS = ("Lovelace", "acme.example", "E0007", "Finance Director", "woman")


async def raw_events(app, stream_id: str) -> list[str]:
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload::text AS p FROM events WHERE stream_id = :s ORDER BY version"
            ),
            {"s": stream_id},
        )
        return [r.p for r in rows]


async def topic_messages(
    bootstrap: str, subject: str, at_least: int, timeout_s=30
) -> list:
    consumer = AIOKafkaConsumer(
        "tandem.profiles.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found = []
    try:

        async def enough() -> bool:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found.extend(r for r in records if r.key == subject.encode())
            return len(found) >= at_least

        with contextlib.suppress(TimedOut):  # the caller asserts on what came
            await until(enough, f"{at_least} messages about {subject}", timeout_s)
    finally:
        await consumer.stop()
    return found


async def consenting_person(client) -> tuple[str, dict]:
    pid = (await client.post("/people", json=person(7), headers=COORDINATOR)).json()[
        "person_id"
    ]
    me = token("acme", "mentee", sub=pid)
    assert (
        await client.put(
            f"/people/{pid}/consents/demographics", json={"given": True}, headers=me
        )
    ).status_code == 204
    shared = await client.put(
        f"/people/{pid}/demographics",
        json={"attributes": {"gender": "woman"}},
        headers=me,
    )
    assert shared.status_code == 204, shared.text
    return pid, me


async def test_erasure_shreds_the_events_and_reads_show_the_marker(app, client):
    pid, me = await consenting_person(client)
    stored = " ".join(await raw_events(app, pid))
    assert not any(bit in stored for bit in SECRET_BITS), (
        "personal data is encrypted at rest"
    )
    assert (await client.get(f"/people/{pid}", headers=me)).json()["demographics"] == {
        "gender": "woman"
    }

    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204

    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json() == {
        "person_id": pid,
        "status": "erased",
        "erased": True,
    }
    # The stored events are still there, but nothing personal in them decrypts.
    profiles = mounted(app).provide(Profiles)
    events = await profiles.store.read_stream(pid)
    async with profiles.engine.connect() as conn:
        decoded = [await profiles.people.decode(e, conn) for e in events]
        key = (
            await conn.execute(
                text("SELECT wrapped_key FROM person_keys WHERE person_id = :p"),
                {"p": pid},
            )
        ).scalar_one()
    assert key is None
    registered = decoded[0]
    assert (registered.email, registered.given_name, registered.employee_id) == (
        None,
        None,
        None,
    )
    assert registered.business_unit == "Retail"  # pseudonymous attributes remain
    assert events[-1].event_type == "PersonErased"

    # A rebuild from the shredded history gives the same marker.
    await client.post("/admin/projections/rebuild", headers=ADMIN)
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()["erased"] is True
    refused = await client.put(
        f"/people/{pid}/roles", json={"roles": ["mentor"]}, headers=ADMIN
    )
    assert refused.status_code == 410


async def test_the_topic_carries_no_personal_data(app, client, kafka_bootstrap):
    pid, _me = await consenting_person(client)
    await client.delete(f"/people/{pid}", headers=ADMIN)
    # Registered, consent (internal, not published), demographics, erased.
    messages = await topic_messages(kafka_bootstrap, pid, at_least=3)
    types = [event_name(dict(m.headers)["ce_type"].decode()) for m in messages]
    assert types[0] == "PersonRegistered" and types[-1] == "PersonErased"
    assert "ConsentGiven" not in types
    for m in messages:
        assert not any(bit in m.value.decode() for bit in SECRET_BITS if bit != "woman")
    registered = json.loads(messages[0].value)
    assert set(registered) >= {"person_id", "level", "business_unit", "geography"}
    assert not {"email", "given_name", "family_name", "employee_id", "title"} & set(
        registered
    )


async def test_demographics_are_for_admins_and_the_person_only(client):
    pid, me = await consenting_person(client)
    assert (
        "demographics"
        not in (await client.get(f"/people/{pid}", headers=COORDINATOR)).json()
    )
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()[
        "demographics"
    ] == {"gender": "woman"}
    other = token("acme", "mentor", sub=str(uuid.uuid4()))
    seen = (await client.get(f"/people/{pid}", headers=other)).json()
    assert "demographics" not in seen and "email" not in seen
    withdrawn = await client.put(
        f"/people/{pid}/consents/demographics", json={"given": False}, headers=me
    )
    assert withdrawn.status_code == 204
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()[
        "demographics"
    ] is None


async def test_mentor_capacity_cannot_fall_below_confirmed_pairings(
    app, client, kafka_bootstrap
):
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=COORDINATOR,
    )
    mentor = (
        await client.post(
            "/people", json=person(8, roles=["mentor"]), headers=COORDINATOR
        )
    ).json()["person_id"]
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 5}],
        "formats": ["one_to_one"],
        "max_mentees": 3,
        "hours_per_month": 6,
    }
    unknown = await client.put(
        f"/people/{mentor}/mentor-profile",
        json={**profile, "strengths": [{"competency_id": "alchemy", "proficiency": 5}]},
        headers=COORDINATOR,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "UnknownCompetency"
    ok = await client.put(
        f"/people/{mentor}/mentor-profile", json=profile, headers=COORDINATOR
    )
    assert ok.status_code == 204, ok.text

    # Matching confirms two pairings with this mentor.
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(
            [
                OutboundMessage.of(
                    "tandem.matching.v1",
                    Envelope(
                        id=str(uuid.uuid4()),
                        source="tandem/matching",
                        type="PairingConfirmed",
                        subject=f"pairing-{n}-{mentor}",
                        time=utcnow(),
                        data={
                            "pairing_id": f"pairing-{n}-{mentor}",
                            "mentor_id": mentor,
                            "mentee_id": str(uuid.uuid4()),
                        },
                        tenant="acme",
                    ),
                )
                for n in range(2)
            ]
        )
    finally:
        await transport.stop()
    profiles = mounted(app).provide(Profiles)

    async def loaded() -> bool:
        async with profiles.engine.connect() as conn:
            return await profiles._mentor_load(conn, mentor) == 2

    with contextlib.suppress(TimedOut):  # the refusal below says what it saw
        await until(loaded, "the mentor's two confirmed pairings", 30)

    low = await client.put(
        f"/people/{mentor}/capacity",
        json={"max_mentees": 1, "hours_per_month": 4},
        headers=COORDINATOR,
    )
    assert low.status_code == 422, low.text
    assert low.json()["code"] == "CapacityBelowLoad" and low.json()["load"] == 2
    seen = (await client.get(f"/people/{mentor}", headers=COORDINATOR)).json()
    assert seen["mentor_profile"]["max_mentees"] == 3
    fine = await client.put(
        f"/people/{mentor}/capacity",
        json={"max_mentees": 2, "hours_per_month": 4},
        headers=COORDINATOR,
    )
    assert fine.status_code == 204
