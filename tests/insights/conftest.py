"""The insights service on real PostgreSQL and Kafka, fed with published events."""

from __future__ import annotations

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
from tests.support.waiting import until

# insights aggregates whole tenants and reads every topic, where other tests publish
# for "acme": its tests use an organisation of their own.
TENANT = f"insights-{uuid.uuid4().hex[:8]}"
COORDINATOR = token(TENANT, "coordinator")
SPONSOR = token(TENANT, "sponsor", sub="sponsor-1")
ADMIN = token(TENANT, "admin", sub="admin-1")


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
    tenant: str = TENANT,
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


# The ids of the events this test published (see ``until_facts``).
_published: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_published():
    _published.clear()
    yield
    _published.clear()


async def publish(bootstrap: str, messages: list[OutboundMessage]) -> None:
    transport = KafkaTransport(bootstrap)
    try:
        await transport.publish(messages)
    finally:
        await transport.stop()
    _published.extend(dict(m.headers)["ce_id"].decode() for m in messages)


async def until_facts(app, count: int, timeout_s: float = 60) -> None:
    """Wait until insights has applied every event this test published.

    Other tests' events share the topics, so counting facts is not enough: the
    consumer's own record of applied event ids says when this test's are all in.
    ``count`` is kept as a floor on the number of facts.
    """
    wanted = set(_published)

    async def all_applied() -> bool:
        async with app.state.runtime.engine.connect() as conn:
            applied = {
                r.event_id
                for r in await conn.execute(
                    text("SELECT event_id FROM processed_events WHERE consumer = :c"),
                    {"c": app.state.runtime.consumer.name},
                )
            }
            facts = (
                await conn.execute(text("SELECT count(*) FROM facts"))
            ).scalar_one()
        return wanted <= applied and facts >= count

    await until(
        all_applied, f"insights to apply this test's {len(wanted)} events", timeout_s
    )


@pytest.fixture
async def prepared_app(postgres_server):
    """The insights app on its own database, tables created, no broker or consumer
    running: tests feed it events themselves."""
    app = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=None,
        )
    )
    await app.state.runtime.prepare()
    try:
        yield app
    finally:
        await app.state.runtime.engine.dispose()
