"""An external advisor's lifecycle: proposed → due diligence → approved (or rejected)
→ contracted → active → offboarded; suspended when a check lapses.

A field in ``personal_fields`` is about the advisor (the expertise a sponsor seeks in
them, their industries, markets, functions led and crises weathered): the advisors
service stores it encrypted with the advisor's key (the stream id is the advisor id),
so erasure shreds it; it is published in clear because matching scores on it, and a
consumer that keeps it forgets it on ``AdvisorErased``. Every other string is declared
``@not_personal`` with why.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from chassis.events import EventPayload, EventRegistry
from contracts import not_personal
from contracts.profiles import AvailabilityWindow, CoachingFormat, Strength

registry = EventRegistry()
ID = "pseudonymous id"


class AdvisorStatus(StrEnum):
    """Where an external advisor is in their lifecycle."""

    NEW = "new"  # before the proposal is recorded: never stored nor answered
    PROPOSED = "proposed"
    DUE_DILIGENCE = "due_diligence"
    APPROVED = "approved"
    CONTRACTED = "contracted"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"
    OFFBOARDED = "offboarded"
    ERASED = "erased"


class CheckStatus(StrEnum):
    """Where one due-diligence check of an advisor stands."""

    OPEN = "open"
    PASSED = "passed"
    FAILED = "failed"


class CheckBlocker(StrEnum):
    """Why a required check stops an approval (``ApprovalBlocked.blockers``)."""

    OPEN = "open"
    FAILED = "failed"
    EXPIRED = "expired"


@registry.register
@not_personal(advisor_id=ID, proposed_by=ID)
class AdvisorProposed(EventPayload):
    personal_fields: ClassVar[tuple[str, ...]] = ("expertise_sought",)
    advisor_id: str
    expertise_sought: list[str] = Field(default_factory=list)
    proposed_by: str


class ApprovedProfile(BaseModel):
    """What an advisor brings as a mentor, given at approval: the part of
    ``AdvisorApproved`` the advisors service answers as the advisor's profile."""

    geography: str = Field(description="ISO country code")
    time_zone: str = Field(description="IANA time zone name")
    languages: list[str] = Field(default_factory=list)
    level: int = Field(10, ge=1, le=12, description="Seniority on the tenant's scale")
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
@not_personal(
    advisor_id=ID,
    geography="ISO country code",
    time_zone="IANA time zone name",
    languages="language codes",
)
class AdvisorApproved(EventPayload, ApprovedProfile):
    """Every required check passed: the advisor may be offered as an external mentor.

    Carries what matching needs to score the advisor as a candidate, never a name,
    email or organisation. The advisor's own experience (``personal_fields``) is
    stored encrypted with their key; a consumer forgets it on ``AdvisorErased``.
    """

    personal_fields: ClassVar[tuple[str, ...]] = (
        "industries",
        "markets",
        "functions_led",
        "crisis_experience",
    )
    advisor_id: str


@registry.register
@not_personal(advisor_id=ID, reason_code="a reason code")
class AdvisorRejected(EventPayload):
    advisor_id: str
    reason_code: str


@registry.register
@not_personal(advisor_id=ID, reason_code="a reason code")
class AdvisorSuspended(EventPayload):
    """No longer offered (a check expired or failed, or a coordinator decided)."""

    advisor_id: str
    reason_code: str


@registry.register
@not_personal(advisor_id=ID)
class AdvisorReinstated(EventPayload):
    advisor_id: str


@registry.register
@not_personal(advisor_id=ID)
class AdvisorOffboarded(EventPayload):
    advisor_id: str


@registry.register
@not_personal(advisor_id=ID)
class AdvisorErased(EventPayload):
    """Every service forgets this advisor (crypto-shredded in the advisors service)."""

    advisor_id: str


@registry.register
@not_personal(advisor_id=ID)
class AdvisorContracted(EventPayload):
    """An agreement is in place; the advisor is not yet active."""

    advisor_id: str


@registry.register
@not_personal(advisor_id=ID)
class AdvisorActivated(EventPayload):
    """The advisor has started working with the programme."""

    advisor_id: str
