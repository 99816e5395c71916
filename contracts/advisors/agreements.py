"""An advisor's contract with the programme (term, scope, time commitment,
compensation, hours logged against it) and one-off engagements (a session on a
high-leverage topic) whose hours count against that contract.

Hours travel as whole minutes; money as integer minor units of an ISO 4217 currency.
The free-text scope of a contract stays in the advisors service. Every string here is
an id, a code or a vocabulary word (``@not_personal``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chassis.events import EventPayload, EventRegistry
from contracts import not_personal

registry = EventRegistry()
ID = "pseudonymous id"


class ScopeCategory(StrEnum):
    """What an agreement engages the advisor for."""

    MENTORING = "mentoring"
    COUNCIL = "council"
    SESSIONS = "sessions"
    MIXED = "mixed"


class HoursKind(StrEnum):
    """What hours logged against an agreement were spent on."""

    MENTORING = "mentoring"
    COUNCIL = "council"
    SESSION = "session"


class EngagementTopic(StrEnum):
    """The high-leverage topic of a one-off engagement."""

    TRANSFORMATION = "transformation"
    STRATEGIC_RISK = "strategic_risk"
    GOVERNANCE = "governance"
    CRISIS_LEADERSHIP = "crisis_leadership"
    INNOVATION = "innovation"
    OTHER = "other"


class AgreementStatus(StrEnum):
    """An agreement in force, run out, or ended early."""

    ACTIVE = "active"
    ENDED = "ended"
    TERMINATED = "terminated"


class EngagementStatus(StrEnum):
    """A one-off engagement to come, or given."""

    SCHEDULED = "scheduled"
    DELIVERED = "delivered"


@not_personal(currency="ISO 4217 currency code")
class Compensation(BaseModel):
    """Pro bono, or an hourly rate with an optional cap in money or in hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pro_bono: bool = False
    rate_minor_units: int | None = Field(None, ge=0, description="per hour")
    currency: str | None = Field(None, description="ISO 4217 code")
    cap_minor_units: int | None = Field(None, ge=0)
    cap_hours: int | None = Field(None, ge=0)


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID)
class AgreementSigned(EventPayload):
    agreement_id: str
    advisor_id: str
    starts_on: date
    ends_on: date
    scope: ScopeCategory
    hours_per_month: int = Field(ge=1, le=200)
    compensation: Compensation
    renewable: bool = True


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID, engagement_id=ID)
class HoursLogged(EventPayload):
    agreement_id: str
    advisor_id: str
    minutes: int = Field(ge=1)
    on: date
    kind: HoursKind
    cost_minor_units: int = Field(0, ge=0)
    engagement_id: str | None = None


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID)
class AgreementRenewed(EventPayload):
    agreement_id: str
    advisor_id: str
    previous_ends_on: date
    ends_on: date


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID)
class AgreementEndingSoon(EventPayload):
    """Raised once per term when the end of term is within the notice period."""

    agreement_id: str
    advisor_id: str
    ends_on: date
    days_left: int


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID)
class AgreementEnded(EventPayload):
    """The term ran out without renewal."""

    agreement_id: str
    advisor_id: str
    ends_on: date


@registry.register
@not_personal(agreement_id=ID, advisor_id=ID, reason_code="a reason code")
class AgreementTerminated(EventPayload):
    agreement_id: str
    advisor_id: str
    on: date
    reason_code: str


@registry.register
@not_personal(engagement_id=ID, advisor_id=ID)
class EngagementScheduled(EventPayload):
    engagement_id: str
    advisor_id: str
    topic: EngagementTopic
    on: date
    audience_size: int = Field(ge=1, le=10_000)


@registry.register
@not_personal(engagement_id=ID, advisor_id=ID, agreement_id=ID)
class EngagementDelivered(EventPayload):
    engagement_id: str
    advisor_id: str
    agreement_id: str
    minutes: int = Field(ge=1)
    on: date
