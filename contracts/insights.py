"""Integration events of the insights service (topic ``tandem.insights.v1``).

Early warnings about relationships, so coordinators and matching (re-pairing) can act.
They carry ids and machine reason codes with numbers (``no_session_for_42_days``),
never free text or personal data.
"""

from __future__ import annotations

from enum import StrEnum

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()


class HealthState(StrEnum):
    """A relationship's health (``services/insights/domain/health.py`` decides it)."""

    ON_TRACK = "on_track"
    NEEDS_CHECK_IN = "needs_check_in"
    AT_RISK = "at_risk"
    TOO_EARLY = "too_early"
    CONCLUDED = "concluded"


class WarningLevel(StrEnum):
    """How urgent an early warning is: a worse health state, or idle too long."""

    NEEDS_CHECK_IN = "needs_check_in"
    AT_RISK = "at_risk"
    IDLE = "idle"


class HealthInterval(StrEnum):
    """How far apart the points of a health history are."""

    WEEK = "week"  # every 7 days back from ``to``
    MONTH = "month"  # every calendar month back from ``to`` (day clamped)


class ScorecardScope(StrEnum):
    """What a balanced scorecard is about."""

    MENTEE = "mentee"
    RELATIONSHIP = "relationship"
    COHORT = "cohort"
    PROGRAMME = "programme"


class EquityDimension(StrEnum):
    """The organisational dimensions an equity report groups people by (besides
    ``demographics.<attribute>``, one per attribute people consented to share)."""

    BUSINESS_UNIT = "business_unit"
    LEVEL_BAND = "level_band"
    TENURE_BAND = "tenure_band"
    GEOGRAPHY = "geography"


class MentorStatus(StrEnum):
    """Whether a mentor took part as of a mentor impact report's last day."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # deactivated or deprovisioned (not yet reactivated)
    DEPARTED = "departed"  # left the organisation (an HRIS departure)
    ERASED = "erased"  # erased at their request: nothing of theirs is reported


class ImpactVerdict(StrEnum):
    """What an equity report concludes of one group's rate against the best group's
    (``services/insights/domain/stats.py``: ``compare_rates``)."""

    # Impact ratio below 0.8 AND Fisher's exact test against the best group
    # significant (p below the configured level, 0.05 by default).
    ADVERSE_IMPACT = "adverse_impact"
    # Impact ratio below 0.8 but not significant: these numbers cannot tell a real
    # difference from chance.
    TOO_FEW_TO_TELL = "too_few_to_tell"
    # Impact ratio 0.8 or more (the best group itself included).
    NO_ADVERSE_IMPACT = "no_adverse_impact"


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
