"""The embedded platform: every registered service in one process.

Each service keeps its own database (an SQLite file of its own) and talks to the
others only through the shared in-process bus, exactly as it would through Kafka.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis.messaging import InProcessBus
from launcher.registry import SERVICES


def build_platform(data_dir: str | Path) -> FastAPI:
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    bus = InProcessBus()
    apps: dict[str, FastAPI] = {}
    for name, module_path in SERVICES.items():
        module = importlib.import_module(module_path)
        settings = module.Settings(
            database_url=f"sqlite+aiosqlite:///{data / name}.db",
            kafka_bootstrap_servers=None,
        )
        apps[name] = module.build_app(settings, transport=bus)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Mounted apps' lifespans do not run on their own: enter each one here.
        async with AsyncExitStack() as stack:
            for sub in apps.values():
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            yield

    platform = FastAPI(title="Tandem (embedded)", lifespan=lifespan)
    platform.state.services = list(apps)
    platform.state.apps = apps
    platform.state.bus = bus

    @platform.get("/")
    async def index() -> dict[str, Any]:
        """What runs here."""
        return {
            "platform": "tandem",
            "mode": "embedded",
            "services": {name: f"/{name}" for name in apps},
        }

    @platform.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness of the platform process."""
        return {"status": "ok"}

    @platform.get("/readyz")
    async def readyz() -> dict[str, Any]:
        """Readiness of the platform process (each service answers its own /readyz)."""
        return {"status": "ok", "services": {n: f"/{n}/readyz" for n in apps}}

    for name, app in apps.items():
        platform.mount(f"/{name}", app)
    return platform
