"""The notifications service's published language: what a person is told, and where.

Topic ``tandem.notifications.v1``, empty so far: notifications emits no integration
event yet (its channel is declared so its relay, topics and consumers are in place
when it does). The closed sets below are shared by its domain, its HTTP API
(``contracts/api/notifications.py``) and the gateway that will expose it. A notification carries ids, moments and closed codes only, never text a
person typed (notes, feedback, reasons) and never a demographic attribute.
"""

from __future__ import annotations

from enum import StrEnum

from chassis.events import EventRegistry

registry = EventRegistry()


class NotificationKind(StrEnum):
    """What happened, from the recipient's side."""

    PAIRING_PROPOSED = "pairing_proposed"
    PAIRING_APPROVED = "pairing_approved"
    PAIRING_CONFIRMED = "pairing_confirmed"
    SESSION_SCHEDULED = "session_scheduled"
    EARLY_WARNING = "early_warning"


class Channel(StrEnum):
    """Where a notification reaches a person; the in-app inbox always holds it."""

    IN_APP = "in_app"
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"


# What a person's programme requires them to hear, whatever they unsubscribed from:
# a proposal they must answer and the start of the relationship it leads to.
REQUIRED_KINDS = frozenset(
    {NotificationKind.PAIRING_PROPOSED, NotificationKind.PAIRING_CONFIRMED}
)


class DeliveryStatus(StrEnum):
    """Where one delivery through a channel stands in the outbox."""

    PENDING = "pending"  # due now or later (quiet hours, digest, a retry's backoff)
    SENT = "sent"
    DEAD = "dead"  # failed every attempt; kept for operators, never dropped
