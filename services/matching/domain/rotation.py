"""A rotation plan: a mentee moves through several mentors, one per cycle.

The point of a rotation is breadth, so a plan never names the same mentor twice and
never the mentee themself. Cycles follow one another without a gap: each starts the
day after the previous one ends. A new plan for the same mentee is a new stream; the
latest one is the mentee's plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from chassis.aggregate import Aggregate
from chassis.errors import DomainError
from contracts import matching as m

MIN_CYCLES, MAX_CYCLES = 2, 6
MIN_CYCLE_WEEKS, MAX_CYCLE_WEEKS = 2, 26


class RotationRepeatsMentor(DomainError):
    code = "RotationRepeatsMentor"
    title = "A rotation names each mentor once"


class InvalidRotation(DomainError):
    code = "InvalidRotation"
    title = "The rotation plan is not valid"


class RotationPlan(Aggregate):
    def initial_state(self) -> None:
        self.planned: m.RotationPlanned | None = None

    @classmethod
    def plan(
        cls,
        tenant: str,
        plan_id: str,
        mentee_id: str,
        mentor_ids: Sequence[str],
        *,
        starts_on: date,
        cycle_weeks: int,
        cohort_id: str | None = None,
    ) -> RotationPlan:
        """Plan one cycle per mentor, in the order given, back to back."""
        repeated = sorted(x for x, n in Counter(mentor_ids).items() if n > 1)
        if repeated:
            raise RotationRepeatsMentor(
                f"mentor(s) {', '.join(repeated)} appear more than once",
                mentor_ids=repeated,
            )
        if mentee_id in mentor_ids:
            raise InvalidRotation("a mentee cannot be their own mentor")
        if not MIN_CYCLES <= len(mentor_ids) <= MAX_CYCLES:
            raise InvalidRotation(
                f"a rotation has {MIN_CYCLES} to {MAX_CYCLES} cycles, "
                f"not {len(mentor_ids)}"
            )
        if not MIN_CYCLE_WEEKS <= cycle_weeks <= MAX_CYCLE_WEEKS:
            raise InvalidRotation(
                f"a cycle lasts {MIN_CYCLE_WEEKS} to {MAX_CYCLE_WEEKS} weeks"
            )
        length = timedelta(weeks=cycle_weeks)
        cycles = [
            m.RotationCycle(
                cycle=n,
                mentor_id=mentor_id,
                starts_on=starts_on + (n - 1) * length,
                ends_on=starts_on + n * length - timedelta(days=1),
            )
            for n, mentor_id in enumerate(mentor_ids, start=1)
        ]
        plan = cls(plan_id, tenant)
        plan.initial_state()
        plan._record(
            m.RotationPlanned(
                plan_id=plan_id, mentee_id=mentee_id, cohort_id=cohort_id, cycles=cycles
            )
        )
        return plan

    @property
    def mentor_ids(self) -> list[str]:
        return [c.mentor_id for c in self.planned.cycles] if self.planned else []

    def when_RotationPlanned(self, e: m.RotationPlanned) -> None:
        self.planned = e
