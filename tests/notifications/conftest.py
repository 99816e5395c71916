"""The notifications service on real PostgreSQL and Kafka, fed with published events.

Each test has an organisation of its own (``tenant`` below): the topics are shared
with every other test of the session, and so is the consumer group's position.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from services.notifications.main import build_app
from services.notifications.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token
from tests.support.waiting import until


@pytest.fixture
def tenant() -> str:
    return f"notify-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def notifications(postgres_server, kafka_bootstrap):
    """The notifications app and a client for it."""
    app = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with serving(app, "notifications") as c:
        yield app, c


@pytest.fixture
def notifications_with(postgres_server, kafka_bootstrap):
    """Serve a notifications app with more settings (by their variable names)."""

    @asynccontextmanager
    async def serve(**variables: object) -> AsyncIterator[tuple[object, object]]:
        settings = Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
            **{"NOTIFICATIONS_POLL_S": 0.05, **variables},
        )
        app = build_app(settings)
        async with serving(app, "notifications") as c:
            yield app, c

    return serve


def person_token(tenant: str, person_id: str, role: str = "mentee") -> dict[str, str]:
    return token(tenant, role, sub=person_id)


def event(
    service: str,
    kind: str,
    subject: str,
    data: dict,
    *,
    tenant: str,
    event_id: str | None = None,
) -> OutboundMessage:
    """An integration event as ``service`` publishes it."""
    return OutboundMessage.of(
        f"tandem.{service}.v1",
        Envelope(
            id=event_id or str(uuid.uuid4()),
            source=f"tandem/{service}",
            type=kind,
            subject=subject,
            time=utcnow(),
            data=data,
            tenant=tenant,
        ),
    )


def proposed(tenant: str, mentor: str, mentee: str, **kw) -> OutboundMessage:
    pairing = kw.pop("pairing_id", f"pairing-{uuid.uuid4().hex[:6]}")
    expires = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    data = {
        "pairing_id": pairing,
        "mentor_id": mentor,
        "mentee_id": mentee,
        "score": 0.8,
        "expires_at": expires,
    }
    return event("matching", "PairingProposed", pairing, data, tenant=tenant, **kw)


def person_event(tenant: str, kind: str, person: str, **data) -> OutboundMessage:
    return event("profiles", kind, person, {"person_id": person, **data}, tenant=tenant)


async def publish(bootstrap: str, messages: Iterable[OutboundMessage]) -> list[str]:
    """Publish ``messages``; their event ids."""
    batch = list(messages)
    transport = KafkaTransport(bootstrap)
    try:
        await transport.publish(batch)
    finally:
        await transport.stop()
    return [dict(m.headers)["ce_id"].decode() for m in batch]


async def until_applied(app, event_ids: Iterable[str], timeout_s: float = 60) -> None:
    """Wait until the consumer has applied every one of ``event_ids``."""
    wanted = set(event_ids)
    runtime = app.state.runtime

    async def applied() -> bool:
        async with runtime.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT event_id FROM processed_events WHERE consumer = :c"),
                {"c": runtime.consumer.name},
            )
            return wanted <= {r.event_id for r in rows}

    await until(applied, f"notifications to apply {len(wanted)} events", timeout_s)


async def inbox(client, tenant: str, person: str, **params) -> dict:
    resp = await client.get(
        "/notifications/me", params=params, headers=person_token(tenant, person)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()
