"""Liveness and readiness probes.

``/healthz`` answers 200 while the process can serve HTTP at all: a failing database
must not make Kubernetes restart a healthy pod. ``/readyz`` runs every readiness check
(database reachable, consumer running, …) and answers 503 when any fails, so the pod
is taken out of the load balancer until it recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from chassis.redaction import described

ReadinessCheck = Callable[[], Awaitable[None]]
"""A probe that returns when its dependency is usable and raises when it is not."""

CHECK_TIMEOUT_S = 2.0


async def _run_check(check: ReadinessCheck, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout=timeout_s)
    except TimeoutError:
        return f"timed out after {timeout_s:g}s"
    except Exception as exc:
        return described(exc)
    return "ok"


async def run_readiness_checks(
    checks: dict[str, ReadinessCheck], timeout_s: float = CHECK_TIMEOUT_S
) -> dict[str, str]:
    """Run all checks concurrently; map each name to "ok" or what went wrong."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(checks[n], timeout_s) for n in names))
    return dict(zip(names, results, strict=True))


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Each check's result: ``ok``, or why the dependency is unusable."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description="Check name → `ok` or the failure")


def health_router(timeout_s: float = CHECK_TIMEOUT_S) -> APIRouter:
    """The ``/healthz`` and ``/readyz`` routes.

    Checks are read from ``app.state.readiness_checks`` on every call, so a service can
    add one from its lifespan (e.g. once its consumer has started).
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> Liveness:
        return Liveness()

    @router.get(
        "/readyz",
        summary="Readiness: every dependency answers",
        response_model=Readiness,
        responses={
            503: {
                "model": Readiness,
                "description": "At least one readiness check failed",
                "content": {"application/json": {}},
            }
        },
    )
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
        results = await run_readiness_checks(checks, timeout_s)
        ready = all(result == "ok" for result in results.values())
        body: dict[str, Any] = {
            "status": "ok" if ready else "unavailable",
            "checks": results,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
