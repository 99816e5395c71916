"""Composition root of the notifications service:
``uvicorn --factory services.notifications.main:build_app``.

The only module that wires: the inbound handlers of ``Telling`` over the consumer
(matching's pairings, sessions' relationships and sessions, insights' early warnings,
profiles' people), the inbox and preferences routes, and what ``PersonErased`` goes
through. notifications publishes no event of its own yet.
"""

from __future__ import annotations

from fastapi import FastAPI

from chassis.messaging import Transport, topic_for
from chassis.runtime import ServiceRuntime
from chassis.service import Erasure, ServicePart, serve
from services.notifications.api import me
from services.notifications.application.inbox import Notifications
from services.notifications.application.telling import Telling
from services.notifications.projections.tables import metadata
from services.notifications.settings import Settings

__all__ = ["ERASED_FROM", "NOTHING_PERSONAL", "Settings", "build_app", "build_part"]
VERSION = "0.1.0"
TOPICS = [topic_for(s) for s in ("profiles", "matching", "sessions", "insights")]
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = [
    "notifications",
    "notification_preferences",
    "notification_people",
    "notification_relationships",
    "notification_parked",
    "revoked_subjects",
]
# Every other table, and why it holds nothing about a person.
NOTHING_PERSONAL = {
    "events": "notifications appends no event of its own",
    "log_checkpoints": "how far the relay published, positions only",
    "processed_events": "event ids the consumer applied",
    "dead_letters": "events that failed, kept for operators; erased in the producer",
    "erasure_receipts": "which stores forgot whom: the receipt itself",
    "alembic_version_notifications": "the schema's revision",
}


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    telling = Telling()
    return ServicePart(
        title="Tandem notifications",
        version=VERSION,
        description="Who is told what: a person's in-app notifications and their "
        "preferences, from the pairing, session and early-warning events.",
        routers=[me.router],
        tables=metadata,
        consumes=TOPICS,
        handlers=telling.handlers(),
        erasure=Erasure(stores=ERASED_FROM, forget=telling.forget),
        provides=[Notifications(runtime), telling],
    )
