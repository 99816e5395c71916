"""Composition root of the profiles service: ``uvicorn --factory services.profiles.main:build_app``.

The only module that wires: it builds the application objects over the runtime's
engine and store and hands the chassis the service's typed ``ServicePart``.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.revocation import Revocations
from chassis.http import metadata_for
from chassis.messaging import Transport, topic_for
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import ServicePart, serve
from contracts.profiles import registry as contracts
from services.profiles.api import routers
from services.profiles.application import Profiles
from services.profiles.imports import Imports
from services.profiles.projections import on_pairing_confirmed, on_pairing_ended
from services.profiles.scim import ScimUsers
from services.profiles.sealed import seal_legacy
from services.profiles.settings import Settings

__all__ = ["Settings", "build_app", "build_part"]
VERSION = "0.1.0"


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    profiles = Profiles(
        runtime,
        master_key=settings.master_key,
        demographic_attributes=set(settings.demographic_attributes),
        metadata_for=metadata_for,
    )
    imports = Imports(profiles)
    scim_users = ScimUsers(profiles)

    async def setup(_engine: AsyncEngine) -> None:
        await profiles.prepare()
        await scim_users.prepare()
        await imports.prepare()
        # Rows written in clear by an older version are sealed once, before serving.
        await seal_legacy(runtime.engine, profiles.cipher)

    return ServicePart(
        title="Tandem profiles",
        version=VERSION,
        description="People, competencies, cohorts, HRIS import, SCIM, consent and erasure.",
        routers=routers(),
        consumes=[topic_for("matching")],
        handlers={
            "PairingConfirmed": on_pairing_confirmed,
            "PairingEnded": on_pairing_ended,
        },
        # Profiles is where ``PersonErased`` comes from: its own commands erase, so no
        # ``Erasure`` of an inbound event here.
        translate=Publication(
            contracts, "tandem/profiles", engine=runtime.engine, decoder=profiles.codec
        ),
        setup=[setup],
        on_stop=[imports.stop],
        provides=[profiles, imports, scim_users],
        # A deactivated or erased person's still-valid token is refused (the projection
        # keeps ``revoked_subjects`` in the transaction of each event).
        revocations=Revocations(runtime.engine),
    )
