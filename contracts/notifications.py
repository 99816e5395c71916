"""The notifications service's published language: what a person is told, and where.

Topic ``tandem.notifications.v1``: ``RelationshipInactivityClosed``, a relationship
that stayed quiet past its warning and notice period (matching ends the pairing with
reason ``inactive``; sessions concludes the relationship from that). The closed sets below are shared by its domain, its HTTP API
(``contracts/api/notifications.py``) and the gateway that will expose it. A notification carries ids, moments and closed codes only, never text a
person typed (notes, feedback, reasons) and never a demographic attribute.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from chassis.events import EventPayload, EventRegistry
from contracts import not_personal

registry = EventRegistry()


class NotificationKind(StrEnum):
    """What happened, from the recipient's side."""

    PAIRING_PROPOSED = "pairing_proposed"
    PAIRING_APPROVED = "pairing_approved"
    PAIRING_CONFIRMED = "pairing_confirmed"
    SESSION_SCHEDULED = "session_scheduled"
    EARLY_WARNING = "early_warning"
    # The time-based rules (services/notifications/domain/rules.py), from the sweep.
    SESSION_TOMORROW = "session_tomorrow"
    MILESTONE_DUE = "milestone_due"
    CADENCE_MISSED = "cadence_missed"
    MATCH_PULSE = "match_pulse"
    INACTIVITY_WARNING = "inactivity_warning"
    RELATIONSHIP_CLOSED = "relationship_closed"
    WARNING_PERSISTS = "warning_persists"
    # A council's recommendation (advisors) not decided within the tenant's window:
    # to its deciders (the council's sponsors, the programme's coordinators).
    RECOMMENDATION_AWAITING = "recommendation_awaiting"
    # An integrator's webhook endpoint failed for too long and was disabled.
    WEBHOOK_DISABLED = "webhook_disabled"


class Channel(StrEnum):
    """Where a notification reaches a person; the in-app inbox always holds it."""

    IN_APP = "in_app"
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"


# What a person's programme requires them to hear, whatever they unsubscribed from:
# a proposal they must answer and the start of the relationship it leads to.
# A warning that the relationship will be closed unless answered, and its closing.
REQUIRED_KINDS = frozenset(
    {
        NotificationKind.PAIRING_PROPOSED,
        NotificationKind.PAIRING_CONFIRMED,
        NotificationKind.INACTIVITY_WARNING,
        NotificationKind.RELATIONSHIP_CLOSED,
        NotificationKind.WEBHOOK_DISABLED,
    }
)


class DeliveryStatus(StrEnum):
    """Where one delivery through a channel stands in the outbox."""

    PENDING = "pending"  # due now or later (quiet hours, digest, a retry's backoff)
    SENT = "sent"
    DEAD = "dead"  # failed every attempt; kept for operators, never dropped


class ClosingReason(StrEnum):
    """Why notifications closed a relationship."""

    INACTIVE = "inactive"  # quiet past the warning and its notice period, unanswered


@registry.register
@not_personal(relationship_id="pseudonymous id (its pairing's id)")
class RelationshipInactivityClosed(EventPayload):
    """A relationship stayed quiet for the tenant's inactivity limit, its pair was
    warned, and neither answered nor held a session within the notice period.

    Matching ends the pairing (the relationship id is its pairing's id) with reason
    ``inactive``; sessions concludes the relationship when the pairing ends."""

    relationship_id: str
    reason: ClosingReason = ClosingReason.INACTIVE
    warned_at: AwareDatetime = Field(description="when the pair was warned (UTC)")
    inactive_since: AwareDatetime = Field(
        description="the last sign of life: a session held, the start or an answer"
    )
