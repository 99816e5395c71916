"""The sessions service on real PostgreSQL and Kafka, fed by matching's topic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.sessions.main import build_app
from services.sessions.settings import Settings
from tests.profiles.conftest import token
from tests.support.waiting import until

COORDINATOR = token("acme", "coordinator")


@pytest.fixture
async def sessions(postgres_server, kafka_bootstrap):
    app = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sessions"
        ) as c:
            yield app, c


def confirmation(
    pairing_id: str,
    mentor: str,
    mentee: str,
    tenant: str = "acme",
    cohort_id: str | None = None,
    at: datetime | None = None,
    starts_on: date | None = None,
) -> OutboundMessage:
    """A PairingConfirmed as matching publishes it (at ``at``: the relationship's
    first day, unless the coordinator set ``starts_on``)."""
    data = {"pairing_id": pairing_id, "mentor_id": mentor, "mentee_id": mentee}
    if cohort_id:
        data["cohort_id"] = cohort_id
    if starts_on:
        data["starts_on"] = starts_on.isoformat()
    return OutboundMessage.of(
        "tandem.matching.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/matching",
            type="PairingConfirmed",
            subject=pairing_id,
            time=at or utcnow(),
            data=data,
            tenant=tenant,
        ),
    )


async def confirm_pairing(
    app,
    kafka_bootstrap: str,
    *,
    twice: bool = False,
    days_ago: int = 0,
    starts_on: date | None = None,
) -> dict:
    """Publish a PairingConfirmed as matching does; wait until sessions started it
    (a relationship confirmed ``days_ago`` days ago; starting on ``starts_on`` when
    the coordinator set it)."""
    pid, mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    message = confirmation(
        pid,
        mentor,
        mentee,
        at=utcnow() - timedelta(days=days_ago),
        starts_on=starts_on,
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message, message] if twice else [message])
    finally:
        await transport.stop()

    async def started() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            return bool(
                (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM relationships "
                            "WHERE relationship_id = :r"
                        ),
                        {"r": pid},
                    )
                ).scalar_one()
            )

    await until(started, "sessions to start the relationship", 60, interval_s=0.05)
    return {
        "id": pid,
        "mentor": mentor,
        "mentee": mentee,
        "as_mentor": token("acme", "mentor", sub=mentor),
        "as_mentee": token("acme", "mentee", sub=mentee),
    }


CONTRACT = {
    "cadence": {"every_days": 14, "minutes": 60},
    "hours_per_month": 4,
    "objectives": ["Present the strategic plan to the executive team by 30 March"],
    "terms": "Confidential; feedback after every session; escalate to the coordinator.",
}


async def signed(c, pair: dict) -> None:
    """Draft the contract and have both sides sign it."""
    drafted = await c.put(
        f"/relationships/{pair['id']}/contract",
        json=CONTRACT,
        headers=pair["as_mentee"],
    )
    assert drafted.status_code == 200, drafted.text
    version = drafted.json()["contract"]["version"]
    for who in ("as_mentee", "as_mentor"):
        resp = await c.post(
            f"/relationships/{pair['id']}/contract/signatures",
            json={"version": version},
            headers=pair[who],
        )
        assert resp.status_code == 200, resp.text


async def held_session(c, pair: dict, *, hours_ago: int = 2) -> str:
    """A session of the pair (contract signed) that took place ``hours_ago``; the
    relationship must have started by then."""
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    made = await c.post(
        f"/relationships/{pair['id']}/sessions",
        json={
            "starts_at": starts_at.isoformat(),
            "minutes": 60,
            "outside_availability": True,
        },
        headers=pair["as_mentee"],
    )
    assert made.status_code == 201, made.text
    session_id = made.json()["session_id"]
    held = await c.post(
        f"/sessions/{session_id}/held", json={}, headers=pair["as_mentor"]
    )
    assert held.status_code == 200, held.text
    return session_id


async def milestone(c, pair: dict) -> str:
    """A milestone on the pair's first objective (contract signed), due in a month."""
    due_on = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    made = await c.post(
        f"/relationships/{pair['id']}/milestones",
        json={
            "objective_index": 0,
            "label": "Present the strategic plan",
            "due_on": due_on,
            "criteria": ["Plan presented"],
        },
        headers=pair["as_mentee"],
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]
