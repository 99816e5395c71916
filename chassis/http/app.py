"""The FastAPI application factory every service uses.

A service's composition root calls ``create_app`` with its settings and routers; the
factory adds what every service must have the same way: request ids, a server span per
request, problem-details errors, health probes, OpenAPI, and the token verifier.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import Lifespan

from chassis import redaction
from chassis.auth.tokens import TokenVerifier
from chassis.heap import settle_heap
from chassis.http.guard import InputGuardMiddleware
from chassis.http.health import CHECK_TIMEOUT_S, ReadinessCheck, health_router
from chassis.http.openapi import install_openapi
from chassis.http.problems import install_problem_handlers
from chassis.http.ratelimit import RateLimiter, RateLimitMiddleware
from chassis.http.request_id import RequestIdMiddleware
from chassis.settings import ServiceSettings
from chassis.telemetry import ServerSpanMiddleware, configure_process


def _without_native_telemetry() -> dict[str, Any]:
    # Recent FastAPI releases open their own SERVER span when a tracer provider is
    # set. The chassis middleware already does (on every supported FastAPI version,
    # with request ids and without probe noise), so the native one is switched off
    # to avoid two server spans and two duration histograms per request.
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str,
    routers: Iterable[APIRouter] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    lifespan: Lifespan[FastAPI] | None = None,
    token_verifier: TokenVerifier | None = None,
    description: str = "",
    readiness_timeout_s: float = CHECK_TIMEOUT_S,
) -> FastAPI:
    """Build a service's FastAPI app.

    ``readiness_checks`` maps a name to an async probe that raises when its dependency
    is unusable; ``/readyz`` runs them all (more can be added later through
    ``app.state.readiness_checks``), each bounded by ``readiness_timeout_s``.
    ``token_verifier`` defaults to one built from ``settings``. Interactive docs
    (``/docs``) are off in production; the OpenAPI document stays available for
    integrators.
    """
    # The process's telemetry (resource with service.name and service.version, OTLP
    # export from OTEL_* variables); only the first app built in a process sets it.
    configure_process(settings.service_name, version)
    # Logs, traces and dead letters name no one's values (``chassis.redaction``).
    redaction.install()
    limiter = RateLimiter.from_settings(settings)
    if limiter is not None:
        lifespan = _closing(limiter, lifespan)
    lifespan = _settling(settings, lifespan)
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
        **_without_native_telemetry(),
    )
    app.state.settings = settings
    app.state.token_verifier = token_verifier or TokenVerifier.from_settings(settings)
    app.state.readiness_checks = dict(readiness_checks or {})

    # add_middleware wraps what is already there, so the last one added runs first:
    # request id (outermost, so every log and span has it) → input guard (hostile
    # bytes refused before any parser) → server span → rate limit (a 429 is traced
    # and measured like any answer) → error net.
    install_problem_handlers(app)
    if limiter is not None:
        app.add_middleware(
            RateLimitMiddleware, limiter=limiter, service=settings.service_name
        )
    app.add_middleware(ServerSpanMiddleware, service_name=settings.service_name)
    app.add_middleware(
        InputGuardMiddleware,
        max_body_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestIdMiddleware)

    app.include_router(health_router(readiness_timeout_s))
    for router in routers:
        app.include_router(router)
    install_openapi(app)
    return app


def _settling(
    settings: ServiceSettings, lifespan: Lifespan[FastAPI] | None
) -> Lifespan[FastAPI]:
    """``lifespan``, and once it has started, the heap settled for serving
    (``chassis.heap``)."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Any]:
        if lifespan is None:
            settle_heap(settings)
            yield None
        else:
            async with lifespan(app) as state:
                settle_heap(settings)
                yield state

    return run


def _closing(
    limiter: RateLimiter, lifespan: Lifespan[FastAPI] | None
) -> Lifespan[FastAPI]:
    """``lifespan``, then the limiter's storage released at shutdown."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Any]:
        try:
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as state:
                    yield state
        finally:
            await limiter.close()

    return run
