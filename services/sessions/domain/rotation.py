"""A rotational assignment: a two-to-four week placement in another function or market with a
host and an anchored project, closed only after a reflective debrief that links the
experience to the leader's goals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import DomainError
from contracts.sessions import development as d
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import require_not_before

MIN_DAYS, MAX_DAYS = 14, 28
ASSIGNED, DEBRIEFED, COMPLETED = "assigned", "debriefed", "completed"


@registry.override
class RotationAssigned(d.RotationAssigned):
    project_text_id: str | None = None


@registry.override
class RotationDebriefed(d.RotationDebriefed):
    reflection_text_id: str


class RotationLengthInvalid(DomainError):
    code = "RotationLengthInvalid"
    title = "A rotation lasts between two and four weeks"


class PlacementRequired(DomainError):
    code = "PlacementRequired"
    title = "A rotation is placed in another function or market"


class GoalLinkRequired(DomainError):
    code = "GoalLinkRequired"
    title = "A debrief links the rotation to at least one of the leader's goals"


class ReflectionRequired(DomainError):
    code = "ReflectionRequired"
    title = "A debrief needs the leader's reflection"


class DebriefRequired(DomainError):
    code = "DebriefRequired"
    title = "A rotation is completed only after its reflective debrief"


class RotationClosed(DomainError):
    code = "RotationClosed"
    title = "The rotation is already completed"


class Rotation(Aggregate):
    def initial_state(self) -> None:
        self.assigned: RotationAssigned | None = None
        self.state = ASSIGNED

    @classmethod
    def assign(
        cls,
        rotation_id: str,
        tenant: str,
        *,
        relationship_id: str,
        mentee_id: str,
        function: str | None,
        market: str | None,
        host_id: str,
        starts_on: date,
        ends_on: date,
        project_kind: d.ProjectKind,
        project_text_id: str | None,
        started_on: date,
    ) -> Rotation:
        """Placed within the relationship: it starts on or after the relationship."""
        require_not_before(starts_on, started_on, "a rotation starting")
        if not (function or market):
            raise PlacementRequired("name the function or the market of the placement")
        days = (ends_on - starts_on).days
        if not MIN_DAYS <= days <= MAX_DAYS:
            raise RotationLengthInvalid(
                f"{days} days; a rotation lasts {MIN_DAYS} to {MAX_DAYS} days"
            )
        rotation = cls(rotation_id, tenant)
        rotation.initial_state()
        rotation._record(
            RotationAssigned(
                rotation_id=rotation_id,
                relationship_id=relationship_id,
                mentee_id=mentee_id,
                function=function,
                market=market,
                host_id=host_id,
                starts_on=starts_on,
                ends_on=ends_on,
                project_kind=project_kind,
                project_text_id=project_text_id,
            )
        )
        return rotation

    @property
    def relationship_id(self) -> str:
        assert self.assigned is not None
        return self.assigned.relationship_id

    @property
    def mentee_id(self) -> str:
        assert self.assigned is not None
        return self.assigned.mentee_id

    def debrief(
        self, goal_competency_ids: Sequence[str], reflection_text_id: str | None
    ) -> None:
        """The leader reflects and links the experience to their goals (again allowed
        until completion: the latest debrief stands)."""
        if self.state == COMPLETED:
            raise RotationClosed(f"rotation {self.id} is completed")
        goals = tuple(dict.fromkeys(g for g in goal_competency_ids if g.strip()))
        if not goals:
            raise GoalLinkRequired("link at least one goal competency id")
        if not reflection_text_id:
            raise ReflectionRequired("write the reflection of the debrief")
        self._record(
            RotationDebriefed(
                rotation_id=self.id,
                relationship_id=self.relationship_id,
                goal_competency_ids=goals,
                reflection_text_id=reflection_text_id,
            )
        )

    def complete(self, completed_on: date) -> None:
        if self.state == COMPLETED:
            raise RotationClosed(f"rotation {self.id} is completed")
        if self.state != DEBRIEFED:
            raise DebriefRequired(f"rotation {self.id} has no debrief yet")
        self._record(
            d.RotationCompleted(
                rotation_id=self.id,
                relationship_id=self.relationship_id,
                completed_on=completed_on,
            )
        )

    # -- state ----------------------------------------------------------------------

    def when_RotationAssigned(self, e: RotationAssigned) -> None:
        self.assigned = e

    def when_RotationDebriefed(self, _e: RotationDebriefed) -> None:
        self.state = DEBRIEFED

    def when_RotationCompleted(self, _e: d.RotationCompleted) -> None:
        self.state = COMPLETED
