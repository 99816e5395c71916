"""An external advisor's lifecycle: proposed → due diligence → approved (or rejected)
→ contracted → active → offboarded; suspended when a check lapses."""

from __future__ import annotations

from pydantic import Field

from chassis.events import EventPayload, EventRegistry
from contracts.profiles import AvailabilityWindow, CoachingFormat, Strength

registry = EventRegistry()


@registry.register
class AdvisorProposed(EventPayload):
    advisor_id: str
    expertise_sought: list[str] = Field(default_factory=list)
    proposed_by: str


@registry.register
class AdvisorApproved(EventPayload):
    """Every required check passed: the advisor may be offered as an external mentor.

    Carries what matching needs to score the advisor as a candidate (no personal data).
    """

    advisor_id: str
    geography: str
    time_zone: str
    languages: list[str] = Field(default_factory=list)
    level: int = Field(10, ge=1, le=12, description="seniority on the tenant's scale")
    strengths: list[Strength] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    markets: list[str] = Field(default_factory=list)
    functions_led: list[str] = Field(default_factory=list)
    crisis_experience: list[str] = Field(default_factory=list)
    formats: list[CoachingFormat] = Field(default_factory=list)
    max_mentees: int = Field(0, ge=0, le=20)
    hours_per_month: int = Field(0, ge=0, le=200)
    availability: list[AvailabilityWindow] = Field(default_factory=list)


@registry.register
class AdvisorRejected(EventPayload):
    advisor_id: str
    reason_code: str


@registry.register
class AdvisorSuspended(EventPayload):
    """No longer offered (a check expired or failed, or a coordinator decided)."""

    advisor_id: str
    reason_code: str


@registry.register
class AdvisorReinstated(EventPayload):
    advisor_id: str


@registry.register
class AdvisorOffboarded(EventPayload):
    advisor_id: str


@registry.register
class AdvisorErased(EventPayload):
    """Every service forgets this advisor (crypto-shredded in the advisors service)."""

    advisor_id: str


@registry.register
class AdvisorContracted(EventPayload):
    """An agreement is in place; the advisor is not yet active."""

    advisor_id: str


@registry.register
class AdvisorActivated(EventPayload):
    """The advisor has started working with the programme."""

    advisor_id: str
