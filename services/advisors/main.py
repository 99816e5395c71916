"""Composition root of the advisors service: ``uvicorn --factory services.advisors.main:build_app``."""

from __future__ import annotations

from dataclasses import replace

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.envelope import Envelope
from chassis.events import RecordedEvent, encode
from chassis.http import create_app
from chassis.messaging import Transport, dead_letters, topic_for
from chassis.personal_data import ENCRYPTED, PersonalDataCipher
from chassis.runtime import ServiceRuntime
from contracts.advisors import registry as public
from services.advisors import agreements, councils, lifecycle
from services.advisors.domain.events import registry
from services.advisors.settings import Settings

__all__ = ["Settings", "build_app"]
VERSION = "0.1.0"
PARTS = (lifecycle, agreements, councils)
SOURCE = "tandem/advisors"


def publication(event: RecordedEvent) -> list[Envelope]:
    """Each event (its data in clear) projected onto its contract: the stored-only
    personal fields (names, emails, evidence, agendas) never leave."""
    if event.event_type not in public:
        return []
    model = public.model(event.event_type)
    payload = model.model_validate(
        {k: v for k, v in event.data.items() if k in model.model_fields}
    )
    return [replace(Envelope.from_recorded(event, SOURCE), data=encode(payload))]


class Publication:
    """The relay's translation: a contract's own personal fields (the expertise
    sought, an approved advisor's industries, markets, functions and crises) are
    stored encrypted with the advisor's key and opened here for matching, which
    scores on them. Once the advisor is erased they cannot be: the event is withheld
    (its ``AdvisorErased`` says the rest)."""

    def __init__(self, engine: AsyncEngine, cipher: PersonalDataCipher) -> None:
        self.engine = engine
        self.cipher = cipher

    async def __call__(self, event: RecordedEvent) -> list[Envelope]:
        if event.event_type not in public:
            return []
        model = public.model(event.event_type)
        data = {k: v for k, v in event.data.items() if k in model.model_fields}
        sealed = [k for k, v in data.items() if isinstance(v, dict) and ENCRYPTED in v]
        if sealed:
            async with self.engine.connect() as conn:
                data = await self.cipher.decode(replace(event, data=data), conn)
            if any(data.get(k) is None for k in sealed):
                return []  # erased: what it said is gone
        return publication(replace(event, data=data))


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    settings = settings or Settings()
    setups = []

    async def setup(engine: AsyncEngine) -> None:
        await PersonalDataCipher.create_schema(engine)
        for extra in setups:
            await extra(engine)

    runtime = ServiceRuntime(
        settings,
        transport=transport,
        consumes=[topic_for("profiles")],
        setup=setup,
    )
    cipher = PersonalDataCipher(settings.master_key, registry)
    runtime.relay.translate = Publication(runtime.engine, cipher)
    app = create_app(
        settings,
        title="Tandem advisors",
        version=VERSION,
        description="External advisors under due diligence, contracts, councils and "
        "the programme's risk register.",
        routers=[part.router for part in PARTS],
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.include_router(dead_letters.router_for(runtime))
    app.state.cipher = cipher
    app.state.schema_setups = setups
    app.state.settings = settings
    for part in PARTS:
        part.install(app, runtime, cipher)
    return app
