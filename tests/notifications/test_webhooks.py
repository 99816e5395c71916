"""Outbound webhooks to a real HTTP receiver on loopback, each signature verified with
the ``standardwebhooks`` library (the specification's reference), not our code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chassis.events import utcnow
from chassis.service import mounted
from services.notifications.application.webhooks import SECRET, Webhooks
from services.notifications.projections.inbox import stamp
from tests.notifications.conftest import (
    event,
    inbox,
    person_event,
    proposed,
    publish,
    until_applied,
)
from tests.notifications.receivers import http_receiver
from tests.profiles.conftest import token
from tests.support.waiting import until


def _settings(**more: object) -> dict[str, object]:
    return {
        "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
        "NOTIFICATIONS_WEBHOOK_RETRY_BASE_S": 0.05,
        "webhook_retry_cap_s": 0.2,
        **more,
    }


async def _register(client, tenant, url, **body) -> dict:
    resp = await client.post(
        "/webhooks/endpoints",
        json={"url": url, **body},
        headers=token(tenant, "integration", sub="hris-1"),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _verified(received, secret: str) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


async def test_signed_events_filtered_per_endpoint_verify_with_the_library(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        async with notifications_with(**_settings()) as (app, client):
            everything = await _register(client, tenant, hook.url("/all"))
            confirmed = await _register(
                client,
                tenant,
                hook.url("/confirmed"),
                event_types=["pairing.confirmed"],
            )
            assert everything["secret"].startswith("whsec_")
            pair = {"pairing_id": "pw1", "mentor_id": "m1", "mentee_id": "e1"}
            msgs = [
                proposed(tenant, "m1", "e1", pairing_id="pw1"),
                event("matching", "PairingConfirmed", "pw1", pair, tenant=tenant),
            ]
            # every message twice: at-least-once in, each webhook once out
            await until_applied(app, await publish(kafka_bootstrap, msgs + msgs))
            await until(lambda: len(hook.received) >= 3, "three posts", 30)

            posted = hook.at("/all")
            types = sorted(_verified(r, everything["secret"])["type"] for r in posted)
            assert types == ["pairing.confirmed", "pairing.proposed"]
            (only,) = hook.at("/confirmed")
            payload = _verified(only, confirmed["secret"])
            assert payload["type"] == "pairing.confirmed"
            assert payload["data"] == {
                "pairing_id": "pw1",
                "mentor_id": "m1",
                "mentee_id": "e1",
                "starts_on": None,
            }
            # one endpoint's secret does not verify another's message
            with pytest.raises(WebhookVerificationError):
                _verified(only, everything["secret"])
            # a tampered body fails verification
            with pytest.raises(WebhookVerificationError):
                Webhook(confirmed["secret"]).verify(only.body + b" ", only.headers)
            assert len(hook.received) == 3


async def test_secret_rotation_overlaps_then_the_old_one_stops_signing(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        async with notifications_with(**_settings()) as (app, client):
            created = await _register(client, tenant, hook.url("/r"))
            endpoint = created["endpoint"]["endpoint_id"]
            admin = token(tenant, "admin", sub="admin-1")
            resp = await client.post(
                f"/webhooks/endpoints/{endpoint}/rotate",
                json={"overlap_s": 3600},
                headers=admin,
            )
            assert resp.status_code == 200, resp.text
            new = resp.json()["secret"]
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "a", "b")])
            )
            await until(lambda: hook.at("/r"), "a post", 30)
            first = hook.at("/r")[0]
            assert len(first.headers["webhook-signature"].split(" ")) == 2
            _verified(first, created["secret"])  # receivers not yet switched
            _verified(first, new)  # receivers switched already

            resp = await client.post(
                f"/webhooks/endpoints/{endpoint}/rotate",
                json={"overlap_s": 0},
                headers=admin,
            )
            newest = resp.json()["secret"]
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "c", "d")])
            )
            await until(lambda: len(hook.at("/r")) >= 2, "a second post", 30)
            second = hook.at("/r")[1]
            _verified(second, newest)
            for old in (created["secret"], new):
                with pytest.raises(WebhookVerificationError):
                    _verified(second, old)


async def test_a_receiver_down_for_a_while_gets_everything_once_back(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        hook.status["/flaky"] = 503
        async with notifications_with(
            **_settings(NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS=100)
        ) as (app, client):
            created = await _register(client, tenant, hook.url("/flaky"))
            msgs = [proposed(tenant, f"m{n}", f"e{n}") for n in range(4)]
            await until_applied(app, await publish(kafka_bootstrap, msgs))
            await until(lambda: len(hook.received) >= 8, "retries", 30)
            hook.status["/flaky"] = 200
            endpoint = created["endpoint"]["endpoint_id"]
            headers = token(tenant, "admin", sub="admin-1")

            async def all_sent():
                resp = await client.get(
                    f"/webhooks/endpoints/{endpoint}/deliveries", headers=headers
                )
                items = resp.json()["items"]
                return (
                    items
                    if len(items) == 4 and all(i["status"] == "sent" for i in items)
                    else None
                )

            items = await until(all_sent, "every message sent", 30)
            ok = [r for r in hook.received if r.path == "/flaky"]
            ids = {r.headers["webhook-id"] for r in ok}
            assert ids == {i["delivery_id"] for i in items}  # same id on every retry
            for item in items:
                codes = [a["status_code"] for a in item["log"]]
                assert codes[-1] == 200 and set(codes[:-1]) <= {503}
            accepted = [r for r in ok if r is not None][-4:]
            for received in accepted:
                _verified(received, created["secret"])


async def test_an_always_failing_endpoint_dies_is_disabled_and_can_be_replayed(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        hook.status["/down"] = 500
        settings = _settings(
            NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS=3,
            NOTIFICATIONS_WEBHOOK_DISABLE_AFTER_S=0,
        )
        async with notifications_with(**settings) as (app, client):
            down = await _register(client, tenant, hook.url("/down"))
            fine = await _register(client, tenant, hook.url("/fine"))
            endpoint = down["endpoint"]["endpoint_id"]
            admin = token(tenant, "admin", sub="admin-1")
            coordinator = person_event(
                tenant, "ProgrammeRolesChanged", "coord-w", roles=["coordinator"]
            )
            await until_applied(app, await publish(kafka_bootstrap, [coordinator]))
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "a", "b")])
            )

            async def disabled():
                resp = await client.get(
                    f"/webhooks/endpoints/{endpoint}", headers=admin
                )
                return resp.json() if not resp.json()["enabled"] else None

            view = await until(disabled, "the endpoint disabled", 30)
            assert "500" in view["disabled_reason"]
            # The programme's coordinator is told, once, naming the endpoint's URL
            # (and nothing of the messages it carried).
            told = [
                i
                for i in (await inbox(client, tenant, "coord-w"))["items"]
                if i["kind"] == "webhook_disabled"
            ]
            assert len(told) == 1, told
            assert told[0]["subject_id"] == endpoint
            assert told[0]["facts"]["url"] == hook.url("/down")
            assert set(told[0]["facts"]) == {"url", "failing_since"}
            assert len(hook.at("/down")) == 3 and len(hook.at("/fine")) == 1
            # while disabled, new messages wait (kept, not sent, not lost)
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "c", "d")])
            )
            await until(lambda: len(hook.at("/fine")) >= 2, "the other endpoint", 30)
            assert len(hook.at("/down")) == 3
            log = (
                await client.get(
                    f"/webhooks/endpoints/{endpoint}/deliveries", headers=admin
                )
            ).json()["items"]
            assert sorted(i["status"] for i in log) == ["dead", "pending"]
            dead = next(i for i in log if i["status"] == "dead")
            assert [a["status_code"] for a in dead["log"]] == [500, 500, 500]

            # the receiver is fixed: enable, replay the dead one; both arrive
            hook.status["/down"] = 200
            resp = await client.post(
                f"/webhooks/endpoints/{endpoint}/enable", headers=admin
            )
            assert resp.json()["enabled"] is True
            resp = await client.post(
                f"/webhooks/deliveries/{dead['delivery_id']}/replay", headers=admin
            )
            assert resp.status_code == 200 and resp.json()["status"] == "pending"
            await until(
                lambda: len([r for r in hook.at("/down")]) >= 5, "two more posts", 30
            )
            last_two = hook.at("/down")[-2:]
            for received in last_two:
                _verified(received, down["secret"])
            assert dead["delivery_id"] in {r.headers["webhook-id"] for r in last_two}
            assert fine["endpoint"]["enabled"] is True


async def test_endpoints_are_the_tenants_own_and_bad_input_changes_nothing(
    notifications_with, tenant
):
    async with notifications_with(**_settings()) as (app, client):
        created = await _register(client, tenant, "https://hooks.acme.example/in")
        endpoint = created["endpoint"]["endpoint_id"]
        other = token(f"{tenant}-x", "admin", sub="admin-x")
        for path in (
            f"/webhooks/endpoints/{endpoint}",
            f"/webhooks/endpoints/{endpoint}/deliveries",
        ):
            assert (await client.get(path, headers=other)).status_code == 404
        resp = await client.post(
            f"/webhooks/endpoints/{endpoint}/rotate", json={}, headers=other
        )
        assert resp.status_code == 404
        assert (await client.get("/webhooks/endpoints", headers=other)).json() == []
        mentee = token(tenant, "mentee", sub="e1")
        assert (
            await client.get("/webhooks/endpoints", headers=mentee)
        ).status_code == 403
        admin = token(tenant, "admin", sub="admin-1")
        for body in (
            {"url": "ftp://x.example/"},
            {"url": "https://x.example/", "event_types": ["pairing.nope"]},
            {"url": "https://x.example/", "description": "a\x00b"},
            {"url": "https://x.example/", "surprise": True},
        ):
            resp = await client.post("/webhooks/endpoints", json=body, headers=admin)
            assert resp.status_code == 422, (body, resp.text)
        assert len((await client.get("/webhooks/endpoints", headers=admin)).json()) == 1
        async with app.state.runtime.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM webhook_secrets")) == 1


async def test_production_refuses_private_hosts(notifications_with, tenant):
    async with notifications_with() as (_app, client):
        admin = token(tenant, "admin", sub="admin-1")
        for url in (
            "http://hooks.acme.example/",
            "https://127.0.0.1/in",
            "https://10.0.0.8/in",
            "https://[::1]/in",
            "https://localhost/in",
            "https://localhost./in",
            "https://127.1/in",
            "https://2130706433/in",
            "https://0x7f000001/in",
            "https://0/in",
            "https://[::ffff:10.0.0.1]/in",
        ):
            resp = await client.post(
                "/webhooks/endpoints", json={"url": url}, headers=admin
            )
            assert resp.status_code == 422, (url, resp.text)


async def test_an_erased_persons_webhook_messages_are_forgotten(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        hook.status["/held"] = 503
        async with notifications_with(
            **_settings(NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS=100)
        ) as (app, client):
            await _register(client, tenant, hook.url("/held"))
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "gone", "x")])
            )
            await until_applied(
                app,
                await publish(
                    kafka_bootstrap,
                    [
                        person_event(
                            tenant,
                            "PersonErased",
                            "gone",
                            erased_at="2030-01-01T00:00:00Z",
                        )
                    ],
                ),
            )
            async with app.state.runtime.engine.connect() as conn:
                left = await conn.scalar(
                    text(
                        "SELECT count(*) FROM webhook_deliveries WHERE body LIKE '%gone%'"
                    )
                )
            assert left == 0


async def test_the_delivery_log_keeps_what_is_pending_or_recent(
    notifications_with, tenant
):
    """Messages done with and untouched for ``webhook_log_retention_days`` leave the
    log with their attempts; pending ones, and ones attempted lately, stay."""
    async with notifications_with(**_settings()) as (app, client):
        hook = await _register(client, tenant, "http://127.0.0.1:9/never")
        endpoint = hook["endpoint"]["endpoint_id"]
        now = utcnow()

        def ago(days: float) -> str:
            return stamp(now - timedelta(days=days))

        rows = {  # delivery: (status, created, sent, last attempt)
            "old-sent": ("sent", ago(40), ago(40), ago(40)),
            "old-dead": ("dead", ago(45), None, ago(44)),
            "old-pending": ("pending", ago(50), None, ago(49)),
            "replayed-lately": ("dead", ago(60), None, ago(2)),
            "sent-lately": ("sent", ago(60), ago(1), ago(1)),
            "recent": ("sent", ago(3), ago(3), ago(3)),
        }
        async with app.state.runtime.engine.begin() as conn:
            for delivery, (status, created, sent, attempted) in rows.items():
                await conn.execute(
                    text(
                        "INSERT INTO webhook_deliveries (delivery_id, tenant, "
                        "endpoint_id, event_id, event_type, body, people, status, "
                        "attempts, next_attempt_at, created_at, sent_at) VALUES "
                        "(:d, :t, :e, :d, 'pairing.proposed', '{}', '', :s, 1, :c, "
                        ":c, :sent)"
                    ),
                    {
                        "d": delivery,
                        "t": tenant,
                        "e": endpoint,
                        "s": status,
                        "c": created,
                        "sent": sent,
                    },
                )
                await conn.execute(
                    text(
                        "INSERT INTO webhook_attempts (attempt_id, tenant, "
                        "delivery_id, at, status_code, duration_ms) VALUES "
                        "(:a, :t, :d, :at, 200, 5)"
                    ),
                    {"a": f"a-{delivery}", "t": tenant, "d": delivery, "at": attempted},
                )
        webhooks = mounted(app).provide(Webhooks)
        assert await webhooks.prune_log(30, batch=1) == 2
        async with app.state.runtime.engine.connect() as conn:
            kept = set(
                (
                    await conn.execute(
                        text("SELECT delivery_id FROM webhook_deliveries")
                    )
                ).scalars()
            )
            attempts = set(
                (
                    await conn.execute(text("SELECT delivery_id FROM webhook_attempts"))
                ).scalars()
            )
        assert kept == attempts == set(rows) - {"old-sent", "old-dead"}
        assert await webhooks.prune_log(30) == 0


async def test_signing_secrets_are_sealed_at_rest_and_old_ones_are_sealed_at_start(
    notifications_with, kafka_bootstrap, tenant
):
    """A reader of the database (or a backup) finds no secret that signs as Tandem;
    a secret kept in the clear before sealing is sealed and still signs."""
    with http_receiver() as hook:
        async with notifications_with(**_settings()) as (app, client):
            engine = app.state.runtime.engine
            created = await _register(client, tenant, hook.url("/in"))
            secret = created["secret"]
            async with engine.connect() as conn:
                stored = await conn.scalar(text("SELECT secret FROM webhook_secrets"))
            assert secret not in stored and secret.removeprefix("whsec_") not in stored
            # As an earlier version kept it: in the clear.
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE webhook_secrets SET secret = :s"), {"s": secret}
                )
            webhooks = mounted(app).provide(Webhooks)
            await webhooks.seal_stored(engine)
            await webhooks.seal_stored(engine)  # once is enough; again changes nothing
            async with engine.connect() as conn:
                resealed = await conn.scalar(text("SELECT secret FROM webhook_secrets"))
            assert resealed.startswith("sealed:") and secret not in resealed
            # Bound to its organisation: copied to another's endpoint, it opens not.
            assert webhooks.box is not None
            assert webhooks.box.open(SECRET, tenant, resealed) == secret
            with pytest.raises(ValueError, match="another key, purpose or tenant"):
                webhooks.box.open(SECRET, "another-tenant", resealed)
            msgs = [proposed(tenant, "m1", "e1", pairing_id="ps1")]
            await until_applied(app, await publish(kafka_bootstrap, msgs))
            await until(lambda: len(hook.received) >= 1, "one post", 30)
            assert _verified(hook.received[0], secret)["type"] == "pairing.proposed"
