"""What sessions publishes on the real broker carries no words people wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from chassis.envelope import event_name
from tests.sessions.conftest import CONTRACT, confirm_pairing, signed
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
AGENDA = "Walk through the board deck line by line"
NOTE = "I worry my peers see me as indecisive"


async def published_for(
    bootstrap: str, relationship_id: str, types: set[str], timeout_s=60
):
    consumer = AIOKafkaConsumer(
        "tandem.sessions.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: dict[str, bytes] = {}
    try:

        async def all_found() -> bool:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    if relationship_id.encode() in r.value:
                        found[event_name(dict(r.headers)["ce_type"].decode())] = r.value
            return types <= set(found)

        await until(
            all_found,
            f"{sorted(types)} of {relationship_id} published",
            timeout_s,
            detail=lambda: f"found {sorted(found)}",
        )
    finally:
        await consumer.stop()
    return found


async def test_the_topic_carries_ids_and_dates_never_text(sessions, kafka_bootstrap):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    await signed(c, pair)
    starts = datetime(2027, 3, 1, 10, tzinfo=UTC) + timedelta(days=7)
    booked = await c.post(
        f"/relationships/{pair['id']}/sessions",
        json={
            "starts_at": starts.isoformat(),
            "minutes": 60,
            "agenda": AGENDA,
            "outside_availability": True,
        },
        headers=pair["as_mentee"],
    )
    assert booked.status_code == 201, booked.text
    note = await c.post(
        f"/relationships/{pair['id']}/notes",
        json={
            "kind": "journal",
            "visibility": "private",
            "body": NOTE,
            "prompt_id": "bias-check",
        },
        headers=pair["as_mentee"],
    )
    assert note.status_code == 201, note.text

    wanted = {
        "RelationshipStarted",
        "ContractDrafted",
        "ContractInForce",
        "SessionScheduled",
        "NoteWritten",
    }
    found = await published_for(kafka_bootstrap, pair["id"], wanted)
    assert wanted <= set(found), sorted(found)
    everything = b" ".join(found.values()).decode()
    for words in (AGENDA, NOTE, CONTRACT["terms"], CONTRACT["objectives"][0]):
        assert words not in everything
    assert "text_id" not in everything, "private references stay in the service"
