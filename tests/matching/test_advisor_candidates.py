"""Matching receives approved external advisors as candidates and loses suspended ones."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from tests.matching.test_rounds_api import INTAKE
from tests.profiles.conftest import ADMIN, COORDINATOR, person
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


def advisor_event(kind: str, advisor_id: str, **data) -> OutboundMessage:
    return OutboundMessage.of(
        "tandem.advisors.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/advisors",
            type=kind,
            subject=advisor_id,
            time=utcnow(),
            data={"advisor_id": advisor_id, **data},
            tenant="acme",
        ),
    )


async def publish(bootstrap: str, *messages: OutboundMessage) -> None:
    transport = KafkaTransport(bootstrap)
    try:
        await transport.publish(list(messages))
    finally:
        await transport.stop()


async def until_gives(app, sql: str, params: dict, want, timeout_s: float = 60) -> None:
    async def gives() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            return bool((await conn.execute(text(sql), params)).scalar_one() == want)

    await until(gives, f"{sql} to give {want}", timeout_s)


async def test_approved_advisors_are_paired_and_suspended_ones_are_not(
    matching, client, kafka_bootstrap
):
    app, c = matching
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=ADMIN,
    )
    cohort = (
        await client.post(
            "/cohorts",
            json={
                "name": "Board readiness",
                "capacity": 5,
                "programme_type": "external",
            },
            headers=ADMIN,
        )
    ).json()["cohort_id"]
    mentees = []
    for n in (300, 301):
        pid = (
            await client.post("/people", json=person(n, level=9), headers=COORDINATOR)
        ).json()["person_id"]
        await client.put(f"/people/{pid}/intake", json=INTAKE, headers=ADMIN)
        await client.post(
            f"/cohorts/{cohort}/participants", json={"person_id": pid}, headers=ADMIN
        )
        mentees.append(pid)

    advisor = str(uuid.uuid4())
    await publish(
        kafka_bootstrap,
        advisor_event(
            "AdvisorApproved",
            advisor,
            geography="GB",
            time_zone="Europe/London",
            languages=["en"],
            level=12,
            strengths=[{"competency_id": "strategy", "proficiency": 5}],
            markets=["APAC"],
            crisis_experience=["turnaround"],
            formats=["one_to_one"],
            max_mentees=1,
            hours_per_month=4,
        ),
    )
    await until_gives(
        app,
        "SELECT count(*) FROM candidates WHERE person_id = :a AND active = 1",
        {"a": advisor},
        1,
    )
    await until_gives(
        app,
        "SELECT count(*) FROM cohort_members m JOIN candidates c ON c.person_id = "
        "m.person_id WHERE m.cohort_id = :c AND c.intake IS NOT NULL",
        {"c": cohort},
        2,
    )
    first = (
        await c.post(
            "/rounds?wait=true", json={"cohort_id": cohort}, headers=COORDINATOR
        )
    ).json()
    assert first["status"] == "completed", first
    proposals = (
        await c.get(f"/pairings?round_id={first['round_id']}", headers=COORDINATOR)
    ).json()
    assert [(p["mentor_id"], p["programme_type"]) for p in proposals] == [
        (advisor, "external")
    ]
    assert len(first["unmatched"]) == 1, "one seat: the advisor's capacity is respected"

    await publish(
        kafka_bootstrap,
        advisor_event("AdvisorSuspended", advisor, reason_code="check_expired"),
    )
    await until_gives(
        app, "SELECT active FROM candidates WHERE person_id = :a", {"a": advisor}, 0
    )
    again = await c.post("/rounds", json={"cohort_id": cohort}, headers=COORDINATOR)
    assert again.status_code == 422 and again.json()["code"] == "NothingToMatch"
