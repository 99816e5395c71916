"""The whole platform for gateway tests: every service and the gateway over real HTTP.

Each service runs under uvicorn on its own port with its own PostgreSQL database and
the real Kafka broker; the gateway runs the same way and reaches them by URL, exactly
as in a deployment. ``Platform.graphql`` posts a document with a caller's token.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from chassis.auth import Role, mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from gateway.main import build_app as build_gateway
from gateway.settings import SERVICES, GatewaySettings
from launcher.registry import SERVICES as SERVICE_MODULES
from tests.support.waiting import until


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on a free local port; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await until(
            lambda: server.started or task.done(),
            "the server to start",
            30,
            interval_s=0.05,
        )
        if task.done():
            task.result()  # raise its start-up error
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


def token(
    subject: str, tenant: str, *roles: Role | str, secret: str = DEFAULT_DEV_SECRET
) -> str:
    return mint_token(secret, subject, tenant, list(roles), "tandem-dev", "tandem")


@dataclass
class Platform:
    gateway_url: str
    service_urls: dict[str, str]
    apps: dict[str, FastAPI]
    gateway: FastAPI
    client: httpx.AsyncClient = field(repr=False)

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        bearer: str | None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        """POST one operation; unless ``expect_errors``, fail on any GraphQL error."""
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        response = await self.client.post(
            f"{self.gateway_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        body = response.json()
        if not expect_errors:
            assert response.status_code == 200, body
            assert not body.get("errors"), body["errors"]
        return body

    async def service(
        self, name: str, method: str, path: str, *, bearer: str, **kw: Any
    ) -> httpx.Response:
        """Call a service directly (set-up steps a test does not test)."""
        return await self.client.request(
            method,
            f"{self.service_urls[name]}{path}",
            headers={"authorization": f"Bearer {bearer}"},
            **kw,
        )


@asynccontextmanager
async def running_platform(
    postgres_server: Any,
    kafka_bootstrap: str,
    *,
    services: Iterable[str] = SERVICES,
    gateway_settings: dict[str, Any] | None = None,
) -> AsyncIterator[Platform]:
    """Start the services (each its own database) and the gateway in front of them."""
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        urls: dict[str, str] = {}
        for name in services:
            module = importlib.import_module(SERVICE_MODULES[name])
            app = module.build_app(
                module.Settings(
                    environment="test",
                    database_url=postgres_server.create_database(),
                    kafka_bootstrap_servers=kafka_bootstrap,
                )
            )
            apps[name] = app
            urls[name] = await stack.enter_async_context(served(app))
        settings = GatewaySettings(
            environment="test",
            kafka_bootstrap_servers=kafka_bootstrap,
            **{f"{n}_url": u for n, u in urls.items()},
            # A freshly started service's first write (its first person key, its
            # first append, the relay starting) can take longer than the deployed
            # 5 s on a CI machine running the rest of the suite: a test that is
            # about something else waits for it (a test of timeouts sets its own).
            **{"upstream_timeout_s": 30.0, **(gateway_settings or {})},
        )
        gateway = build_gateway(settings)
        gateway_url = await stack.enter_async_context(served(gateway))
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        yield Platform(gateway_url, urls, apps, gateway, client)


def new_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"
