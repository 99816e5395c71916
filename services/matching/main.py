"""Composition root of the matching service: ``uvicorn --factory services.matching.main:build_app``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

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
from chassis.http import create_app, metadata_for
from chassis.messaging import Transport, dead_letters, topic_for
from chassis.runtime import ServiceRuntime
from services.matching import advisors, candidates, pairings_view
from services.matching.api import routers
from services.matching.early_warnings import on_early_warning
from services.matching.escalations import on_escalation_resolved
from services.matching.pairings import Pairings
from services.matching.planning import Planning
from services.matching.planning import create_schema as create_plans_schema
from services.matching.rounds import Rounds
from services.matching.settings import Settings

__all__ = ["Settings", "build_app"]
VERSION = "0.1.0"
# Inbound events that can take a mentor's seats away: surplus open pairings go.
SEATS_CHANGE = (
    "MentorCapacityChanged", "MentorProfileSet", "PersonDeactivated",
    "AdvisorSuspended", "AdvisorOffboarded",
)  # fmt: skip
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = sorted(
    {table for table, _ in candidates.PERSON_TABLES + pairings_view.PERSON_TABLES}
    | {"pairings", "revoked_subjects"}
)


async def setup(engine: AsyncEngine) -> None:
    await create_revocation_schema(engine)
    await create_receipts_schema(engine)
    await candidates.create_schema(engine)
    await pairings_view.create_schema(engine)
    await create_plans_schema(engine)


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        transport=transport,
        consumes=[
            topic_for(s) for s in ("profiles", "sessions", "advisors", "insights")
        ],
        handlers=candidates.handlers(
            candidates.PERSON_TABLES + pairings_view.PERSON_TABLES
        ),
        setup=setup,
    )
    pairings = Pairings(runtime, metadata_for=metadata_for)
    rounds = Rounds(
        pairings,
        proposal_ttl=timedelta(hours=settings.proposal_ttl_hours),
        k=settings.k_anonymity,
        disclosure_key=settings.disclosure_key,
    )
    runtime.on_stop.append(rounds.stop)
    planning = Planning(pairings, rounds)
    pairings.on_freed.append(planning.offer_next)

    async def sweep() -> None:
        await pairings.expire_everywhere()

    runtime.every("expiry-sweep", sweep, settings.expiry_sweep_s)
    app = create_app(
        settings,
        title="Tandem matching",
        version=VERSION,
        description="Explainable, optimal, fair pairing for a whole cohort.",
        routers=routers(),
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.include_router(dead_letters.router_for(runtime))
    app.include_router(erasures_router("matching"))
    app.state.pairings = pairings
    app.state.rounds = rounds
    app.state.planning = planning
    assert runtime.consumer is not None
    runtime.consumer.handlers["EscalationResolved"] = on_escalation_resolved(planning)
    runtime.consumer.handlers["EarlyWarningRaised"] = on_early_warning(planning)
    runtime.consumer.handlers.update(advisors.HANDLERS)
    for kind in SEATS_CHANGE:
        runtime.consumer.handlers[kind] = pairings.releasing(
            runtime.consumer.handlers[kind]
        )
    # The erased or deactivated person's tokens are refused from the same transaction.
    handlers = runtime.consumer.handlers
    # ... and the erasure confirmed by a receipt (``GET /admin/erasures/{id}``).
    handlers["PersonErased"] = confirming(
        revoking(ERASED, pairings.closing_erased(handlers["PersonErased"])),
        ERASED_FROM,
        runtime.scrubber,
    )
    handlers["PersonDeactivated"] = revoking(DEACTIVATED, handlers["PersonDeactivated"])
    handlers["PersonReactivated"] = reinstating(handlers["PersonReactivated"])
    app.state.revocations = Revocations(runtime.engine)
    return app
