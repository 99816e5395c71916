"""Advisory councils and the programme's risk register.

A council advises; it never decides. Its purpose and its recommendations' titles
describe what the programme governs, not a person, so they travel. Judgements people
write (meeting agendas, rationales, mitigation plans) stay in the advisors service:
a council that does not publish its decisions must not leak them through its events.
Members and owners appear by their pseudonymous ids.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()

MemberKind = Literal["advisor", "sponsor"]
RiskStatus = Literal["open", "mitigating", "closed"]


@registry.register
class CouncilChartered(EventPayload):
    council_id: str
    name: str
    purpose: str
    decision_rights: Literal["advise"] = "advise"
    cadence_weeks: int = Field(ge=1, le=52, description="a meeting every N weeks")
    publish_decisions: bool = False


@registry.register
class CouncilMemberAdded(EventPayload):
    council_id: str
    member_id: str
    kind: MemberKind


@registry.register
class CouncilMemberRemoved(EventPayload):
    council_id: str
    member_id: str


@registry.register
class CouncilMeetingHeld(EventPayload):
    council_id: str
    meeting_id: str
    held_on: date
    attendees: int = Field(ge=1)
    agenda_items: int = Field(ge=0)


@registry.register
class RecommendationMade(EventPayload):
    council_id: str
    recommendation_id: str
    meeting_id: str
    title: str
    made_by: str
    made_at: datetime


@registry.register
class RecommendationAccepted(EventPayload):
    council_id: str
    recommendation_id: str
    accepted_by: str
    at: datetime


@registry.register
class RecommendationRejected(EventPayload):
    council_id: str
    recommendation_id: str
    rejected_by: str
    at: datetime


@registry.register
class RecommendationImplemented(EventPayload):
    council_id: str
    recommendation_id: str
    implemented_by: str
    at: datetime


@registry.register
class RiskRaised(EventPayload):
    risk_id: str
    title: str
    category: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    owner_id: str


@registry.register
class RiskReassessed(EventPayload):
    risk_id: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)


@registry.register
class RiskMitigationUpdated(EventPayload):
    risk_id: str
    status: Literal["open", "mitigating"]


@registry.register
class RiskClosed(EventPayload):
    risk_id: str
