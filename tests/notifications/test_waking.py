"""The email and chat dispatcher is woken by what queues a delivery, as the webhooks'
is: with its fallback poll an hour long, a notification queued while it sleeps goes
out by email and to Slack at once, and a failed send is retried when its retry falls
due, not at the next poll. No timing is asserted: the dispatcher is seen asleep
first (its fallback an hour away), then the message arrives."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.db import create_engine
from services.notifications.application.outbox import Outbox
from services.notifications.application.waking import Waker
from tests.notifications.conftest import (
    person_token,
    proposed,
    publish,
    until_applied,
)
from tests.notifications.receivers import http_receiver, smtp_receiver
from tests.support.waiting import until

HOUR = 3600.0


async def test_a_queued_message_wakes_the_sleeping_dispatcher(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path) as smtp, http_receiver() as hook:
        settings = {
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": smtp.port,
            "NOTIFICATIONS_SMTP_CA_FILE": str(smtp.ca_file),
            "NOTIFICATIONS_SMTP_FROM": "programme@acme.example",
            "NOTIFICATIONS_WEBHOOK_HOSTS": "127.0.0.1",
            "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
            "NOTIFICATIONS_RETRY_BASE_S": 0.05,
            # Every poll an hour long: only a wake-up sends within the test.
            "NOTIFICATIONS_DELIVERY_FALLBACK_S": HOUR,
            "NOTIFICATIONS_POLL_S": HOUR,
        }
        async with notifications_with(**settings) as (app, client):
            outbox = app.state.service.provide(Outbox)
            chosen = await client.put(
                "/notifications/me/preferences",
                json={
                    "channels": ["email", "slack"],
                    "email": "mentee-w@acme.example",
                    "slack_webhook": hook.url("/slack"),
                },
                headers=person_token(tenant, "mentee-w"),
            )
            assert chosen.status_code == 200, chosen.text
            hook.status["/slack"] = 503  # Slack fails once: retried when due

            async def asleep() -> bool:
                return outbox.sleeps >= 1

            # Asleep, its fallback an hour away, before the proposal is queued.
            await until(asleep, "the dispatcher to go to sleep")
            ids = await publish(
                kafka_bootstrap, [proposed(tenant, "mentor-w", "mentee-w")]
            )
            await until_applied(app, ids)

            async def emailed() -> bool:
                return bool(smtp.mailbox.to("mentee-w@acme.example"))

            await until(emailed, "the email, sent on the wake-up")

            async def refused_once() -> bool:
                return len(hook.at("/slack")) >= 1

            await until(refused_once, "Slack's first (refused) post")
            hook.status["/slack"] = 200

            async def retried() -> bool:
                return len(hook.at("/slack")) >= 2

            await until(retried, "Slack's retry, when it fell due")
    assert len(smtp.mailbox.to("mentee-w@acme.example")) == 1
    assert len(hook.at("/slack")) == 2


async def test_on_sqlite_the_commit_of_what_queued_wakes_the_dispatcher(tmp_path):
    """The embedded mode (SQLite, one process): the signal fires when the queuing
    transaction commits, not before, and a rolled back one wakes nobody."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wake.db'}")
    waker = Waker(engine, "deliveries")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await waker.notify(conn)
                raise RuntimeError("rolled back")
        assert not waker.event.is_set()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            await waker.notify(conn)
            assert not waker.event.is_set()  # not before the commit
        assert waker.event.is_set()
        waker.clear()
        async with engine.begin() as conn:  # a transaction that queued nothing
            await conn.execute(text("INSERT INTO t VALUES (3)"))
        assert not waker.event.is_set()
    finally:
        await waker.close()
        await engine.dispose()
