"""The embedded platform: every registered service in one process.

Each service keeps its own database (an SQLite file of its own) and talks to the
others only through the shared in-process bus, exactly as it would through Kafka.

It is the development demo: built for ``development`` unless told otherwise, and
only then does it serve ``/dev/tokens`` (the demo users with tokens signed by the
public development secret) and the demo integrator at ``/demo-integrator`` (a tiny
receiver of the demo's signed webhooks, ``launcher.demo.integrator``), with the
notifications service accepting that plain-HTTP loopback endpoint. In any other
environment neither exists.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException

from chassis.messaging import InProcessBus
from chassis.settings import Environment
from gateway.main import build_app as build_gateway
from gateway.settings import GatewaySettings
from launcher.demo.facts import example_variables, load_facts
from launcher.demo.integrator import PATH as INTEGRATOR_PATH
from launcher.demo.integrator import DemoIntegrator, integrator_app
from launcher.registry import SERVICES

# The one-process demo writes months of history in about a minute: insights holds
# early warnings while a relationship's past is being written, and re-assesses often.
EMBEDDED: dict[str, dict[str, float]] = {
    "insights": {"history_grace_s": 45.0, "health_sweep_s": 5.0},
}
# Development only: the demo's webhook endpoint is the demo integrator this platform
# serves itself (launcher.demo.integrator), over plain HTTP on loopback; a failed
# message is first retried after about a second, not five (the backoff still doubles
# from there). Named by the settings' environment names: the only names they take.
DEVELOPMENT: dict[str, dict[str, Any]] = {
    "notifications": {
        "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": True,
        "NOTIFICATIONS_WEBHOOK_RETRY_BASE_S": 1.0,
    },
}


def build_platform(
    data_dir: str | Path, *, environment: Environment = "development"
) -> FastAPI:
    """Every service and the gateway in one app, all in ``environment``."""
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    bus = InProcessBus()
    apps: dict[str, FastAPI] = {}
    for name, module_path in SERVICES.items():
        module = importlib.import_module(module_path)
        settings = module.Settings(
            environment=environment,
            database_url=f"sqlite+aiosqlite:///{data / name}.db",
            kafka_bootstrap_servers=None,
            **EMBEDDED.get(name, {}),
            **(DEVELOPMENT.get(name, {}) if environment == "development" else {}),
        )
        apps[name] = module.build_app(settings, transport=bus)
    # The gateway reaches each service in-process (ASGI), exactly as over HTTP.
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
        )
        for name, app in apps.items()
    }
    gateway = build_gateway(
        GatewaySettings(
            environment=environment,
            kafka_bootstrap_servers=None,
            sessions_public_url="/sessions",  # mounted below, on the same host
        ),
        clients=clients,
        transport=bus,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Mounted apps' lifespans do not run on their own: enter each one here.
        async with AsyncExitStack() as stack:
            for sub in apps.values():
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            await stack.enter_async_context(gateway.router.lifespan_context(gateway))
            yield

    platform = FastAPI(title="Tandem (embedded)", lifespan=lifespan)
    platform.state.services = list(apps)
    platform.state.apps = apps
    platform.state.bus = bus
    platform.state.gateway = gateway
    platform.state.environment = environment

    @platform.get("/")
    async def index() -> dict[str, Any]:
        """What runs here."""
        return {
            "platform": "tandem",
            "mode": "embedded",
            "services": {name: f"/{name}" for name in apps},
            "graphql": "/graphql",
        }

    @platform.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness of the platform process."""
        return {"status": "ok"}

    @platform.get("/readyz")
    async def readyz() -> dict[str, Any]:
        """Readiness of the platform process (each service answers its own /readyz)."""
        return {"status": "ok", "services": {n: f"/{n}/readyz" for n in apps}}

    if environment == "development":
        # The demo integrator: verifies the demo endpoint's webhooks with its secret
        # (kept in the facts of a seeded folder; the seeder sets it on a fresh one).
        seeded = load_facts(data)
        integrator = DemoIntegrator(secret=seeded.webhook_secret if seeded else None)
        platform.state.integrator = integrator
        platform.mount(INTEGRATOR_PATH, integrator_app(integrator))

        @platform.get("/dev/tokens")
        async def dev_tokens() -> dict[str, Any]:
            """Development only: the seeded demo's users with fresh tokens."""
            facts = load_facts(data)
            if facts is None:
                raise HTTPException(404, "the demo organisation is not seeded here")
            return {
                "tenant": facts.tenant,
                "users": [user.public() for user in facts.users],
                # Ready-made GraphQL variables for the GraphiQL examples.
                "variables": example_variables(facts),
            }

    for name, app in apps.items():
        platform.mount(f"/{name}", app)
    platform.mount("/", gateway)  # /graphql (GraphiQL in a browser)
    return platform
