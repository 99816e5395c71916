"""Relationships: started once per confirmed pairing, contract signed by both."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from tests.sessions.conftest import (
    CONTRACT,
    COORDINATOR,
    confirm_pairing,
    confirmation,
    signed,
)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


async def test_a_confirmation_delivered_twice_starts_one_relationship(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, twice=True)
    mine = (await c.get("/relationships", headers=pair["as_mentee"])).json()
    assert [r["relationship_id"] for r in mine] == [pair["id"]]
    async with mounted(app).runtime.engine.connect() as conn:
        started = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM events WHERE event_type = 'RelationshipStarted' AND stream_id = :s"
                ),
                {"s": pair["id"]},
            )
        ).scalar_one()
    assert started == 1
    assert mine[0]["state"] == "active" and mine[0]["contract"]["in_force"] is False


async def test_the_contract_is_in_force_once_both_sign_and_a_change_needs_both_again(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    await signed(c, pair)
    seen = (
        await c.get(f"/relationships/{pair['id']}", headers=pair["as_mentor"])
    ).json()
    assert seen["contract"]["in_force"] is True
    assert "strategic plan" in seen["contract"]["terms"]
    coordinator_view = (
        await c.get(f"/relationships/{pair['id']}", headers=COORDINATOR)
    ).json()
    assert "terms" not in coordinator_view["contract"]

    changed = await c.put(
        f"/relationships/{pair['id']}/contract",
        json={**CONTRACT, "hours_per_month": 6},
        headers=pair["as_mentor"],
    )
    assert changed.json()["contract"]["version"] == 2
    assert changed.json()["contract"]["in_force"] is False
    stale = await c.post(
        f"/relationships/{pair['id']}/contract/signatures",
        json={"version": 1},
        headers=pair["as_mentee"],
    )
    assert stale.status_code == 422 and stale.json()["code"] == "InvalidTransition"


async def test_people_of_one_pair_cannot_see_another(sessions, kafka_bootstrap):
    app, c = sessions
    a = await confirm_pairing(app, kafka_bootstrap)
    b = await confirm_pairing(app, kafka_bootstrap)
    assert (
        await c.get(f"/relationships/{b['id']}", headers=a["as_mentor"])
    ).status_code == 404
    refused = await c.put(
        f"/relationships/{b['id']}/contract", json=CONTRACT, headers=a["as_mentee"]
    )
    assert refused.status_code == 404
    bad = await c.put(
        f"/relationships/{a['id']}/contract",
        json={**CONTRACT, "cadence": {"every_days": 0, "minutes": 60}},
        headers=a["as_mentee"],
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ValidationError"
    unchanged = (
        await c.get(f"/relationships/{a['id']}", headers=a["as_mentee"])
    ).json()
    assert unchanged["contract"]["version"] is None


async def test_a_relationship_runs_to_the_end_of_its_cohorts_development_phase(
    sessions, kafka_bootstrap
):
    app, c = sessions
    cohort = str(uuid.uuid4())
    created = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="CohortCreated",
        subject=cohort,
        time=utcnow(),
        data={
            "cohort_id": cohort,
            "name": "Leaders 2027",
            "capacity": 10,
            "pathway": [
                {"stage": "intake", "starts_on": "2027-01-04", "ends_on": "2027-01-31"},
                {
                    "stage": "development",
                    "starts_on": "2027-02-15",
                    "ends_on": "2027-07-30",
                },
            ],
        },
        tenant="acme",
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([OutboundMessage.of("tandem.profiles.v1", created)])

        async def cycle_known() -> bool:
            async with mounted(app).runtime.engine.connect() as conn:
                return (
                    await conn.execute(
                        text("SELECT 1 FROM cohort_cycles WHERE cohort_id = :c"),
                        {"c": cohort},
                    )
                ).first() is not None

        await until(cycle_known, "sessions to learn the cohort's cycle", 60)
        pid = str(uuid.uuid4())
        message = confirmation(
            pid, str(uuid.uuid4()), str(uuid.uuid4()), cohort_id=cohort
        )
        await transport.publish([message])
    finally:
        await transport.stop()

    async def listed() -> dict | None:
        rows = (await c.get("/relationships", headers=COORDINATOR)).json()
        return next((r for r in rows if r["relationship_id"] == pid), None)

    seen = await until(listed, "the relationship in the coordinator's list", 60)
    assert seen["cohort_id"] == cohort
    assert seen["planned_end_on"] == "2027-07-30"
