"""Composition root of the profiles service: ``uvicorn --factory services.profiles.main:build_app``.

The only module that wires: it builds the application objects over the runtime's
engine and store and hands the chassis the service's typed ``ServicePart``.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.revocation import Revocations
from chassis.auth.revocation import create_schema as create_revocation_schema
from chassis.http import metadata_for
from chassis.messaging import Transport, topic_for
from chassis.personal_data import PersonalDataCipher
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import ServicePart, serve
from contracts.profiles import registry as contracts
from services.profiles.api import (
    admin,
    cohorts,
    competencies,
    history,
    imports,
    people,
    scim,
)
from services.profiles.application import Profiles
from services.profiles.application.history import ProfilesHistory
from services.profiles.application.imports import Imports
from services.profiles.application.imports.runner import SOURCE
from services.profiles.application.scim import ScimUsers
from services.profiles.projections import mentor_load
from services.profiles.projections.sealed import seal_legacy, upgrade_sqlite
from services.profiles.projections.tables import metadata
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
    imports_app = Imports(profiles)
    history_app = ProfilesHistory(profiles)
    scim_users = ScimUsers(profiles)

    async def seal_rows_in_clear(engine: AsyncEngine) -> None:
        # Rows written in clear by an older version are sealed once, before serving.
        await seal_legacy(engine, profiles.cipher)

    return ServicePart(
        title="Tandem profiles",
        version=VERSION,
        description="People, competencies, cohorts, HRIS import, SCIM, consent and erasure.",
        routers=[
            people.router,
            competencies.router,
            cohorts.router,
            imports.router,
            history.router,
            scim.router,
            admin.router,
        ],
        middleware=[scim.ScimErrors],  # SCIM errors under /scim/v2, even 413/429
        consumes=[topic_for("matching")],
        handlers={
            "PairingConfirmed": mentor_load.on_pairing_confirmed,
            "PairingEnded": mentor_load.on_pairing_ended,
        },
        # Profiles is where ``PersonErased`` comes from: its own commands erase, so no
        # ``Erasure`` of an inbound event here.
        translate=Publication(
            contracts, SOURCE, engine=runtime.engine, decoder=profiles.codec
        ),
        tables=metadata,
        # The people's keys and the revocation view (the chassis's tables), revision
        # 0004 on an older embedded database, then rows stored in clear sealed.
        setup=[
            PersonalDataCipher.create_schema,
            create_revocation_schema,
            upgrade_sqlite,
            seal_rows_in_clear,
        ],
        on_stop=[imports_app.stop, history_app.stop],
        provides=[profiles, imports_app, history_app, scim_users],
        # A deactivated or erased person's still-valid token is refused (the projection
        # keeps ``revoked_subjects`` in the transaction of each event).
        revocations=Revocations(runtime.engine),
    )
