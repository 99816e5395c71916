"""A restarted insights raises no early warning twice (the embedded demo stopped and
started again on the same data, a consumer group re-reading from the start).

What insights remembers of a relationship's warnings is its ``health-…`` stream, not
the process: a new process on the same database, its consumer handed the same events
again and its sweep run, appends nothing to a stream that already says it all; a
warning held while the history was being written (stopped before the sweep raised
it) is raised once, by the restarted process, and not again by the next one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import InProcessBus
from chassis.messaging.transport import OutboundMessage, topic_for
from chassis.service import mounted
from services.insights.application.health import Health
from services.insights.main import build_app
from services.insights.settings import Settings
from tests.support.waiting import until

pytestmark = pytest.mark.postgres

GRACE_S = 5.0


def started_long_ago(tenant: str, rid: str) -> list[OutboundMessage]:
    """A relationship brought over from 200 days ago, no session since: at risk and
    idle once its history is in."""
    env = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/matching",
        type="RelationshipStarted",
        subject=rid,
        time=utcnow(),
        data={
            "relationship_id": rid,
            "pairing_id": f"p-{rid}",
            "mentor_id": f"m-{rid}",
            "mentee_id": f"e-{rid}",
            "cohort_id": "c-1",
            "starts_on": (utcnow() - timedelta(days=200)).date().isoformat(),
        },
        tenant=tenant,
    )
    return [OutboundMessage.of(topic_for("matching"), env)]


@asynccontextmanager
async def insights_on(url: str, bus: InProcessBus) -> AsyncIterator[Any]:
    """One insights process on ``url`` (its sweep run by the test, not the clock)."""
    app = build_app(
        Settings(
            environment="test",
            database_url=url,
            kafka_bootstrap_servers=None,
            history_grace_s=GRACE_S,
            health_sweep_s=3600,
        ),
        transport=bus,
    )
    runtime = app.state.runtime
    await runtime.start()
    try:
        yield app
    finally:
        await runtime.stop()


async def stream(app: Any, tenant: str, rid: str) -> list[tuple[str, str | None]]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload->>'level' FROM events "
                "WHERE stream_id = :s ORDER BY version"
            ),
            {"s": f"health-{tenant}-{rid}"},
        )
        return [(kind, level) for kind, level in rows]


async def deliver(app: Any, bus: InProcessBus, messages: list[OutboundMessage]) -> None:
    """Publish ``messages`` and wait until the consumer handled them (applied, or
    found already applied)."""
    consumer = app.state.runtime.consumer
    seen = consumer.applied + consumer.duplicates
    await bus.publish(messages)
    await until(
        lambda: consumer.applied + consumer.duplicates >= seen + len(messages),
        "the consumer to handle the events",
        30,
    )


async def sweep(app: Any) -> None:
    await mounted(app).provide(Health).book.sweep()


WARNED = [
    ("RelationshipHealthChanged", None),
    ("EarlyWarningRaised", "at_risk"),
    ("EarlyWarningRaised", "idle"),
]


async def test_a_restart_raises_no_warning_twice(postgres_server):
    url = postgres_server.create_database()
    tenant, rid = f"rs-{uuid.uuid4().hex[:8]}", "r-1"
    events = started_long_ago(tenant, rid)
    bus = InProcessBus()
    async with insights_on(url, bus) as first:
        await deliver(first, bus, events)
        # Its history was just written: the state is kept, the warnings wait.
        assert await stream(first, tenant, rid) == WARNED[:1]
        await asyncio.sleep(GRACE_S + 0.1)
        await sweep(first)
        assert await stream(first, tenant, rid) == WARNED
        await sweep(first)
        assert await stream(first, tenant, rid) == WARNED
    # Stopped and started again on the same database; its consumer group reads the
    # topics from the start (the embedded bus keeps nothing across a restart).
    bus = InProcessBus()
    async with insights_on(url, bus) as second:
        await deliver(second, bus, events)
        await sweep(second)
        assert second.state.runtime.consumer.duplicates == len(events)
        assert await stream(second, tenant, rid) == WARNED


async def test_a_warning_held_at_shutdown_is_raised_once_after_the_restart(
    postgres_server,
):
    url = postgres_server.create_database()
    tenant, rid = f"rs-{uuid.uuid4().hex[:8]}", "r-1"
    events = started_long_ago(tenant, rid)
    bus = InProcessBus()
    async with insights_on(url, bus) as first:
        await deliver(first, bus, events)
        await sweep(first)  # still within the grace: nothing raised yet
        assert await stream(first, tenant, rid) == WARNED[:1]
    await asyncio.sleep(GRACE_S + 0.1)
    for _ in range(2):  # restarted twice: raised by the first restart only
        bus = InProcessBus()
        async with insights_on(url, bus) as again:
            await deliver(again, bus, events)
            await sweep(again)
            assert await stream(again, tenant, rid) == WARNED
