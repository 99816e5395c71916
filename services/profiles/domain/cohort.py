"""A cohort: a segment of the programme with a pathway, mentee seats, eligibility
rules and a visible waiting list served first come, first served."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chassis.aggregate import Aggregate
from chassis.errors import FieldError, NotFound, ValidationFailed
from contracts import profiles as c
from contracts.api.profiles import CohortIn
from contracts.profiles import PathwayStage, ProgrammeRole
from services.profiles.domain.eligibility import Applicant, reasons_not_eligible
from services.profiles.domain.errors import (
    AlreadyParticipating,
    CapacityBelowLoad,
    InvalidTransition,
    NotEligible,
)

STAGES = tuple(PathwayStage)  # in pathway order


class Cohort(Aggregate):
    def initial_state(self) -> None:
        self.definition: c.CohortCreated | None = None
        self.capacity = 0
        self.stage = PathwayStage.INTAKE
        self.participants: dict[str, ProgrammeRole] = {}  # person id → role (admitted)
        self.waiting: list[str] = []  # person ids in arrival order

    @classmethod
    def create(cls, cohort_id: str, tenant: str, definition: CohortIn) -> Cohort:
        cohort = cls(cohort_id, tenant)
        cohort.initial_state()
        event = c.CohortCreated(cohort_id=cohort_id, **definition.model_dump())
        problems = []
        if not event.name.strip():
            problems.append(FieldError("name", "must not be empty"))
        rules = event.eligibility
        if rules.min_level and rules.max_level and rules.min_level > rules.max_level:
            problems.append(FieldError("eligibility.min_level", "above max_level"))
        for i, phase in enumerate(event.pathway):
            if phase.ends_on < phase.starts_on:
                problems.append(FieldError(f"pathway.{i}.ends_on", "before starts_on"))
        stages = [p.stage for p in event.pathway]
        if stages != sorted(stages, key=STAGES.index) or len(set(stages)) != len(
            stages
        ):
            problems.append(
                FieldError("pathway", "stages must be in pathway order, once")
            )
        if problems:
            raise ValidationFailed(problems)
        cohort._record(event)
        return cohort

    @property
    def mentees(self) -> list[str]:
        return [
            p for p, role in self.participants.items() if role == ProgrammeRole.MENTEE
        ]

    def waiting_position(self, person_id: str) -> int | None:
        return self.waiting.index(person_id) + 1 if person_id in self.waiting else None

    def check(self, who: Applicant, role: ProgrammeRole, today: date) -> list[str]:
        """Why ``who`` could not join as ``role`` (empty when they could)."""
        assert self.definition is not None
        reasons = []
        if role not in who.roles:
            reasons.append(f"the person does not hold the {role} role")
        if role == ProgrammeRole.MENTEE:
            reasons += reasons_not_eligible(self.definition.eligibility, who, today)
        elif not who.active:
            reasons.append("the person is not active")
        if self.stage == PathwayStage.CLOSED:
            reasons.append("the cohort is closed")
        return reasons

    def apply(
        self,
        who: Applicant,
        role: ProgrammeRole,
        today: date,
        admitted_on: date | None = None,
    ) -> None:
        """Admit an eligible applicant, or queue a mentee when every seat is taken.

        ``admitted_on`` is the day the admission took effect (default ``today``),
        carried by ``ParticipantAdmitted``. A past day records history (a programme
        brought over from last year); eligibility is then judged as of that day
        (tenure). A day before the cohort was created in Tandem is allowed: the
        cohort's record is younger than the programme it holds. Refused, with a
        ``ValidationFailed`` naming ``admitted_on`` and nothing recorded: a day
        after ``today``, a day before the person's hire date, and a dated admission
        when every seat is taken (a fact of the past does not wait in a queue).
        """
        if who.person_id in self.participants or who.person_id in self.waiting:
            raise AlreadyParticipating(
                f"{who.person_id} is already in cohort {self.id}"
            )
        day = admitted_on or today
        problems = []
        if day > today:
            problems.append(FieldError("admitted_on", "must not be in the future"))
        elif who.hire_date is not None and day < who.hire_date:
            problems.append(
                FieldError(
                    "admitted_on",
                    f"before the person's hire date ({who.hire_date.isoformat()})",
                )
            )
        if problems:
            raise ValidationFailed(problems)
        reasons = self.check(who, role, day)
        if reasons:
            raise NotEligible(reasons)
        if role == ProgrammeRole.MENTEE and len(self.mentees) >= self.capacity:
            if admitted_on is not None and admitted_on < today:
                raise ValidationFailed(
                    [
                        FieldError(
                            "admitted_on",
                            "every seat is taken: a past admission cannot be "
                            "placed on the waiting list (raise the capacity first)",
                        )
                    ]
                )
            self._record(
                c.ParticipantWaitlisted(
                    cohort_id=self.id, person_id=who.person_id, role=role
                )
            )
            return
        self._record(
            c.ParticipantAdmitted(
                cohort_id=self.id,
                person_id=who.person_id,
                role=role,
                admitted_on=day,
            )
        )

    def withdraw(self, person_id: str, reason: str | None = None) -> None:
        if person_id not in self.participants and person_id not in self.waiting:
            raise NotFound(f"{person_id} is not in cohort {self.id}")
        self._record(
            c.ParticipantWithdrew(cohort_id=self.id, person_id=person_id, reason=reason)
        )
        self._fill_seats()

    def change_capacity(self, capacity: int) -> None:
        if capacity < 1:
            raise ValidationFailed([FieldError("capacity", "must be at least 1")])
        if capacity < len(self.mentees):
            raise CapacityBelowLoad("cohort", capacity, len(self.mentees))
        if capacity != self.capacity:
            self._record(c.CohortCapacityChanged(cohort_id=self.id, capacity=capacity))
            self._fill_seats()

    def advance(self, stage: PathwayStage) -> None:
        if stage not in STAGES:
            raise ValidationFailed([FieldError("stage", f"one of {', '.join(STAGES)}")])
        if STAGES.index(stage) <= STAGES.index(self.stage):
            raise InvalidTransition(
                f"cohort is already at {self.stage}; cannot go to {stage}"
            )
        self._record(c.CohortStageAdvanced(cohort_id=self.id, stage=stage))

    def forget(self, person_id: str) -> None:
        """An erased person leaves the cohort (their seat goes to the waiting list).

        No reason is recorded: anything said about them now would have to be sealed
        with a key that no longer exists; their ``PersonErased`` says why.
        """
        if person_id in self.participants or person_id in self.waiting:
            self.withdraw(person_id)

    def _fill_seats(self) -> None:
        """People waiting take freed seats, admitted the day they take them."""
        today = datetime.now(UTC).date()
        while (
            self.waiting
            and len(self.mentees) < self.capacity
            and self.stage != PathwayStage.CLOSED
        ):
            self._record(
                c.ParticipantAdmitted(
                    cohort_id=self.id,
                    person_id=self.waiting[0],
                    role=ProgrammeRole.MENTEE,
                    from_waiting_list=True,
                    admitted_on=today,
                )
            )

    # -- state changes ---------------------------------------------------------------

    def when_CohortCreated(self, e: c.CohortCreated) -> None:
        self.definition = e
        self.capacity = e.capacity

    def when_CohortCapacityChanged(self, e: c.CohortCapacityChanged) -> None:
        self.capacity = e.capacity

    def when_CohortStageAdvanced(self, e: c.CohortStageAdvanced) -> None:
        self.stage = e.stage

    def when_ParticipantAdmitted(self, e: c.ParticipantAdmitted) -> None:
        if e.person_id in self.waiting:
            self.waiting.remove(e.person_id)
        self.participants[e.person_id] = e.role

    def when_ParticipantWaitlisted(self, e: c.ParticipantWaitlisted) -> None:
        self.waiting.append(e.person_id)

    def when_ParticipantWithdrew(self, e: c.ParticipantWithdrew) -> None:
        self.participants.pop(e.person_id, None)
        if e.person_id in self.waiting:
            self.waiting.remove(e.person_id)
