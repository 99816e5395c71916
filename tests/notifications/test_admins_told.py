"""A webhook endpoint disabled after sustained failure: the tenant's admins are told
as well as the programme's coordinators, once each (issue 21).

``admin`` is a token role only (no event names a tenant's admins), so notifications
knows an admin from their own calls to it: registering the endpoint, reading their
inbox. A real HTTP receiver on loopback fails; real PostgreSQL and Kafka.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.notifications.conftest import (
    person_event,
    person_token,
    proposed,
    publish,
    until_applied,
)
from tests.notifications.receivers import http_receiver
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


def _disabled_notices(page: dict) -> list[dict]:
    return [i for i in page["items"] if i["kind"] == "webhook_disabled"]


async def _inbox(client, headers: dict[str, str]) -> dict:
    resp = await client.get("/notifications/me", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_the_admins_and_coordinators_are_told_once_of_a_disabled_endpoint(
    notifications_with, kafka_bootstrap, tenant
):
    with http_receiver() as hook:
        hook.status["/down"] = 500
        settings = {
            "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
            "NOTIFICATIONS_WEBHOOK_RETRY_BASE_S": 0.05,
            "webhook_retry_cap_s": 0.2,
            "NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS": 2,
            "NOTIFICATIONS_WEBHOOK_DISABLE_AFTER_S": 0,
        }
        async with notifications_with(**settings) as (app, client):
            registrar = token(tenant, "admin", sub="admin-1")
            reader = token(tenant, "admin", sub="admin-2")
            mentee = person_token(tenant, "mentee-9")
            # The admin who registers the endpoint; another who reads their inbox
            # (and is a coordinator too: told once all the same); an integration
            # client and a mentee, who are not admins.
            resp = await client.post(
                "/webhooks/endpoints",
                json={"url": hook.url("/down")},
                headers=registrar,
            )
            assert resp.status_code == 201, resp.text
            endpoint = resp.json()["endpoint"]["endpoint_id"]
            client_hook = await client.post(
                "/webhooks/endpoints",
                json={"url": hook.url("/fine")},
                headers=token(tenant, "integration", sub="hris-1"),
            )
            assert client_hook.status_code == 201, client_hook.text
            await _inbox(client, reader)
            await _inbox(client, mentee)
            # An admin whose request was refused is not recorded (nothing changes).
            refused = await client.get(
                "/notifications/me",
                params={"limit": 0},
                headers=token(tenant, "admin", sub="admin-3"),
            )
            assert refused.status_code == 422
            roles = [
                person_event(tenant, "ProgrammeRolesChanged", p, roles=["coordinator"])
                for p in ("coord-1", "admin-2")
            ]
            await until_applied(app, await publish(kafka_bootstrap, roles))
            async with app.state.runtime.engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT person_id FROM notification_admins WHERE tenant = :t"),
                    {"t": tenant},
                )
                assert {r.person_id for r in rows} == {"admin-1", "admin-2"}

            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "a", "b")])
            )

            async def disabled():
                got = await client.get(
                    f"/webhooks/endpoints/{endpoint}", headers=registrar
                )
                return None if got.json()["enabled"] else got.json()

            await until(disabled, "the endpoint disabled", 30)

            async def told(headers: dict[str, str]) -> list[dict]:
                return _disabled_notices(await _inbox(client, headers))

            for who in (registrar, reader, token(tenant, "coordinator", sub="coord-1")):
                notices = await until(
                    lambda who=who: told(who), "the disabling told", 30
                )
                assert len(notices) == 1, notices
                assert notices[0]["subject_id"] == endpoint
                assert notices[0]["facts"]["url"] == hook.url("/down")
            assert await told(token(tenant, "integration", sub="hris-1")) == []
            assert await told(mentee) == []
            # Nobody is told twice, whatever else goes out meanwhile.
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "c", "d")])
            )
            await until(lambda: len(hook.at("/fine")) >= 2, "the other endpoint", 30)
            assert len(await told(registrar)) == 1
            assert len(await told(reader)) == 1
