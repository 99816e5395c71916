"""A relationship concludes on the day its pairing ended (``PairingEnded.ended_on``,
a pairing of the programme's history; null: the day of the event), and its history
then takes no session, milestone or feedback dated after that day: each such record
is a per-record error naming its field, the others are imported."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from tests.sessions.conftest import confirm_pairing
from tests.sessions.test_history_import import (
    TODAY,
    at,
    day,
    history,
    outcomes,
    run,
)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


async def end_pairing(app, kafka_bootstrap: str, pid: str, ended_on: date | None):
    data: dict[str, object] = {"pairing_id": pid, "reason": "concluded"}
    if ended_on is not None:
        data["ended_on"] = ended_on.isoformat()
    message = OutboundMessage.of(
        "tandem.matching.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/matching",
            type="PairingEnded",
            subject=pid,
            time=utcnow(),
            data=data,
            tenant="acme",
            schema_version=2,
        ),
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message])
    finally:
        await transport.stop()

    async def concluded() -> dict | None:
        async with mounted(app).runtime.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT payload FROM events WHERE stream_id = :r "
                        "AND event_type = 'RelationshipConcluded'"
                    ),
                    {"r": pid},
                )
            ).first()
        if row is None:
            return None
        return row.payload if isinstance(row.payload, dict) else json.loads(row.payload)

    return await until(concluded, "sessions to conclude the relationship", 60)


async def test_a_relationship_concludes_on_the_day_its_pairing_ended(
    sessions, kafka_bootstrap
):
    app, _c = sessions
    past = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    live = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-30))
    ended = await end_pairing(app, kafka_bootstrap, past["id"], day(-165))
    assert ended["concluded_on"] == day(-165).isoformat()
    ended = await end_pairing(app, kafka_bootstrap, live["id"], None)
    assert ended["concluded_on"] == TODAY.isoformat()  # null: the day of the event


async def test_history_after_the_relationships_end_is_refused_naming_its_field(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    await end_pairing(app, kafka_bootstrap, rid, day(-165))
    doc = history(rid)  # sessions on -190, -176, -162; milestones set -185, -150
    doc["check_ins"] = []
    doc["feedback"] = [
        doc["feedback"][0],  # on S1, the day after it: before the end
        {
            "key": f"F3-{rid}",
            "relationship_id": rid,
            "from": "mentor",
            "about": "session",
            "session": f"S1-{rid}",
            "rating": 3,
            "given_at": at(-150).isoformat(),
        },
    ]
    job, records = await run(c, doc)
    assert outcomes(records) == {
        ("contracts", f"C-{rid}"): "created",
        ("sessions", f"S1-{rid}"): "created",
        ("sessions", f"S2-{rid}"): "created",
        ("sessions", f"S3-{rid}"): "failed",
        ("milestones", f"M1-{rid}"): "failed",
        ("milestones", f"M2-{rid}"): "failed",
        ("feedback", f"F1-{rid}"): "created",
        ("feedback", f"F3-{rid}"): "failed",
    }
    fields = {
        k: (r["error"]["code"], r["error"]["field"])
        for k, r in records.items()
        if r["error"]
    }
    assert fields == {
        ("sessions", f"S3-{rid}"): ("AfterRelationshipEnded", "starts_at"),
        ("milestones", f"M1-{rid}"): ("AfterRelationshipEnded", "achieved_on"),
        ("milestones", f"M2-{rid}"): ("AfterRelationshipEnded", "set_on"),
        ("feedback", f"F3-{rid}"): ("AfterRelationshipEnded", "given_at"),
    }
    assert (
        day(-165).isoformat() in records[("sessions", f"S3-{rid}")]["error"]["message"]
    )
    assert job["counts"]["sessions"] == {
        "created": 2,
        "unchanged": 0,
        "failed": 1,
        "would_create": 0,
    }
    # a dry run refuses the same
    _job, dry = await run(c, doc | {"sessions": doc["sessions"][2:]}, dry_run=True)
    assert dry[("sessions", f"S3-{rid}")]["error"]["field"] == "starts_at"
