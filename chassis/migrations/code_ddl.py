"""Run a service's own start-up DDL (no migrations) into a given schema.

The drift check compares this with the migrated schema. The service is found by name
at run time, so the chassis imports no service code.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from chassis.messaging import InProcessBus
from chassis.migrations.drift import pin_search_path


def service_ddl(service: str, database_url: str) -> Callable[[str], Awaitable[None]]:
    """A ``create_in(schema)`` for :func:`chassis.migrations.drift.drift`.

    It builds the service's app the way ``main.py`` does (settings from the
    environment, with ``database_url`` and no migrations on start), points its engine
    at ``schema`` and runs ``ServiceRuntime.prepare()``: exactly the DDL a start runs.
    """

    async def create_in(schema: str) -> None:
        main = importlib.import_module(f"services.{service}.main")
        # A scratch schema's DDL: no secrets of the deployment are involved.
        settings = main.Settings(
            environment="development",
            database_url=database_url,
            migrate_on_start=False,
            kafka_bootstrap_servers=None,
        )
        app = main.build_app(settings, transport=InProcessBus())
        runtime = app.state.runtime
        pin_search_path(runtime.engine, schema)
        try:
            await runtime.prepare()
        finally:
            await runtime.engine.dispose()

    return create_in
