"""Composition root of the profiles service: ``uvicorn --factory services.profiles.main:build_app``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.revocation import Revocations
from chassis.envelope import Envelope
from chassis.http import create_app, metadata_for
from chassis.messaging import Transport, dead_letters, topic_for
from chassis.runtime import ServiceRuntime
from services.profiles.api import routers
from services.profiles.application import Profiles
from services.profiles.imports import Imports
from services.profiles.integration import Publication
from services.profiles.scim import ScimUsers
from services.profiles.sealed import seal_legacy
from services.profiles.settings import Settings

__all__ = ["Settings", "build_app"]
VERSION = "0.1.0"


async def on_pairing_confirmed(envelope: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO mentor_load (pairing_id, tenant, mentor_id) VALUES (:p, :t, :m) "
            "ON CONFLICT (pairing_id) DO NOTHING"
        ),
        {
            "p": envelope.data["pairing_id"],
            "t": envelope.tenant,
            "m": envelope.data["mentor_id"],
        },
    )


async def on_pairing_ended(envelope: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text("DELETE FROM mentor_load WHERE pairing_id = :p"),
        {"p": envelope.data["pairing_id"]},
    )


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    settings = settings or Settings()
    profiles: Profiles | None = None

    async def setup(_engine: AsyncEngine) -> None:
        assert profiles is not None
        await profiles.prepare()
        await scim_users.prepare()
        await imports.prepare()
        # Rows written in clear by an older version are sealed once, before serving.
        await seal_legacy(runtime.engine, profiles.cipher)

    runtime = ServiceRuntime(
        settings,
        transport=transport,
        consumes=[topic_for("matching")],
        handlers={
            "PairingConfirmed": on_pairing_confirmed,
            "PairingEnded": on_pairing_ended,
        },
        setup=setup,
    )
    profiles = Profiles(
        runtime,
        master_key=settings.master_key,
        demographic_attributes=set(settings.demographic_attributes),
        metadata_for=metadata_for,
    )
    runtime.relay.translate = Publication(runtime.engine, profiles.codec)
    app = create_app(
        settings,
        title="Tandem profiles",
        version=VERSION,
        description="People, competencies, cohorts, HRIS import, SCIM, consent and erasure.",
        routers=routers(),
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    imports = Imports(profiles)
    scim_users = ScimUsers(profiles)
    runtime.on_stop.append(imports.stop)
    app.state.profiles = profiles
    app.state.imports = imports
    app.state.scim_users = scim_users
    app.state.runtime = runtime
    # A deactivated or erased person's still-valid token is refused (the projection
    # keeps ``revoked_subjects`` in the transaction of each event).
    app.state.revocations = Revocations(runtime.engine)
    app.include_router(dead_letters.router_for(runtime))
    return app
