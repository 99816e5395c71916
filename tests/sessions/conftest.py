"""The sessions service on real PostgreSQL and Kafka, fed by matching's topic."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from services.sessions.main import build_app
from services.sessions.settings import Settings
from tests.profiles.conftest import token

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
) -> OutboundMessage:
    """A PairingConfirmed as matching publishes it."""
    data = {"pairing_id": pairing_id, "mentor_id": mentor, "mentee_id": mentee}
    if cohort_id:
        data["cohort_id"] = cohort_id
    return OutboundMessage.of(
        "tandem.matching.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/matching",
            type="PairingConfirmed",
            subject=pairing_id,
            time=utcnow(),
            data=data,
            tenant=tenant,
        ),
    )


async def confirm_pairing(app, kafka_bootstrap: str, *, twice: bool = False) -> dict:
    """Publish a PairingConfirmed as matching does; wait until sessions started it."""
    pid, mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    message = confirmation(pid, mentor, mentee)
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message, message] if twice else [message])
    finally:
        await transport.stop()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with app.state.runtime.engine.connect() as conn:
            found = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM relationships WHERE relationship_id = :r"
                    ),
                    {"r": pid},
                )
            ).scalar_one()
        if found:
            break
        await asyncio.sleep(0.05)
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
