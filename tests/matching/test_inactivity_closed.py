"""Matching hears notifications' ``RelationshipInactivityClosed``: the confirmed
pairing (the relationship id is its id) ends with reason ``inactive``, once, whatever
the redeliveries; a pairing not confirmed, or unknown, is left as it is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import topic_for
from chassis.messaging.transport import InboundMessage
from chassis.service import mounted
from tests.invariants.matching_helpers import build_org
from tests.matching.test_history_import import outcomes, run, running

pytestmark = pytest.mark.kafka


async def closed(app, tenant: str, relationship_id: str, event_id: str) -> None:
    """Deliver the event to matching's consumer, as the broker would."""
    now = datetime.now(UTC)
    env = Envelope(
        id=event_id,
        source="tandem/notifications",
        type="RelationshipInactivityClosed",
        subject=relationship_id,
        time=utcnow(),
        data={
            "relationship_id": relationship_id,
            "reason": "inactive",
            "warned_at": (now - timedelta(days=7)).isoformat(),
            "inactive_since": (now - timedelta(days=40)).isoformat(),
        },
        tenant=tenant,
    )
    consumer = mounted(app).runtime.consumer
    before = consumer.dead_letters
    await consumer.handle(
        InboundMessage(
            topic=topic_for("notifications"),
            partition=0,
            offset=0,
            key=env.kafka_key(),
            value=env.kafka_value(),
            headers=env.kafka_headers(),
        )
    )
    assert consumer.dead_letters == before


async def test_a_relationship_closed_as_inactive_ends_its_pairing_once(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    job = await run(c, org, [running(org, "P-1", 0, 0)])
    pairing_id = (await outcomes(c, org, job))["P-1"]["id"]

    await closed(app, org.tenant, pairing_id, str(uuid.uuid4()))
    await closed(app, org.tenant, pairing_id, str(uuid.uuid4()))  # a second closing
    await closed(app, org.tenant, "no-such-pairing", str(uuid.uuid4()))

    got = (await c.get(f"/pairings/{pairing_id}", headers=org.coordinator)).json()
    assert got["state"] == "ended"
    events = await mounted(app).runtime.store.read_stream(pairing_id, tenant=org.tenant)
    ended = [e.data for e in events if e.event_type == "PairingEnded"]
    assert len(ended) == 1 and ended[0]["reason"] == "inactive"
