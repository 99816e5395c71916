"""Integration events of the matching service (topic ``tandem.matching.v1``).

Only the pairing lifecycle that other services react to is defined so far; the matching
service's own issue extends this module.
"""

from __future__ import annotations

from typing import Literal

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()


@registry.register
class PairingConfirmed(EventPayload):
    """Both people accepted: the relationship starts (sessions listens for this)."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    cohort_id: str | None = None
    programme_type: Literal["standard", "reverse", "external", "group"] = "standard"


@registry.register
class PairingEnded(EventPayload):
    """A confirmed pairing is over; the mentor's seat is free again."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    reason: str = "concluded"
