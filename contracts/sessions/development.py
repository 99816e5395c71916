"""Development inside a relationship: milestones, check-ins, rotations, escalations.

No free text travels here: labels, success criteria, evidence, reflections and the
words of a concern stay in the sessions service; events carry ids, dates, statuses,
ratings and counts.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from chassis.events import EventPayload, EventRegistry

registry = EventRegistry()

MilestoneStatus = Literal["in_progress", "at_risk", "blocked"]
ConfirmerRole = Literal["mentor", "coordinator"]
CheckInKind = Literal["monthly", "quarterly"]
ProjectKind = Literal[
    "cross_functional_launch",
    "cost_to_serve_analysis",
    "market_entry",
    "process_redesign",
    "other",
]
EscalationCategory = Literal[
    "chemistry", "availability", "confidentiality", "goals", "conduct", "other"
]
EscalationOutcome = Literal["resolved", "repair_requested", "concluded"]


@registry.register
class MilestoneSet(EventPayload):
    """A concrete, time-bound milestone tied to one objective of the contract."""

    milestone_id: str
    relationship_id: str
    mentee_id: str
    objective_index: int = Field(ge=0, description="which contract objective")
    due_on: date
    criteria: int = Field(ge=1, description="how many success criteria")


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
    achieved_on: date
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
    held_on: date
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
    by_role: Literal["mentor", "mentee"]
    category: EscalationCategory


@registry.register
class EscalationResolved(EventPayload):
    """``repair_requested`` asks matching to re-pair the mentee."""

    escalation_id: str
    relationship_id: str
    outcome: EscalationOutcome
    resolved_by: str
