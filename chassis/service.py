"""A service as the chassis runs it: the part a service builds, and one way to serve it.

Every service's ``main.py`` is a composition root of the same shape::

    def build_app(settings=None, *, transport=None) -> FastAPI:
        return serve(settings or Settings(), build_part, transport=transport)

    def build_part(runtime: ServiceRuntime) -> ServicePart:
        ...  # application objects over runtime.engine / runtime.store
        return ServicePart(title=..., routers=[...], tables=metadata, ...)

``ServicePart`` says, typed, everything the chassis needs to know: its routers, its
tables (the one schema source), the topics it consumes and the handlers of inbound
events, how stored events become published contracts, what an erasure goes through,
start-up work, background jobs, and the application objects its routes depend on
(``provided``). ``serve`` builds the runtime, mounts the part, and builds the FastAPI
app with the routes every service has the same way (dead letters, erasure receipts).
No service object is looked up on ``app.state``: routes declare ``provided(Kind)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from chassis.auth.principal import Principal
from chassis.auth.revocation import (
    DEACTIVATED,
    ERASED,
    Revocations,
    reinstating,
    revoking,
)
from chassis.auth.revocation import create_schema as create_revocation_schema
from chassis.erasure_receipts import confirming
from chassis.erasure_receipts import create_schema as create_receipts_schema
from chassis.erasure_receipts import router_for as erasures_router
from chassis.http import create_app
from chassis.http.dead_letters import dead_letter_router
from chassis.http.health import ReadinessCheck
from chassis.messaging import Handler, Transport
from chassis.messaging.consumer import BatchHandler
from chassis.messaging.relay import Translate
from chassis.runtime import ServiceRuntime
from chassis.settings import ServiceSettings

T = TypeVar("T")
Job = Callable[[], Awaitable[None]]
Setup = Callable[[AsyncEngine], Awaitable[None]]


@dataclass(frozen=True)
class Background:
    """A job the service runs every ``every_s`` seconds while it runs."""

    name: str
    job: Job
    every_s: float


class RevocationCheck(Protocol):
    """Refuses (raises 401) a principal whose tokens were revoked."""

    async def check(self, principal: Principal) -> object: ...


@dataclass(frozen=True)
class Erasure:
    """What ``PersonErased`` goes through in this service.

    ``stores`` names every table and store that can hold the person (the receipt lists
    them; the erasure registry test enumerates them); ``forget`` is the service's own
    handler. The chassis wraps it: the person's tokens are refused from the same
    transaction (``revoked_subjects``), a receipt is written, and the embedded log is
    scrubbed after commit. Deactivation and reactivation revoke and reinstate tokens.
    """

    stores: Sequence[str]
    forget: Handler | None = None


@dataclass
class ServicePart:
    """Everything a service gives the chassis, built once by its ``main.py``."""

    title: str
    description: str = ""
    version: str = "0.1.0"
    routers: Sequence[APIRouter] = ()
    tables: MetaData | None = None
    consumes: Sequence[str] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    translate: Translate | None = None
    erasure: Erasure | None = None
    setup: Sequence[Setup] = ()
    background: Sequence[Background] = ()
    on_stop: Sequence[Job] = ()
    readiness: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    provides: Sequence[object] = ()
    # The token check every route runs; with ``erasure`` and no check of its own, the
    # chassis's revocation view (``chassis.auth.revocation.Revocations``).
    revocations: RevocationCheck | None = None
    # The handler of inbound events no entry of ``handlers`` names (insights keeps
    # every event as a fact), and whether a polled batch is applied in one
    # transaction (for handlers that write through the consumer's connection only).
    fallback: Handler | None = None
    batch_transactions: bool = False
    # With ``batch_transactions``: applies a polled batch's fresh events in one call.
    batch_handler: BatchHandler | None = None
    # ASGI middleware of this service only (SCIM's error format under /scim/v2),
    # outermost: it sees every answer, the chassis's own 413 and 429 included.
    middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = ()

    def all_handlers(self, runtime: ServiceRuntime) -> dict[str, Handler]:
        """The inbound handlers with the erasure wrapped the chassis's way."""
        handlers = dict(self.handlers)
        if self.erasure is not None:
            forget = self.erasure.forget or handlers.get("PersonErased")
            handlers["PersonErased"] = confirming(
                revoking(ERASED, forget), list(self.erasure.stores), runtime.scrubber
            )
            handlers["PersonDeactivated"] = revoking(
                DEACTIVATED, handlers.get("PersonDeactivated")
            )
            handlers["PersonReactivated"] = reinstating(
                handlers.get("PersonReactivated")
            )
        return handlers


@dataclass(frozen=True)
class Mounted:
    """A served service: its runtime and its part (the chassis's one ``app.state``
    entry for them)."""

    runtime: ServiceRuntime
    part: ServicePart

    def provide(self, kind: type[T]) -> T:
        for candidate in self.part.provides:
            if isinstance(candidate, kind):
                return candidate
        raise LookupError(f"{self.part.title} provides no {kind.__name__}")


def serve(
    settings: ServiceSettings,
    build: Callable[[ServiceRuntime], ServicePart],
    *,
    transport: Transport | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """The service's FastAPI app: runtime built, part mounted, common routes added."""
    runtime = ServiceRuntime(settings, transport=transport, engine=engine)
    part = build(runtime)
    runtime.mount(
        consumes=part.consumes,
        handlers=part.all_handlers(runtime),
        translate=part.translate,
        tables=part.tables,
        setup=[*_erasure_setup(part), *part.setup],
    )
    if runtime.consumer is not None:
        runtime.consumer.fallback = part.fallback
        runtime.consumer.batch_transactions = part.batch_transactions
        runtime.consumer.batch_handler = part.batch_handler
    for job in part.background:
        runtime.every(job.name, job.job, job.every_s)
    runtime.on_stop.extend(part.on_stop)
    routers = list(part.routers)
    if part.erasure is not None:
        routers.append(erasures_router(settings.service_name, runtime.engine))
    app = create_app(
        settings,
        title=part.title,
        version=part.version,
        description=part.description,
        routers=routers,
        readiness_checks={**runtime.readiness_checks(), **part.readiness},
        lifespan=runtime.lifespan,
    )
    for middleware in part.middleware:
        app.add_middleware(middleware)
    consumer = runtime.consumer.name if runtime.consumer is not None else None
    app.include_router(
        dead_letter_router(
            runtime.engine, runtime.transport, consumer, relay=runtime.relay
        )
    )
    app.state.service = Mounted(runtime, part)
    app.state.runtime = runtime
    # A deactivated or erased person's still-valid token is refused, by every route.
    if part.revocations is not None:
        app.state.revocations = part.revocations
    elif part.erasure is not None:
        app.state.revocations = Revocations(runtime.engine)
    return app


def _erasure_setup(part: ServicePart) -> list[Setup]:
    if part.erasure is None:
        return []
    return [create_revocation_schema, create_receipts_schema]


def mounted(app: Any) -> Mounted:
    """The service an app serves (tests, the launcher and the drift check use it)."""
    found = getattr(app.state, "service", None)
    if not isinstance(found, Mounted):
        raise LookupError("this app was not built by chassis.service.serve")
    return found


def provided(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency answering the application object of type ``kind`` that
    the service's part provides: ``Annotated[Profiles, Depends(provided(Profiles))]``.

    A coroutine function although it awaits nothing: FastAPI runs a plain function
    dependency in its thread pool, a hand-off to a worker thread and back on every
    request for a dictionary look-up.
    """

    async def provide(request: Request) -> T:
        return mounted(request.app).provide(kind)

    provide.__name__ = f"provided_{kind.__name__}"
    return provide


__all__ = [
    "Background",
    "Erasure",
    "Mounted",
    "RevocationCheck",
    "ServicePart",
    "mounted",
    "provided",
    "serve",
]
