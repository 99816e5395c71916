"""The consumer's batch path: a polled batch applied in one transaction, its simple
tellings grouped (``Telling.apply_many``), with the same effects as its events applied
one by one; a burst through the real broker told once per (event, recipient) and
posted once per endpoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from contracts.notifications import Channel
from services.notifications.application.telling import Telling
from services.notifications.domain.preferences import Preferences
from services.notifications.projections import preferences
from tests.notifications.conftest import proposed, publish, until_applied
from tests.notifications.receivers import http_receiver
from tests.profiles.conftest import token
from tests.support.waiting import until


def _envelope(tenant: str, source: str, kind: str, data: dict) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source=f"tandem/{source}",
        type=kind,
        subject=str(data.get("pairing_id") or data.get("person_id")),
        time=utcnow(),
        data=data,
        tenant=tenant,
    )


EXPIRES = (datetime.now(UTC) + timedelta(days=14)).isoformat()


def _batch(tenant: str) -> list[Envelope]:
    """Proposals and approvals around a deactivation, for people with choices."""

    def pairing(kind: str, n: int, mentor: str, mentee: str) -> Envelope:
        data: dict[str, object] = {
            "pairing_id": f"p{n}",
            "mentor_id": mentor,
            "mentee_id": mentee,
        }
        if kind == "PairingProposed":
            data |= {"score": 0.7, "expires_at": EXPIRES}
        return _envelope(tenant, "matching", kind, data)

    return [
        pairing("PairingProposed", 1, "m-a", "e-a"),
        pairing("PairingApproved", 2, "m-a", "e-quiet"),  # e-quiet: unsubscribed
        pairing("PairingProposed", 3, "m-b", "e-b"),
        _envelope(tenant, "profiles", "PersonDeactivated", {"person_id": "m-b"}),
        pairing("PairingProposed", 4, "m-b", "e-mail"),  # m-b: not told any more
        pairing("PairingProposed", 5, "m-a", "e-mail"),  # e-mail: also by email
        pairing("PairingApproved", 6, "m-a", "e-quiet"),
    ]


async def _choices(conn, tenant: str) -> None:
    now = utcnow()
    quiet = Preferences(unsubscribed=True)
    mail = Preferences(
        channels=frozenset({Channel.IN_APP, Channel.EMAIL}), email="e@example.org"
    )
    await preferences.save(conn, tenant, "e-quiet", quiet, now)
    await preferences.save(conn, tenant, "e-mail", mail, now)
    await conn.execute(
        text(
            "INSERT INTO webhook_endpoints (endpoint_id, tenant, url, event_types, "
            "description, enabled, created_at) VALUES (:e, :t, 'https://x.example', "
            "'[]', '', :on, :at)"
        ),
        # disabled: its messages wait (pending), nothing posts them meanwhile
        {"e": f"ep-{tenant}", "t": tenant, "on": False, "at": now.isoformat()},
    )


async def _effects(conn, tenant: str) -> dict[str, object]:
    """What the tenant's events left, without ids or moments."""

    async def rows(sql: str) -> list[tuple[object, ...]]:
        found = await conn.execute(text(sql), {"t": tenant})
        return [tuple(r) for r in found]

    return {
        # each person's inbox, newest first, as the API lists it
        "inbox": await rows(
            "SELECT recipient_id, kind, subject_id, facts FROM notifications "
            "WHERE tenant = :t ORDER BY recipient_id, created_at DESC, "
            "notification_id DESC"
        ),
        "outbox": await rows(
            "SELECT d.recipient_id, d.channel, n.subject_id, d.status FROM deliveries d "
            "JOIN notifications n ON n.notification_id = d.notification_id "
            "WHERE d.tenant = :t ORDER BY 1, 3"
        ),
        # in the order they are due (and posted)
        "webhooks": [
            (kind, json.loads(str(body))["data"]["pairing_id"], status)
            for kind, body, status in await rows(
                "SELECT event_type, body, status FROM webhook_deliveries "
                "WHERE tenant = :t ORDER BY next_attempt_at, delivery_id"
            )
        ],
    }


async def test_a_batch_has_the_effects_of_its_events_one_by_one(notifications):
    app, _ = notifications
    runtime = app.state.runtime
    telling = app.state.service.provide(Telling)
    handlers = runtime.consumer.handlers
    grouped, single = f"b-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    async with runtime.engine.begin() as conn:
        await _choices(conn, grouped)
        await _choices(conn, single)
    events = _batch(grouped)
    async with runtime.engine.begin() as conn:
        await telling.apply_many(events, conn, handlers)
    for env in _batch(single):
        async with runtime.engine.begin() as conn:
            await handlers[env.type](env, conn)

    async with runtime.engine.connect() as conn:
        batched, one_by_one = (
            await _effects(conn, grouped),
            await _effects(conn, single),
        )
    assert batched == one_by_one
    inbox = batched["inbox"]
    assert isinstance(inbox, list)
    told = [(r[0], r[2]) for r in inbox]
    # m-b told before the deactivation only; e-quiet of no approval; m-a's newest first
    assert told == [
        ("e-a", "p1"),
        ("e-b", "p3"),
        ("e-mail", "p5"),
        ("e-mail", "p4"),
        ("m-a", "p6"),
        ("m-a", "p5"),
        ("m-a", "p2"),
        ("m-a", "p1"),
        ("m-b", "p3"),
    ]
    assert batched["outbox"] == [
        ("e-mail", "email", "p4", "pending"),
        ("e-mail", "email", "p5", "pending"),
    ]
    kinds = {1: "proposed", 2: "approved", 6: "approved"}
    assert batched["webhooks"] == [
        (f"pairing.{kinds.get(n, 'proposed')}", f"p{n}", "pending") for n in range(1, 7)
    ]

    # Applied again (a replay past the consumer's record): nothing twice.
    async with runtime.engine.begin() as conn:
        await telling.apply_many(events, conn, handlers)
    async with runtime.engine.connect() as conn:
        assert await _effects(conn, grouped) == batched


async def test_a_burst_is_told_once_and_posted_once_in_batches(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        async with notifications_with(NOTIFICATIONS_WEBHOOK_ALLOW_HTTP=True) as (
            app,
            client,
        ):
            resp = await client.post(
                "/webhooks/endpoints",
                json={"url": hook.url("/hook")},
                headers=token(tenant, "integration", sub="hris-1"),
            )
            assert resp.status_code == 201, resp.text
            consumer = app.state.runtime.consumer
            sizes: list[int] = []
            inner = consumer.batch_handler

            async def counted(envs: Sequence[Envelope], conn) -> None:
                sizes.append(len(envs))
                await inner(envs, conn)

            consumer.batch_handler = counted
            burst = [
                proposed(tenant, f"m{n}", f"e{n}", pairing_id=f"burst-{n}")
                for n in range(150)
            ]
            ids = await publish(kafka_bootstrap, burst + burst[:30])  # redelivered
            await until_applied(app, ids)
            await until(lambda: len(hook.received) >= 150, "150 webhooks", 60)

            async with app.state.runtime.engine.connect() as conn:
                told = await conn.scalar(
                    text("SELECT count(*) FROM notifications WHERE tenant = :t"),
                    {"t": tenant},
                )
            assert told == 300  # both people of each proposal, once
            posted = [json.loads(r.body)["data"]["pairing_id"] for r in hook.received]
            assert sorted(posted) == sorted(f"burst-{n}" for n in range(150))
            assert max(sizes) > 1 and consumer.batches_rolled_back == 0
