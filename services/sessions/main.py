"""Composition root of the sessions service: ``uvicorn --factory services.sessions.main:build_app``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.revocation import (
    DEACTIVATED,
    ERASED,
    Revocations,
    reinstating,
    revoking,
)
from chassis.auth.revocation import create_schema as create_revocation_schema
from chassis.envelope import Envelope
from chassis.erasure_receipts import confirming
from chassis.erasure_receipts import create_schema as create_receipts_schema
from chassis.erasure_receipts import router_for as erasures_router
from chassis.http import create_app, metadata_for
from chassis.messaging import Transport, dead_letters, topic_for
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from contracts.sessions import registry as contracts
from services.sessions import development, meetings, notes, texts, views
from services.sessions.api.relationships import router as relationships_router
from services.sessions.relationships import Relationships
from services.sessions.settings import Settings
from services.sessions.texts import PrivateTexts

__all__ = ["Settings", "build_app"]
VERSION = "0.1.0"
PARTS = (meetings, notes, development)
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = [
    "feedback", "notes", "person_availability", "private_texts",
    "pulse_respondents", "relationships", "revoked_subjects", "sessions",
]  # fmt: skip


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    settings = settings or Settings()
    setups = []

    async def setup(engine: AsyncEngine) -> None:
        await create_revocation_schema(engine)
        await create_receipts_schema(engine)
        await views.create_schema(engine)
        await texts.create_schema(engine)
        for extra in setups:
            await extra(engine)
        await sealed_texts.seal_legacy()

    runtime = ServiceRuntime(
        settings,
        transport=transport,
        consumes=[topic_for("matching"), topic_for("profiles")],
        translate=Publication(contracts, "tandem/sessions"),
        setup=setup,
    )
    sealed_texts = PrivateTexts(runtime.engine, settings.master_key)
    relationships = Relationships(
        runtime, metadata_for=metadata_for, texts=sealed_texts
    )
    assert runtime.consumer is not None
    runtime.consumer.handlers.update(
        {
            "PairingConfirmed": relationships.on_pairing_confirmed,
            "PairingEnded": relationships.on_pairing_ended,
            "CohortCreated": relationships.on_cohort_created,
        }
    )
    app = create_app(
        settings,
        title="Tandem sessions",
        version=VERSION,
        description="The mentoring relationship: contract, sessions, milestones, notes, "
        "check-ins, feedback, rotations, calendar.",
        routers=[relationships_router, *(part.router for part in PARTS)],
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.include_router(dead_letters.router_for(runtime))
    app.include_router(erasures_router("sessions"))
    app.state.relationships = relationships
    app.state.schema_setups = setups
    for part in PARTS:
        part.install(app, runtime, relationships)
    handlers = runtime.consumer.handlers
    forget = handlers["PersonErased"]

    async def on_person_erased(env: Envelope, conn: AsyncConnection) -> None:
        # Conclude first (its tidy-up cancels the sessions to come), then forget.
        await relationships.on_person_erased(env, conn)
        await forget(env, conn)

    # The erased or deactivated person's tokens are refused from the same transaction.
    # ... and the erasure confirmed by a receipt (``GET /admin/erasures/{id}``).
    handlers["PersonErased"] = confirming(
        revoking(ERASED, on_person_erased), ERASED_FROM, runtime.scrubber
    )
    handlers["PersonDeactivated"] = revoking(DEACTIVATED)
    handlers["PersonReactivated"] = reinstating()
    app.state.revocations = Revocations(runtime.engine)
    return app
