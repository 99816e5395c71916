"""Matching acts on insights' early warnings (real PostgreSQL and Kafka): a stalled
relationship gets one re-pairing proposal awaiting the coordinator; other warnings
and redeliveries change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.matching.application.early_warnings import calls_for_repairing
from tests.matching.test_planning_api import confirm, propose, ready_cohort
from tests.profiles.conftest import COORDINATOR
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


def test_the_rule_re_pairs_stalls_not_check_ins_or_escalations():
    assert calls_for_repairing("at_risk", ["no_session_for_70_days"])
    assert calls_for_repairing(
        "at_risk", ["open_escalations_1", "cancellation_streak_2"]
    )
    assert calls_for_repairing("idle", ["idle_for_50_days"])
    assert not calls_for_repairing("at_risk", ["open_escalations_1"])
    assert not calls_for_repairing("needs_check_in", ["no_session_for_50_days"])


def warning(pairing_id: str, level: str, reasons: list[str], mentee: str, mentor: str):
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/insights",
        type="EarlyWarningRaised",
        subject=f"health-acme-{pairing_id}",
        time=utcnow(),
        data={
            "relationship_id": pairing_id,
            "mentor_id": mentor,
            "mentee_id": mentee,
            "level": level,
            "reasons": reasons,
        },
        tenant="acme",
    )


async def applied(app, ids: set[str], timeout_s: float = 60) -> None:
    async def done_all() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            done = {
                r.event_id
                for r in await conn.execute(
                    text("SELECT event_id FROM processed_events WHERE consumer = :c"),
                    {"c": mounted(app).runtime.consumer.name},
                )
            }
        return ids <= done

    await until(done_all, "matching to apply the warnings", timeout_s)


async def test_a_stalled_relationship_gets_one_re_pairing_awaiting_approval(
    matching, client, kafka_bootstrap
):
    app, c = matching
    org = await ready_cohort(app, client)
    mentee, mentor = org["mentees"][1], org["b"]  # as in the escalation test
    old_id = await propose(app, org, mentee, mentor)
    old = (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()
    assert (await confirm(c, old))["state"] == "confirmed"

    def w(level, reasons):
        return warning(old_id, level, reasons, mentee, mentor)

    ignored = [w("needs_check_in", ["no_check_in_for_50_days"])]
    ignored.append(w("at_risk", ["open_escalations_1"]))
    stalled = w("at_risk", ["no_session_for_70_days", "cancellation_streak_2"])
    idle = w("idle", ["idle_for_70_days"])
    # Keyed by the relationship: one partition, delivered in this order; the stall
    # twice (a redelivery), then the idle warning that usually follows it.
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(
            [
                OutboundMessage.of("tandem.insights.v1", e)
                for e in [*ignored, stalled, stalled, idle]
            ]
        )
    finally:
        await transport.stop()
    await applied(app, {e.id for e in [*ignored, stalled, idle]})

    async def replacements() -> list[dict]:
        mine = await c.get(f"/pairings?person_id={mentee}", headers=COORDINATOR)
        return [p for p in mine.json() if p["replaces"] == old_id]

    # The pairings view follows the store.
    await until(replacements, "the re-pairing proposal", 60)
    found = await replacements()
    assert len(found) == 1, "one proposal, whatever the warnings and repeats"
    new = found[0]
    assert new["state"] == "proposed"  # awaiting the coordinator, nothing ended
    assert new["mentor_id"] != mentor
    assert new["reason"].startswith("insights early warning at_risk")
    current = (await c.get(f"/pairings/{old_id}", headers=COORDINATOR)).json()
    assert current["state"] == "confirmed"
