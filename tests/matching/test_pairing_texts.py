"""No one's words in matching's events: explanations and notes stay private.

A proposal quotes the mentee's intake (what they lack, how they learn) only when a
pairing is read; a typed decline reason is a private note a coordinator and its
author read. Neither is in a stored event nor in a published one, and both go when
the person is erased. Events stored before (version 1) are upcast on read.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from chassis.envelope import event_name
from chassis.service import mounted
from contracts import matching as m
from services.matching.application.pairings import Pairings
from tests.invariants.matching_helpers import (
    INTAKE,
    PROFILE,
    admit,
    build_org,
    feed,
    new_id,
    register,
)
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

GAP = "Zanzibar Turnaround"
STYLE = "learns by quiet reflection"
DECLINE = "my manager Priya leaves in May, so not this quarter"
SECRETS = (GAP, STYLE, DECLINE)


async def declined_proposal(app, c):
    """A round proposes a mentor to a mentee whose intake holds ``GAP`` and
    ``STYLE``; the mentee declines it in their own words (``DECLINE``)."""
    org = await build_org(app, seats=[1], mentees=0)
    mentor = org.mentors[0]
    await feed(
        app,
        org.tenant,
        "MentorProfileSet",
        person_id=mentor,
        **{**PROFILE, "leadership_style": "coaching"},
    )
    mentee = new_id("mentee")
    await register(app, org.tenant, mentee, level=5, roles=["mentee"])
    intake = {**INTAKE, "experiences_lacking": [GAP], "learning_style": STYLE}
    await feed(app, org.tenant, "IntakeSubmitted", person_id=mentee, **intake)
    await admit(app, org, mentee, "mentee")
    run = await c.post(
        "/rounds?wait=true",
        json={"cohort_id": org.cohort, "fairness": {"group_by": "business_unit"}},
        headers=org.coordinator,
    )
    assert run.status_code == 202, run.text
    [pairing] = (
        await c.get(
            "/pairings",
            params={"round_id": run.json()["round_id"]},
            headers=org.coordinator,
        )
    ).json()
    declined = await c.post(
        f"/pairings/{pairing['pairing_id']}/decline",
        json={"reason": DECLINE, "reason_code": "declined_schedule"},
        headers=org.person(mentee),
    )
    assert declined.status_code == 200, declined.text
    return org, mentor, mentee, pairing


async def stored(app, tenant: str) -> list:
    async with mounted(app).runtime.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT event_type, schema_version, payload::text AS payload "
                    "FROM events WHERE tenant = :t ORDER BY position"
                ),
                {"t": tenant},
            )
        ).all()


async def published(bootstrap: str, pairing_id: str, wanted: set[str]) -> dict:
    """The raw published envelopes of ``pairing_id`` of the ``wanted`` types."""
    consumer = AIOKafkaConsumer(
        "tandem.matching.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    found: dict[str, bytes] = {}
    await consumer.start()
    try:

        async def all_found() -> bool:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    kind = event_name(dict(r.headers)["ce_type"].decode())
                    if r.key == pairing_id.encode() and kind in wanted:
                        found[kind] = r.value
            return set(found) == wanted

        await until(all_found, f"{sorted(wanted)} of {pairing_id} published", 60)
    finally:
        await consumer.stop()
    return found


def holds_a_secret(raw: str) -> list[str]:
    return [s for s in SECRETS if s.casefold() in raw.casefold()]


async def test_stored_and_published_events_hold_no_intake_text_nor_typed_reason(
    matching, kafka_bootstrap
):
    app, c = matching
    org, _mentor, _mentee, pairing = await declined_proposal(app, c)

    words = " ".join(p["reason"] for p in pairing["parts"])
    assert GAP.casefold() in words.casefold() and STYLE in words  # read, not kept

    rows = await stored(app, org.tenant)
    kinds = {r.event_type for r in rows}
    assert {"PairingProposed", "PairingDeclined", "RoundCompleted"} <= kinds
    assert [(r.event_type, holds_a_secret(r.payload)) for r in rows] == [
        (r.event_type, []) for r in rows
    ]
    [declined] = [
        json.loads(r.payload) for r in rows if r.event_type == "PairingDeclined"
    ]
    assert declined["reason"] == "declined_schedule"
    [proposed] = [
        json.loads(r.payload) for r in rows if r.event_type == "PairingProposed"
    ]
    assert proposed["parts"] and all("reason" not in p for p in proposed["parts"])
    [done] = [json.loads(r.payload) for r in rows if r.event_type == "RoundCompleted"]
    assert "suppressed_groups" in done["fairness"]  # the disclosed report
    assert "members" not in json.dumps(done["fairness"])

    sent = await published(
        kafka_bootstrap, pairing["pairing_id"], {"PairingProposed", "PairingDeclined"}
    )
    assert set(sent) == {"PairingProposed", "PairingDeclined"}
    assert {k: holds_a_secret(v.decode()) for k, v in sent.items()} == {
        "PairingProposed": [],
        "PairingDeclined": [],
    }


async def test_a_typed_reason_is_read_by_coordinators_and_its_author_only(matching):
    app, c = matching
    org, mentor, mentee, pairing = await declined_proposal(app, c)
    url = f"/pairings/{pairing['pairing_id']}"

    for reader in (org.coordinator, org.person(mentee)):
        view = (await c.get(url, headers=reader)).json()
        assert [(n["text"], n["code"]) for n in view["notes"]] == [
            (DECLINE, "declined_schedule")
        ]
    for other in (
        token(org.tenant, "mentor", sub=mentor),
        token(org.tenant, "sponsor", sub="s-1"),
    ):
        resp = await c.get(url, headers=other)
        assert resp.status_code == 200 and resp.json()["notes"] == []
        assert DECLINE not in resp.text
    batch = await c.post(
        "/pairings/batch",
        json={"ids": [pairing["pairing_id"]]},
        headers=token(org.tenant, "mentor", sub=mentor),
    )
    assert batch.json()["items"] and DECLINE not in batch.text


async def test_erasure_deletes_the_notes_and_the_explanation(matching):
    app, c = matching
    org, _mentor, mentee, pairing = await declined_proposal(app, c)

    await feed(app, org.tenant, "PersonErased", person_id=mentee)

    view = await c.get(f"/pairings/{pairing['pairing_id']}", headers=org.coordinator)
    assert view.status_code == 200 and view.json()["notes"] == []
    assert holds_a_secret(view.text) == []
    assert all("no longer kept" in p["reason"] for p in view.json()["parts"])
    async with mounted(app).runtime.engine.connect() as conn:
        for table in ("pairing_notes", "pairing_explanations"):
            left = await conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant = :t"),
                {"t": org.tenant},
            )
            assert left.scalar() == 0, table


async def test_a_stored_v1_proposal_and_decline_are_read_without_their_words(
    matching,
):
    app, _c = matching
    pid, tenant = str(uuid.uuid4()), f"t-{uuid.uuid4().hex[:8]}"
    v1_proposed = {
        "pairing_id": pid,
        "mentor_id": "m-1",
        "mentee_id": "e-1",
        "score": 0.5,
        "parts": [
            {
                "criterion": "experience",
                "weight": 0.5,
                "value": 1.0,
                "contribution": 0.5,
                "reason": f"brings market experience '{GAP}'",
            }
        ],
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "replaces": "p-0",
        "reason": DECLINE,
    }
    v1_declined = {"pairing_id": pid, "person_id": "e-1", "reason": DECLINE}
    async with mounted(app).runtime.engine.begin() as conn:
        for version, (kind, data) in enumerate(
            (("PairingProposed", v1_proposed), ("PairingDeclined", v1_declined)),
            start=1,
        ):
            await conn.execute(
                text(
                    "INSERT INTO events (event_id, stream_id, stream_type, version, "
                    "event_type, schema_version, tenant, payload, metadata, "
                    "event_time) VALUES (:id, :s, 'Pairing', :v, :k, 1, :t, "
                    "CAST(:p AS jsonb), CAST('{}' AS jsonb), now())"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "s": pid,
                    "v": version,
                    "k": kind,
                    "t": tenant,
                    "p": json.dumps(data),
                },
            )

    pairing = await mounted(app).provide(Pairings).pairings.get(pid, tenant)

    assert pairing.state == "declined" and pairing.closed_reason == "other"
    assert pairing.proposal is not None and pairing.proposal.reason == "other"
    assert holds_a_secret(pairing.proposal.model_dump_json()) == []
    assert [p.criterion for p in pairing.proposal.parts] == ["experience"]


def test_v1_reasons_become_their_codes():
    upcast = m.registry.upcast
    assert upcast("PairingEnded", 1, {"reason": "rematched"})["reason"] == "rematched"
    assert upcast("PairingWithdrawn", 1, {"reason": "round re-run"})["reason"] == (
        "round_rerun"
    )
    assert upcast("PairingWithdrawn", 1, {"reason": "pair forbidden: same team"})[
        "reason"
    ] == ("pair_forbidden")
    assert upcast("PairingProposed", 1, {"reason": "next best after an expiry"})[
        "reason"
    ] == ("next_best_after_expiry")
    assert upcast("PairingDeclined", 1, {"reason": None}) == {}
    assert upcast("RepairingRequested", 1, {"reason": DECLINE})["reason"] == "other"
