"""Composition root of the insights service: ``uvicorn --factory services.insights.main:build_app``.

insights consumes every service's topic. Each event is kept as a fact and then handed
to every read model that follows its type, all in the consumer's one transaction, so
redelivery changes nothing (``projections/inbound.py``). Every event is first screened
and stripped of free text, and ``PersonErased`` / ``AdvisorErased`` forget the person
in every store named in ``stores`` below (``projections/erasure.py``). Consumer and
projection lag are measured by ``application/lag.py`` (metrics and ``/admin/lag``).
"""

from __future__ import annotations

from fastapi import FastAPI

import contracts.insights
from chassis.auth.revocation import create_schema as create_revocation_schema
from chassis.messaging import Transport, topic_for
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import Background, ServicePart, serve
from services.insights.api import admin, batch, equity, health, impact, scorecards
from services.insights.application.equity import Equity
from services.insights.application.erasure import ErasureReceipts
from services.insights.application.health import Health
from services.insights.application.impact import Impact
from services.insights.application.lag import SAMPLE_S, LagMonitor
from services.insights.application.operations import Operations
from services.insights.application.patterns import Patterns
from services.insights.application.rebuild import Rebuilds
from services.insights.application.scorecards import Scorecards
from services.insights.projections import equity as equity_view
from services.insights.projections import erasure
from services.insights.projections import health as health_view
from services.insights.projections import scorecards as scorecard_view
from services.insights.projections.inbound import Inbound
from services.insights.projections.read_models import ReadModels
from services.insights.projections.tables import metadata
from services.insights.settings import Settings

__all__ = ["Settings", "build_app", "build_part"]
VERSION = "0.1.0"
TOPICS = [topic_for(s) for s in ("profiles", "matching", "sessions", "advisors")]


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    engine = runtime.engine
    book = health_view.HealthBook(
        engine,
        runtime.store,
        settings.idle_days_to_flag,
        history_grace_s=settings.history_grace_s,
    )

    read_models = ReadModels()
    read_models.add(
        health_view.HANDLED,
        book.on_fact,
        reset=health_view.reset,
        batch=lambda: health_view.HealthBatch(book),
        many=book.on_facts,
    )
    read_models.add(
        equity_view.EVENTS,
        equity_view.on_fact,
        reset=equity_view.reset,
        batch=equity_view.EquityBatch,
        many=equity_view.on_facts,
    )
    read_models.add(
        scorecard_view.EVENTS,
        scorecard_view.on_fact,
        reset=scorecard_view.reset,
        batch=scorecard_view.ScorecardBatch,
        many=scorecard_view.on_facts,
    )

    # Every table of insights → its eraser, or why it holds nothing about a person
    # (tests/insights check this against the database's tables).
    stores: dict[str, erasure.Eraser | str] = {
        # Before "facts": it finds the person's relationships by the facts naming them.
        "events": erasure.erase_warnings,
        "facts": erasure.erase_facts,
        "fact_people": "the index of the ids facts name: erased with them (erase_facts)",
        "dead_letters": erasure.erase_dead_letters,
        "relationship_health": health_view.erase,
        "equity_people": equity_view.erase,
        # Refolded from the facts: after "facts" (the erasers run in this order).
        "scorecard_parts": scorecard_view.erase,
        "processed_events": "event ids the consumer applied, nothing about anyone",
        "log_checkpoints": "how far the relay published, positions only",
        "erasure_receipts": "tombstones: a keyed HMAC of the id, never the id",
        "revoked_subjects": "refused tokens: a keyed HMAC of the id, never the id",
        "alembic_version_insights": "the schema's revision",
    }
    erasures = erasure.Erasures(settings.tombstone_key, stores, runtime.scrubber)
    # The erased or deactivated person's tokens are refused, from the transaction
    # that applies the event (chassis revocation view, keyed like the tombstones).
    revocations = erasure.KeyedRevocations(engine, erasures)
    monitor = LagMonitor(runtime)
    inbound = Inbound(read_models, erasures, revocations, monitor.applying)
    rebuilds = Rebuilds(engine, read_models)

    return ServicePart(
        title="Tandem insights",
        version=VERSION,
        description="Scorecards, relationship health and early warnings, equity, "
        "impact and pairing patterns, computed from every service's events.",
        routers=[
            health.router,
            equity.router,
            scorecards.router,
            impact.router,
            admin.router,
            batch.router,
        ],
        tables=metadata,
        consumes=TOPICS,
        translate=Publication(contracts.insights.registry, "tandem/insights"),
        setup=[create_revocation_schema],
        # Every event reaches ``inbound.apply``, kept as a fact even when no read
        # model needs it yet (a later one computes from it on rebuild). Its handlers
        # write through the consumer's connection only, so a polled batch is applied
        # in one transaction (one commit, not one per event), which keeps the
        # projection lag low under a steady stream.
        fallback=inbound.apply,
        batch_transactions=True,
        # ... with its statements grouped per table (``Inbound.apply_many``).
        batch_handler=inbound.apply_many,
        # Revoked subjects are kept as keyed hashes, like the tombstones: every
        # route (the chassis's dead-letter routes too) asks this check.
        revocations=revocations,
        background=[
            Background("health-sweep", book.sweep, settings.health_sweep_s),
            Background("lag-sample", monitor.sample, SAMPLE_S),
        ],
        on_stop=[rebuilds.stop],
        provides=[
            Health(engine, book),
            Impact(engine, erasures),
            Equity(
                engine,
                k=settings.k_anonymity,
                key=settings.disclosure_key,
                alpha=settings.equity_significance,
            ),
            Operations(engine),
            Patterns(engine, alpha=settings.equity_significance),
            Scorecards(engine, min_comparison=settings.k_anonymity),
            rebuilds,
            monitor,
            ErasureReceipts(engine, erasures),
            revocations,
            read_models,
            erasures,
            inbound,
        ],
    )
