"""Composition root of the sessions service: ``uvicorn --factory services.sessions.main:build_app``.

The only module that wires: it builds the application objects over the runtime's
engine and store and hands the chassis the service's typed ``ServicePart``.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.envelope import Envelope
from chassis.http import metadata_for
from chassis.messaging import Transport, topic_for
from chassis.personal_data import PersonalDataCipher
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import Background, Erasure, ServicePart, serve
from contracts.sessions import registry as contracts
from services.sessions.api import (
    batches,
    calendar,
    development,
    feedback,
    history,
    meetings,
    notes,
    pulse,
    relationships,
)
from services.sessions.application.calendar import Calendar
from services.sessions.application.development import Development
from services.sessions.application.feedback import Feedbacks
from services.sessions.application.history import HistoryImports, HistoryWriter
from services.sessions.application.meetings import Meetings
from services.sessions.application.notes import Notes
from services.sessions.application.pulse import PulseSurveys
from services.sessions.application.relationships import Relationships
from services.sessions.application.texts import PrivateTexts
from services.sessions.projections import bookings
from services.sessions.projections.tables import metadata
from services.sessions.settings import Settings

__all__ = ["Settings", "build_app", "build_part"]
VERSION = "0.1.0"
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = [
    "calendar_tokens", "feedback", "notes", "person_availability", "private_texts",
    "pulse_respondents", "relationships", "revoked_subjects", "sessions",
]  # fmt: skip


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    sealed_texts = PrivateTexts(runtime.engine, settings.master_key)
    relationships_app = Relationships(
        runtime, metadata_for=metadata_for, texts=sealed_texts
    )
    meetings_app = Meetings(runtime, relationships_app)
    # A concluded relationship's sessions still to come are cancelled with it.
    relationships_app.on_concluded.append(meetings_app.cancel_upcoming)
    calendar_app = Calendar(runtime.engine, meetings_app)
    notes_app = Notes(runtime, relationships_app)
    feedback_app = Feedbacks(runtime, relationships_app)
    pulse_app = PulseSurveys(
        runtime,
        relationships_app,
        key=settings.pulse_key,
        k_floor=settings.k_anonymity,
    )
    development_app = Development(runtime, relationships_app)
    history_app = HistoryImports(
        runtime,
        HistoryWriter(relationships_app, meetings_app, development_app, feedback_app),
        secret=settings.master_key,
    )

    async def forget(env: Envelope, conn: AsyncConnection) -> None:
        # Conclude first (its tidy-up cancels the sessions to come), then forget.
        await relationships_app.on_person_erased(env, conn)
        await bookings.on_person_erased(env, conn)
        person_id = env.data["person_id"]
        await notes_app.on_person_erased(env.tenant, person_id, conn)
        await feedback_app.on_person_erased(person_id, conn)
        await pulse_app.on_person_erased(env.tenant, person_id, conn)

    async def seal_legacy(_engine: AsyncEngine) -> None:
        await sealed_texts.seal_legacy()

    return ServicePart(
        title="Tandem sessions",
        version=VERSION,
        description="The mentoring relationship: contract, sessions, milestones, notes, "
        "check-ins, feedback, rotations, calendar.",
        # The calendar's ``/sessions/{id}.ics`` goes before ``/sessions/{id}``.
        routers=[
            history.router,  # ``/sessions/history-imports`` before ``/sessions/{id}``
            relationships.router,
            calendar.router,
            batches.router,
            meetings.router,
            feedback.router,
            pulse.router,
            notes.router,
            development.router,
        ],
        consumes=[topic_for("matching"), topic_for("profiles")],
        handlers={
            "PairingConfirmed": relationships_app.on_pairing_confirmed,
            "PairingEnded": relationships_app.on_pairing_ended,
            "CohortCreated": relationships_app.on_cohort_created,
            "PersonRegistered": bookings.on_person,
            "PersonDetailsUpdated": bookings.on_person,
            "MentorProfileSet": bookings.on_mentor_profile,
        },
        translate=Publication(contracts, "tandem/sessions"),
        erasure=Erasure(stores=ERASED_FROM, forget=forget),
        tables=metadata,
        # The authors' keys (the chassis's table), then texts stored in clear sealed.
        setup=[PersonalDataCipher.create_schema, seal_legacy],
        background=[Background("pulse-close", pulse_app.close_due, 60)],
        on_stop=[history_app.stop],
        provides=[
            relationships_app,
            meetings_app,
            calendar_app,
            notes_app,
            feedback_app,
            pulse_app,
            development_app,
            history_app,
        ],
    )
