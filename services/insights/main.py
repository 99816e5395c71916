"""Composition root of the insights service: ``uvicorn --factory services.insights.main:build_app``.

insights consumes every service's topic. Each event is kept as a fact and then handed
to every part's handlers (``app.state.fact_handlers``), all in the consumer's one
transaction, so redelivery changes nothing. Every event is first screened and
stripped of free text, and ``PersonErased`` / ``AdvisorErased`` forget the person in
every store (``app.state.stores``, the registry of erasers): ``erasure.py``.
Consumer and projection lag are measured by ``lag.py`` (metrics and ``/admin/lag``).
"""

from __future__ import annotations

from collections import defaultdict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.revocation import create_schema as create_revocation_schema
from chassis.envelope import Envelope
from chassis.http import create_app
from chassis.messaging import Transport, dead_letters, topic_for
from chassis.runtime import ServiceRuntime
from services.insights import (
    batch,
    equity,
    erasure,
    facts,
    health,
    health_history,
    lag,
    scorecards,
)
from services.insights.settings import Settings

__all__ = ["Settings", "build_app"]
VERSION = "0.1.0"
PARTS = (health, equity, scorecards)
TOPICS = [topic_for(s) for s in ("profiles", "matching", "sessions", "advisors")]
# Events that report a job's progress (profiles' HRIS imports) rather than something
# that happened to a person or a relationship: no read model is computed from them.
TRANSIENT = frozenset({"ImportProgressed", "ImportFinished"})


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    settings = settings or Settings()
    setups = [facts.create_schema, erasure.create_schema, create_revocation_schema]
    fact_handlers: dict[str, list[facts.FactHandler]] = defaultdict(list)
    # Every table of insights → its eraser, or why it holds nothing about a person
    # (tests/insights check this against the database's tables).
    stores: dict[str, erasure.Eraser | str] = {
        "facts": erasure.erase_facts,
        "fact_people": "the people index of facts: erased with them (erase_facts)",
        "events": erasure.erase_warnings,
        "dead_letters": erasure.erase_dead_letters,
        "processed_events": "event ids the consumer applied, nothing about anyone",
        "log_checkpoints": "how far the relay published, positions only",
        "erasure_receipts": "tombstones: a keyed HMAC of the id, never the id",
        "revoked_subjects": "refused tokens: a keyed HMAC of the id, never the id",
        "alembic_version_insights": "the schema's revision",
    }
    erasures = erasure.Erasures(settings.tombstone_key, stores)

    async def setup(engine: AsyncEngine) -> None:
        for extra in setups:
            await extra(engine)

    async def on_event(env: Envelope, conn: AsyncConnection) -> None:
        monitor.applying(env, conn)
        if env.type in TRANSIENT:  # progress reports of a job, not history
            return
        if env.type in erasure.REVOKING:
            await revocations.apply(conn, env)
        if env.type in erasure.ERASURES:
            await erasures.erase(conn, env)
            return
        kept = await erasures.screen(conn, erasure.strip(env))
        if kept is None:  # an erased person's own event, arrived after the erasure
            return
        env = kept
        await facts.record(env, conn)
        for handle in fact_handlers.get(env.type, ()):
            await handle(env, conn)

    runtime = ServiceRuntime(
        settings, transport=transport, consumes=TOPICS, setup=setup
    )
    # The erased or deactivated person's tokens are refused, from the transaction
    # that applies the event (chassis revocation view, keyed like the tombstones).
    erasures.scrubber = runtime.scrubber
    revocations = erasure.KeyedRevocations(runtime.engine, erasures)
    app = create_app(
        settings,
        title="Tandem insights",
        version=VERSION,
        description="Scorecards, relationship health and early warnings, equity, "
        "impact and pairing patterns, computed from every service's events.",
        routers=[part.router for part in PARTS],
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.include_router(dead_letters.router_for(runtime))
    app.state.settings = settings
    monitor = lag.install(app, runtime)
    app.state.schema_setups = setups
    app.state.fact_handlers = fact_handlers
    app.state.stores = stores
    app.state.erasures = erasures
    app.state.revocations = revocations
    # Each part clears its tables here so a rebuild can replay the facts through it,
    # and may fold them in memory there instead of one by one (``rebuild.Rebuilder``).
    app.state.resetters = []
    app.state.rebuilders = []
    for part in PARTS:
        part.install(app, runtime)
    assert runtime.consumer is not None
    # Every event reaches ``on_event``: kept as a fact even when no part needs it yet
    # (a later part computes from it on rebuild).
    runtime.consumer.fallback = on_event
    # Every handler writes through the consumer's connection only: a polled batch is
    # applied in one transaction (one commit, not one per event), which keeps the
    # projection lag low under a steady stream.
    runtime.consumer.batch_transactions = True
    app.include_router(batch.router)  # batch reads for the gateway
    app.include_router(health_history.router)
    app.include_router(erasure.router)
    return app
