"""Integration events of the insights service (topic ``tandem.insights.v1``).

Early warnings about relationships, so coordinators and matching (re-pairing) can act.
They carry ids and machine reason codes with numbers (``no_session_for_42_days``),
never free text or personal data.
"""

from __future__ import annotations

from typing import Literal

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()

HealthState = Literal["on_track", "needs_check_in", "at_risk", "too_early", "concluded"]
WarningLevel = Literal["needs_check_in", "at_risk", "idle"]


@registry.register
class EarlyWarningRaised(EventPayload):
    """A relationship's health worsened (or it went idle past the configured limit)."""

    relationship_id: str
    mentor_id: str
    mentee_id: str
    level: WarningLevel
    reasons: list[str]


@registry.register
class RelationshipHealthChanged(EventPayload):
    relationship_id: str
    from_state: HealthState | None = None
    to_state: HealthState
    reasons: list[str]
