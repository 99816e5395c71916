"""Composition root of the advisors service: ``uvicorn --factory services.advisors.main:build_app``.

The only module that wires: it builds the application objects over the runtime's
engine and store and hands the chassis the service's typed ``ServicePart``.
"""

from __future__ import annotations

from fastapi import FastAPI

from chassis.messaging import Transport, topic_for
from chassis.personal_data import PersonalDataCipher
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import Background, Erasure, ServicePart, serve
from contracts.advisors import registry as contracts
from services.advisors.api import advisors, agreements, batches, councils, risks
from services.advisors.application.agreements import Agreements
from services.advisors.application.councils import Councils
from services.advisors.application.lifecycle import Advisors
from services.advisors.application.risks import Risks
from services.advisors.domain.events import registry
from services.advisors.projections.tables import metadata
from services.advisors.settings import Settings

__all__ = ["SOURCE", "Settings", "build_app", "build_part"]
VERSION = "0.1.0"
SOURCE = "tandem/advisors"
# What ``PersonErased`` goes through (a linked advisor is erased), as its receipt
# names them.
ERASED_FROM = ["advisors", "person_keys", "revoked_subjects"]


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    # The advisors' (and councils') personal fields, sealed with their own keys.
    cipher = PersonalDataCipher(settings.master_key, registry)
    advisors_app = Advisors(runtime, cipher)
    agreements_app = Agreements(runtime)
    councils_app = Councils(runtime, cipher)
    risks_app = Risks(runtime)
    # Only an approved advisor is contracted; only a known one sits on a council.
    agreements_app.advisor_status = advisors_app.status
    councils_app.advisor_status = advisors_app.status

    async def diligence_expiry() -> None:
        await advisors_app.sweep()

    async def agreement_terms() -> None:
        await agreements_app.sweep()

    return ServicePart(
        title="Tandem advisors",
        version=VERSION,
        description="External advisors under due diligence, contracts, councils and "
        "the programme's risk register.",
        # The batch reads go first, as they always have.
        routers=[
            batches.router,
            advisors.router,
            agreements.router,
            councils.router,
            risks.router,
        ],
        tables=metadata,
        consumes=[topic_for("profiles")],
        # The contracts' personal fields are opened for matching, which scores on
        # them; an erased advisor's events that need one are withheld.
        translate=Publication(contracts, SOURCE, engine=runtime.engine, decoder=cipher),
        erasure=Erasure(stores=ERASED_FROM, forget=advisors_app.on_person_erased),
        # The keys' table, then the ``advisors`` rows written in clear sealed.
        setup=[PersonalDataCipher.create_schema, advisors_app.seal_legacy],
        background=[
            Background("diligence-expiry", diligence_expiry, settings.expiry_sweep_s),
            Background("agreement-terms", agreement_terms, settings.expiry_sweep_s),
        ],
        provides=[advisors_app, agreements_app, councils_app, risks_app],
    )
