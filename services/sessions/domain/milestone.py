"""A milestone: a concrete, time-bound step towards one objective of the learning
contract, with success criteria, a status, evidence, and who confirmed achievement."""

from __future__ import annotations

from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import DomainError, Forbidden
from contracts.sessions import development as d
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import require_not_before

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
    title = "A milestone is due in the future when it is set"


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
    ) -> Milestone:
        """Tied to an objective of the contract, due in the future (and after the
        relationship started), with criteria."""
        if not 0 <= objective_index < objectives:
            raise UnknownObjective(
                f"objective {objective_index} is not one of the {objectives} "
                "objectives of the contract"
            )
        if due_on <= today:
            raise DueDateInPast(f"due_on {due_on} is not after {today}")
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
            )
        )
        return milestone

    @property
    def relationship_id(self) -> str:
        assert self.set_event is not None
        return self.set_event.relationship_id

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
    ) -> None:
        """The mentor or a coordinator confirms, with evidence; the mentee alone can't."""
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
