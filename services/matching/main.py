"""Composition root of the matching service: ``uvicorn --factory services.matching.main:build_app``."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from chassis.http import metadata_for
from chassis.messaging import Transport, topic_for
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import Background, Erasure, ServicePart, serve
from services.matching.api import history as history_api
from services.matching.api import pairings as pairings_api
from services.matching.api import planning as planning_api
from services.matching.api import rounds as rounds_api
from services.matching.api import weights as weights_api
from services.matching.application.early_warnings import on_early_warning
from services.matching.application.escalations import on_escalation_resolved
from services.matching.application.history import MatchingHistory
from services.matching.application.inactivity import on_inactivity_closed
from services.matching.application.pairings import Pairings
from services.matching.application.planning import Planning
from services.matching.application.rounds import Rounds
from services.matching.application.weights import MatchingWeights
from services.matching.domain import optimiser
from services.matching.domain.events import registry
from services.matching.projections import advisors, candidates
from services.matching.projections import pairings as pairings_projection
from services.matching.projections.tables import metadata
from services.matching.settings import Settings

__all__ = ["Settings", "build_app", "build_part"]
VERSION = "0.1.0"
# Inbound events that can take a mentor's seats away: surplus open pairings go.
SEATS_CHANGE = (
    "MentorCapacityChanged", "MentorProfileSet", "PersonDeactivated",
    "AdvisorSuspended", "AdvisorOffboarded",
)  # fmt: skip
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = sorted(
    {table for table, _ in candidates.PERSON_TABLES + pairings_projection.PERSON_TABLES}
    | {"pairings", "revoked_subjects"}
)


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


async def _warm_optimiser(_engine: object) -> None:
    threading.Thread(target=optimiser.warm, name="optimiser-warm", daemon=True).start()


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("matching runs on services.matching.settings.Settings")
    pairings = Pairings(runtime, metadata_for=metadata_for)
    rounds = Rounds(
        pairings,
        proposal_ttl=timedelta(hours=settings.proposal_ttl_hours),
        k=settings.k_anonymity,
        disclosure_key=settings.disclosure_key,
    )
    planning = Planning(pairings, rounds)
    history = MatchingHistory(pairings)
    weights = MatchingWeights(pairings)
    pairings.on_freed.append(planning.offer_next)

    handlers = candidates.handlers(
        candidates.PERSON_TABLES + pairings_projection.PERSON_TABLES
    )
    forget = pairings.closing_erased(handlers.pop("PersonErased"))
    handlers["EscalationResolved"] = on_escalation_resolved(planning)
    handlers["EarlyWarningRaised"] = on_early_warning(planning)
    handlers["RelationshipInactivityClosed"] = on_inactivity_closed(pairings)
    handlers.update(advisors.HANDLERS)
    forget_advisor = handlers["AdvisorErased"]

    async def advisor_erased(env: Envelope, conn: AsyncConnection) -> None:
        # An erased external advisor's live pairings close like a person's
        # (withdrawn or ended with reason ``erased``), then matching forgets them.
        await pairings.close_erased(conn, env.tenant, env.data["advisor_id"])
        await forget_advisor(env, conn)

    handlers["AdvisorErased"] = advisor_erased
    for kind in SEATS_CHANGE:
        handlers[kind] = pairings.releasing(handlers[kind])

    async def sweep() -> None:
        await pairings.expire_everywhere()

    return ServicePart(
        title="Tandem matching",
        version=VERSION,
        description="Explainable, optimal, fair pairing for a whole cohort.",
        routers=[
            rounds_api.router,
            pairings_api.router,
            planning_api.router,
            history_api.router,
            weights_api.router,
        ],
        tables=metadata,
        consumes=[
            topic_for(s)
            for s in ("profiles", "sessions", "advisors", "insights", "notifications")
        ],
        handlers=handlers,
        translate=Publication(registry, f"tandem/{runtime.name}"),
        # The erased or deactivated person's tokens are refused from the same
        # transaction, and the erasure confirmed by a receipt.
        erasure=Erasure(stores=ERASED_FROM, forget=forget),
        background=[Background("expiry-sweep", sweep, settings.expiry_sweep_s)],
        # The optimiser's compiled kernels, ready before the first round asks.
        setup=[_warm_optimiser],
        on_stop=[rounds.stop, history.stop],
        provides=[pairings, rounds, planning, history, weights],
    )
