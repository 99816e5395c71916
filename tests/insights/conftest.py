"""The insights service on real PostgreSQL and Kafka, fed with published events."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from services.insights.main import build_app
from services.insights.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token

COORDINATOR = token("acme", "coordinator")
SPONSOR = token("acme", "sponsor", sub="sponsor-1")
ADMIN = token("acme", "admin", sub="admin-1")


@pytest.fixture
async def insights(postgres_server, kafka_bootstrap):
    """The insights app and a client for it."""
    app = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with serving(app, "insights") as c:
        yield app, c


def event(
    service: str,
    kind: str,
    subject: str,
    data: dict,
    *,
    at: datetime | None = None,
    tenant: str = "acme",
) -> OutboundMessage:
    """An integration event as ``service`` publishes it."""
    return OutboundMessage.of(
        f"tandem.{service}.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source=f"tandem/{service}",
            type=kind,
            subject=subject,
            time=at or utcnow(),
            data=data,
            tenant=tenant,
        ),
    )


async def publish(bootstrap: str, messages: list[OutboundMessage]) -> None:
    transport = KafkaTransport(bootstrap)
    try:
        await transport.publish(messages)
    finally:
        await transport.stop()


async def until_facts(app, count: int, timeout_s: float = 60) -> None:
    """Wait until insights holds at least ``count`` facts."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with app.state.runtime.engine.connect() as conn:
            if (
                await conn.execute(text("SELECT count(*) FROM facts"))
            ).scalar_one() >= count:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"insights did not receive {count} facts in time")
