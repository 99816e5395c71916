"""Development inside a relationship: milestones, check-ins, rotations, escalations.

No free text travels here: labels, success criteria, evidence, reflections and the
words of a concern stay in the sessions service; events carry ids, dates, statuses,
ratings and counts.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from chassis.events import EventPayload, EventRegistry
from contracts.sessions.notes import PartyRole

registry = EventRegistry()


class MilestoneStatus(StrEnum):
    """Progress reported on an open milestone."""

    IN_PROGRESS = "in_progress"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"


class ConfirmerRole(StrEnum):
    """Who confirmed a milestone's achievement."""

    MENTOR = "mentor"
    COORDINATOR = "coordinator"


class CheckInKind(StrEnum):
    """A monthly alignment check or a quarterly review with the sponsor."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class ProjectKind(StrEnum):
    """The kind of project a rotation carries."""

    CROSS_FUNCTIONAL_LAUNCH = "cross_functional_launch"
    COST_TO_SERVE_ANALYSIS = "cost_to_serve_analysis"
    MARKET_ENTRY = "market_entry"
    PROCESS_REDESIGN = "process_redesign"
    OTHER = "other"


class EscalationCategory(StrEnum):
    """What a concern raised to the coordinator is about."""

    CHEMISTRY = "chemistry"
    AVAILABILITY = "availability"
    CONFIDENTIALITY = "confidentiality"
    GOALS = "goals"
    CONDUCT = "conduct"
    OTHER = "other"


class EscalationOutcome(StrEnum):
    """How an escalation was resolved (``repair_requested`` asks matching to re-pair)."""

    RESOLVED = "resolved"
    REPAIR_REQUESTED = "repair_requested"
    CONCLUDED = "concluded"


@registry.register
class MilestoneSet(EventPayload):
    """A concrete, time-bound milestone tied to one objective of the contract."""

    milestone_id: str
    relationship_id: str
    mentee_id: str
    objective_index: int = Field(ge=0, description="which contract objective")
    due_on: date
    criteria: int = Field(ge=1, description="how many success criteria")
    set_on: date | None = Field(
        None,
        description="the day it was agreed (effective date, on or before the day it "
        "was recorded); absent in events recorded before effective dates: the day "
        "the event was recorded",
    )


@registry.register
class MilestoneProgressed(EventPayload):
    milestone_id: str
    relationship_id: str
    status: MilestoneStatus


@registry.register
class MilestoneAchieved(EventPayload):
    """Confirmed by the mentor or a coordinator, never by the mentee alone."""

    milestone_id: str
    relationship_id: str
    mentee_id: str
    confirmed_by: str
    confirmer_role: ConfirmerRole
    achieved_on: date = Field(
        description="the day it was achieved (effective date: on or after the day it "
        "was set, never after the day it was recorded)"
    )
    on_time: bool


@registry.register
class MilestoneMissed(EventPayload):
    milestone_id: str
    relationship_id: str
    due_on: date


@registry.register
class CheckInRecorded(EventPayload):
    """A monthly alignment check or a quarterly review (with the sponsor)."""

    check_in_id: str
    relationship_id: str
    kind: CheckInKind
    held_on: date = Field(
        description="the day it took place (effective date: on or after the "
        "relationship's start, never after the day it was recorded)"
    )
    sponsor_id: str | None = None
    alignment: int = Field(ge=1, le=5)
    correction_recorded: bool = False


@registry.register
class RotationAssigned(EventPayload):
    """A two-to-four week placement in another function or market, with a host and project."""

    rotation_id: str
    relationship_id: str
    mentee_id: str
    function: str | None = None
    market: str | None = None
    host_id: str
    starts_on: date
    ends_on: date
    project_kind: ProjectKind


@registry.register
class RotationDebriefed(EventPayload):
    """The reflective debrief, linked to the leader's goals (competency ids)."""

    rotation_id: str
    relationship_id: str
    goal_competency_ids: tuple[str, ...] = Field(min_length=1)


@registry.register
class RotationCompleted(EventPayload):
    rotation_id: str
    relationship_id: str
    completed_on: date


@registry.register
class EscalationRaised(EventPayload):
    """Either side raised a concern; it goes to the coordinator."""

    escalation_id: str
    relationship_id: str
    by_role: PartyRole
    category: EscalationCategory


@registry.register
class EscalationResolved(EventPayload):
    """``repair_requested`` asks matching to re-pair the mentee."""

    escalation_id: str
    relationship_id: str
    outcome: EscalationOutcome
    resolved_by: str
