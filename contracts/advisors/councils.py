"""Advisory councils and the programme's risk register.

A council advises; it never decides. Its purpose, its recommendations' titles and the
risks' titles are the organisation's records (a council's remit, a decision, an entry
of its risk register), not a person's data: they travel, they are kept under the
organisation's retention, and erasing the person who wrote one does not shred it
(that would destroy the organisation's register). So they must name no one: people
are referred to by their Tandem id (``docs/privacy.md``). Judgements people write
(meeting agendas, rationales, mitigation plans) stay in the advisors service: a
council that does not publish its decisions must not leak them through its events.
Members and owners appear by their pseudonymous ids.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from chassis.events import EventPayload, EventRegistry
from contracts import not_personal

registry = EventRegistry()
ID = "pseudonymous id"
RECORD = (
    "the organisation's record, kept under its retention: not shredded with its "
    "author, so it names people by Tandem id only"
)


class MemberKind(StrEnum):
    """Who sits on a council: an external advisor or an internal sponsor."""

    ADVISOR = "advisor"
    SPONSOR = "sponsor"


class DecisionRights(StrEnum):
    """What a council may do with its recommendations: advise, never decide."""

    ADVISE = "advise"


class RecommendationStatus(StrEnum):
    """Where a council's recommendation stands."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IMPLEMENTED = "implemented"


class RiskStatus(StrEnum):
    """Where a risk of the register stands."""

    OPEN = "open"
    MITIGATING = "mitigating"
    CLOSED = "closed"


class MitigationStatus(StrEnum):
    """The status a mitigation leaves a risk in (closing is its own command)."""

    OPEN = "open"
    MITIGATING = "mitigating"


class RiskSeverity(StrEnum):
    """The band of a risk's 5x5 score (likelihood x impact)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@registry.register
@not_personal(
    council_id=ID,
    name="the programme's name for a council",
    purpose=RECORD + " (a council's remit)",
)
class CouncilChartered(EventPayload):
    council_id: str
    name: str
    purpose: str
    decision_rights: DecisionRights = DecisionRights.ADVISE
    cadence_weeks: int = Field(ge=1, le=52, description="a meeting every N weeks")
    publish_decisions: bool = False


@registry.register
@not_personal(council_id=ID, member_id=ID)
class CouncilMemberAdded(EventPayload):
    council_id: str
    member_id: str
    kind: MemberKind


@registry.register
@not_personal(council_id=ID, member_id=ID)
class CouncilMemberRemoved(EventPayload):
    council_id: str
    member_id: str


@registry.register
@not_personal(council_id=ID, meeting_id=ID)
class CouncilMeetingHeld(EventPayload):
    council_id: str
    meeting_id: str
    held_on: date
    attendees: int = Field(ge=1)
    agenda_items: int = Field(ge=0)


@registry.register
@not_personal(
    council_id=ID,
    recommendation_id=ID,
    meeting_id=ID,
    made_by=ID,
    title=RECORD + " (a council's recommendation)",
)
class RecommendationMade(EventPayload):
    council_id: str
    recommendation_id: str
    meeting_id: str
    title: str
    made_by: str
    made_at: datetime


@registry.register
@not_personal(council_id=ID, recommendation_id=ID, accepted_by=ID)
class RecommendationAccepted(EventPayload):
    council_id: str
    recommendation_id: str
    accepted_by: str
    at: datetime


@registry.register
@not_personal(council_id=ID, recommendation_id=ID, rejected_by=ID)
class RecommendationRejected(EventPayload):
    council_id: str
    recommendation_id: str
    rejected_by: str
    at: datetime


@registry.register
@not_personal(council_id=ID, recommendation_id=ID, implemented_by=ID)
class RecommendationImplemented(EventPayload):
    council_id: str
    recommendation_id: str
    implemented_by: str
    at: datetime


@registry.register
@not_personal(
    risk_id=ID,
    owner_id=ID,
    category="a risk category of the register",
    title=RECORD + " (an entry of its risk register)",
)
class RiskRaised(EventPayload):
    risk_id: str
    title: str
    category: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    owner_id: str


@registry.register
@not_personal(risk_id=ID)
class RiskReassessed(EventPayload):
    risk_id: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)


@registry.register
@not_personal(risk_id=ID)
class RiskMitigationUpdated(EventPayload):
    risk_id: str
    status: MitigationStatus


@registry.register
@not_personal(risk_id=ID)
class RiskClosed(EventPayload):
    risk_id: str
