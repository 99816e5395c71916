"""A milestone: a concrete, time-bound step towards one objective of the learning
contract, with success criteria, a status, evidence, and who confirmed achievement."""

from __future__ import annotations

from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, Forbidden
from contracts.sessions import development as d
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import (
    require_not_after,
    require_not_before,
)

OPEN, ACHIEVED, MISSED = "open", "achieved", "missed"


@registry.override
class MilestoneSet(d.MilestoneSet):
    label_text_id: str
    criteria_text_id: str


@registry.override
class MilestoneAchieved(d.MilestoneAchieved):
    evidence_text_id: str


class DueDateInPast(DomainError):
    code = "DueDateInPast"
    title = "A milestone is due on or after the day it is set"


class BeforeMilestoneSet(DomainError):
    code = "BeforeMilestoneSet"
    title = "A milestone is achieved on or after the day it was set"


class CriteriaRequired(DomainError):
    code = "CriteriaRequired"
    title = "A milestone needs at least one success criterion"


class UnknownObjective(DomainError):
    code = "UnknownObjective"
    title = "The learning contract has no such objective"


class EvidenceRequired(DomainError):
    code = "EvidenceRequired"
    title = "Achievement needs evidence"


class ConfirmerNotEligible(Forbidden):
    code = "ConfirmerNotEligible"
    title = "Achievement is confirmed by the mentor or a coordinator"


class MilestoneClosed(DomainError):
    code = "MilestoneClosed"
    title = "The milestone is already achieved or missed"


class NotYetDue(DomainError):
    code = "NotYetDue"
    title = "A milestone is missed only once its due date has passed"


class NotAchieved(DomainError):
    code = "NotAchieved"
    title = "Only an achieved milestone has a certificate"


class Milestone(Aggregate):
    def initial_state(self) -> None:
        self.set_event: MilestoneSet | None = None
        self.state = OPEN
        # No progress reported yet: the first report, in_progress included, is
        # recorded (the read model has no progress until one is).
        self.status: str | None = None
        self.achieved: MilestoneAchieved | None = None

    @classmethod
    def set(
        cls,
        milestone_id: str,
        tenant: str,
        *,
        relationship_id: str,
        mentee_id: str,
        objective_index: int,
        objectives: int,
        due_on: date,
        criteria: list[str],
        label_text_id: str,
        criteria_text_id: str,
        today: date,
        started_on: date,
        set_on: date | None = None,
    ) -> Milestone:
        """Tied to an objective of the contract, with criteria, due on or after the
        day it is set (and after the relationship started).

        ``today`` is the UTC calendar day (the service's day everywhere: sessions
        keep no tenant time zone), so a milestone due today is accepted. ``set_on``
        records one agreed earlier (history): not after today, not before the
        relationship started; absent, it was set ``today``.
        """
        if not 0 <= objective_index < objectives:
            raise UnknownObjective(
                f"objective {objective_index} is not one of the {objectives} "
                "objectives of the contract"
            )
        if set_on is not None:
            require_not_after(set_on, today, "set_on")
            require_not_before(set_on, started_on, "a milestone set", "set_on")
        agreed = set_on or today
        if due_on < agreed:
            raise DueDateInPast(
                f"due_on {due_on} is before the day it is set ({agreed})",
                field="due_on",
            )
        require_not_before(due_on, started_on, "a milestone due")
        if not [c for c in criteria if c.strip()]:
            raise CriteriaRequired("list at least one success criterion")
        milestone = cls(milestone_id, tenant)
        milestone.initial_state()
        milestone._record(
            MilestoneSet(
                milestone_id=milestone_id,
                relationship_id=relationship_id,
                mentee_id=mentee_id,
                objective_index=objective_index,
                due_on=due_on,
                criteria=len([c for c in criteria if c.strip()]),
                label_text_id=label_text_id,
                criteria_text_id=criteria_text_id,
                set_on=agreed,
            )
        )
        return milestone

    @property
    def relationship_id(self) -> str:
        assert self.set_event is not None
        return self.set_event.relationship_id

    @property
    def set_on(self) -> date | None:
        """The day it was set (None in events recorded before effective dates)."""
        assert self.set_event is not None
        return self.set_event.set_on

    @property
    def due_on(self) -> date:
        assert self.set_event is not None
        return self.set_event.due_on

    def _require_open(self) -> None:
        if self.state != OPEN:
            raise MilestoneClosed(f"milestone {self.id} is {self.state}")

    def progress(self, status: d.MilestoneStatus) -> None:
        self._require_open()
        if status == self.status:
            return
        self._record(
            d.MilestoneProgressed(
                milestone_id=self.id,
                relationship_id=self.relationship_id,
                status=status,
            )
        )

    def miss(self, today: date) -> None:
        self._require_open()
        if today <= self.due_on:
            raise NotYetDue(f"milestone {self.id} is due on {self.due_on}")
        self._record(
            d.MilestoneMissed(
                milestone_id=self.id,
                relationship_id=self.relationship_id,
                due_on=self.due_on,
            )
        )

    def achieve(
        self,
        by: str,
        *,
        mentor_id: str,
        is_coordinator: bool,
        evidence_text_id: str | None,
        achieved_on: date,
        today: date,
        started_on: date,
    ) -> None:
        """The mentor or a coordinator confirms, with evidence; the mentee alone can't.

        ``achieved_on`` (effective date) is not after ``today`` and not before the
        milestone was set (when its event says; else not before ``started_on``, the
        relationship's start)."""
        self._require_open()
        if by == mentor_id:
            role = d.ConfirmerRole.MENTOR
        elif is_coordinator:
            role = d.ConfirmerRole.COORDINATOR
        else:
            raise ConfirmerNotEligible(
                "the mentor or a coordinator must confirm this milestone"
            )
        if not evidence_text_id:
            raise EvidenceRequired("describe the evidence of achievement")
        require_not_after(achieved_on, today, "achieved_on")
        if self.set_on is not None and achieved_on < self.set_on:
            raise BeforeMilestoneSet(
                f"achieved_on {achieved_on} is before the milestone was set on "
                f"{self.set_on}",
                field="achieved_on",
                set_on=self.set_on.isoformat(),
            )
        require_not_before(
            achieved_on, started_on, "a milestone achieved", "achieved_on"
        )
        assert self.set_event is not None
        self._record(
            MilestoneAchieved(
                milestone_id=self.id,
                relationship_id=self.relationship_id,
                mentee_id=self.set_event.mentee_id,
                confirmed_by=by,
                confirmer_role=role,
                achieved_on=achieved_on,
                on_time=achieved_on <= self.due_on,
                evidence_text_id=evidence_text_id,
            )
        )

    def require_achieved(self) -> MilestoneAchieved:
        if self.achieved is None:
            raise NotAchieved(f"milestone {self.id} is {self.state}")
        return self.achieved

    # -- state ----------------------------------------------------------------------

    def when_MilestoneSet(self, e: MilestoneSet) -> None:
        self.set_event = e

    def when_MilestoneProgressed(self, e: d.MilestoneProgressed) -> None:
        self.status = e.status

    def when_MilestoneAchieved(self, e: MilestoneAchieved) -> None:
        self.state, self.achieved = ACHIEVED, e

    def when_MilestoneMissed(self, _e: d.MilestoneMissed) -> None:
        self.state = MISSED
