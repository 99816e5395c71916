"""Run a service's own start-up schema (no migrations) into a given schema.

The drift check compares this with the migrated schema. The caller names the service
by handing over its app factory (the ``build_app`` of its ``main.py``, as uvicorn's
``--factory`` does), so the chassis imports no service code.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chassis.messaging import InProcessBus, Transport
from chassis.migrations.drift import pin_search_path
from chassis.service import mounted


class AppFactory(Protocol):
    """A service's ``build_app(settings, *, transport)``."""

    def __call__(self, settings: Any, *, transport: Transport | None = None) -> Any: ...


def app_factory(spec: str) -> tuple[AppFactory, type[Any]]:
    """``module:callable`` (``services.profiles.main:build_app``) and its module's
    ``Settings``, as the command line names them."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute or "build_app"), module.Settings


def app_ddl(
    build_app: AppFactory, settings_type: type[Any], database_url: str
) -> Callable[[str], Awaitable[None]]:
    """A ``create_in(schema)`` for :func:`chassis.migrations.drift.drift`.

    It builds the service's app with ``build_app`` (settings from the environment,
    with ``database_url`` and no migrations on start), points its engine at ``schema``
    and runs ``ServiceRuntime.prepare()``: exactly the schema a start creates.
    """

    async def create_in(schema: str) -> None:
        # A scratch schema's DDL: no secrets of the deployment are involved.
        settings = settings_type(
            environment="development",
            database_url=database_url,
            migrate_on_start=False,
            kafka_bootstrap_servers=None,
        )
        app = build_app(settings, transport=InProcessBus())
        runtime = _runtime_of(app)
        pin_search_path(runtime.engine, schema)
        try:
            await runtime.prepare()
        finally:
            await runtime.engine.dispose()

    return create_in


def _runtime_of(app: Any) -> Any:
    try:
        return mounted(app).runtime
    except LookupError:  # a service not yet on chassis.service.serve
        return app.state.runtime
