"""Mentoring sessions: scheduled, rescheduled, held, cancelled, missed.

A session is its own stream (keyed by ``session_id``) referring to its relationship.
No free text travels here: agendas and cancellation explanations stay in the sessions
service; ``sequence`` is the iCalendar SEQUENCE, bumped by every change a calendar
client must pick up (reschedule, cancellation).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()


class SessionFormat(StrEnum):
    """How a session is held."""

    ONE_TO_ONE = "one_to_one"
    GROUP = "group"
    SHADOWING = "shadowing"
    PROJECT = "project"


class CancellationReason(StrEnum):
    """Why a session was cancelled (the explanation itself stays private)."""

    SCHEDULE_CONFLICT = "schedule_conflict"
    ILLNESS = "illness"
    BUSINESS_PRIORITY = "business_priority"
    NO_LONGER_NEEDED = "no_longer_needed"
    RELATIONSHIP_PAUSED = "relationship_paused"
    OTHER = "other"


class SessionState(StrEnum):
    """Where a session stands: scheduled, then held, cancelled or missed."""

    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"
    MISSED = "missed"


@registry.register
class SessionScheduled(EventPayload):
    session_id: str
    relationship_id: str
    starts_at: AwareDatetime = Field(description="UTC start")
    minutes: int = Field(ge=15, le=480)
    format: SessionFormat = SessionFormat.ONE_TO_ONE
    scheduled_by: str
    sequence: int = Field(0, ge=0)


@registry.register
class SessionRescheduled(EventPayload):
    session_id: str
    relationship_id: str
    starts_at: AwareDatetime
    minutes: int = Field(ge=15, le=480)
    rescheduled_by: str
    sequence: int = Field(ge=1)


@registry.register
class SessionAgendaSet(EventPayload):
    """The agenda changed (its text stays private to the pair)."""

    session_id: str
    relationship_id: str
    set_by: str


@registry.register
class SessionHeld(EventPayload):
    session_id: str
    relationship_id: str
    held_at: AwareDatetime = Field(
        description="when it took place (effective time, UTC: may be long before the "
        "event was recorded; never before the relationship started)"
    )
    minutes: int = Field(ge=1, le=480, description="how long it actually lasted")
    recorded_by: str


@registry.register
class SessionCancelled(EventPayload):
    session_id: str
    relationship_id: str
    cancelled_by: str
    reason_code: CancellationReason
    sequence: int = Field(ge=1)


@registry.register
class SessionMissed(EventPayload):
    """A no-show: the session was due and these people did not come."""

    session_id: str
    relationship_id: str
    absent_ids: list[str] = Field(min_length=1, max_length=2)
    reported_by: str
