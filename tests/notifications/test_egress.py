"""Webhook posts reach public addresses only (``services/notifications/application/egress``).

From the side of an organisation admin who wants the service to post inside the
platform's network: other spellings of loopback, a name ending in a dot, a name whose
DNS answers an internal address (from the start, or among public ones).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest

from chassis.service import mounted
from services.notifications.application.egress import (
    PublicOnly,
    public_address,
    public_client,
    public_host,
)
from services.notifications.application.webhooks import Webhooks
from tests.notifications.conftest import proposed, publish, until_applied
from tests.profiles.conftest import token
from tests.support.waiting import until

HOOK = "hooks.example.test"


@pytest.mark.unit
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0",
        "10.0.0.8", "100.64.0.1", "169.254.169.254", "192.168.1.1", "224.0.0.1",
        "::1", "::ffff:127.0.0.1", "fe80::1", "fd00::1",
        "localhost", "localhost.", "LOCALHOST", "api.localhost", "",
    ],
)  # fmt: skip
def test_a_non_public_host_is_refused_in_any_spelling(host: str) -> None:
    assert not public_host(host)


@pytest.mark.unit
@pytest.mark.parametrize(
    "host", ["hooks.example.com", "93.184.216.34", "2606:4700::1111", "8.8.8.8."]
)
def test_a_public_host_is_taken(host: str) -> None:
    assert public_host(host)


@pytest.mark.unit
def test_an_ipv4_mapped_address_is_judged_as_its_ipv4() -> None:
    assert not public_address("::ffff:10.1.2.3")
    assert public_address("::ffff:93.184.216.34")


@contextlib.asynccontextmanager
async def listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP server on loopback counting the connections it accepts."""
    accepted: list[int] = []

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        accepted.append(1)
        w.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, accepted
    finally:
        server.close()
        await server.wait_closed()


def resolving_to(*addresses: str):  # the DNS answer an attacker controls
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    "answer", [("127.0.0.1",), ("93.184.216.34", "127.0.0.1"), ("::ffff:127.0.0.1",)]
)
async def test_a_name_resolving_to_an_internal_address_is_never_connected(
    answer: tuple[str, ...],
) -> None:
    async with listener() as (port, accepted):
        async with public_client(5.0, resolving_to(*answer)) as client:
            with pytest.raises(httpx.ConnectError, match="not public"):
                await client.post(f"https://{HOOK}:{port}/in", json={})
            with pytest.raises(httpx.ConnectError, match="not public"):
                await client.post(f"https://127.1:{port}/in", json={})
    assert accepted == []


async def test_the_connection_goes_to_the_address_checked_not_a_second_lookup() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding DNS
    connected: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    class Recording(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *args, **kw):  # type: ignore[no-untyped-def]
            connected.append(host)
            raise httpcore.ConnectError("stop here")

    backend = PublicOnly(rebinding, backend=Recording())
    with pytest.raises(httpcore.ConnectError, match="stop here"):
        await backend.connect_tcp(HOOK, 443)
    assert connected == ["93.184.216.34"]


async def test_a_webhook_to_an_internal_address_is_logged_and_never_sent(
    notifications_with, kafka_bootstrap, tenant
):
    async with listener() as (port, accepted):
        async with notifications_with(
            NOTIFICATIONS_WEBHOOK_RETRY_BASE_S=0.05, webhook_retry_cap_s=0.2
        ) as (app, client):
            webhooks = mounted(app).provide(Webhooks)
            # The service's own client, with the DNS answer an attacker would give.
            await webhooks.client.aclose()
            webhooks.client = public_client(5.0, resolving_to("127.0.0.1"))
            admin = token(tenant, "admin", sub="admin-1")
            resp = await client.post(
                "/webhooks/endpoints",
                json={"url": f"https://{HOOK}:{port}/in"},
                headers=admin,
            )
            assert resp.status_code == 201, resp.text
            endpoint = resp.json()["endpoint"]["endpoint_id"]
            await until_applied(
                app, await publish(kafka_bootstrap, [proposed(tenant, "m1", "e1")])
            )

            async def refused() -> list | None:
                resp = await client.get(
                    f"/webhooks/endpoints/{endpoint}/deliveries", headers=admin
                )
                items = resp.json()["items"]
                log = [a for i in items for a in i["log"]]
                return log if len(log) >= 2 else None

            log = await until(refused, "two refused attempts", 30)
            await webhooks.client.aclose()
    assert accepted == []
    assert all("not public" in (a["error"] or "") for a in log), log
