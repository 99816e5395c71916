"""The seat rules of a cohort hold for every sequence of commands (Hypothesis):
admitted mentees never exceed the capacity, nobody waits while a seat is free (until
the cohort closes), a person is in a cohort once, and a refused command changes
nothing. Replaying the recorded events gives the same cohort."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chassis.errors import TandemError
from services.profiles.domain.cohort import STAGES, Cohort
from tests.profiles.test_domain import TODAY, applicant, cohort

PEOPLE = [f"p{n}" for n in range(8)]


class CohortSeats(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cohort: Cohort = cohort(capacity=2)
        self.history = list(self.cohort.collect_pending())

    def _attempt(self, command) -> None:  # type: ignore[no-untyped-def]
        before = (
            self.cohort.version,
            dict(self.cohort.participants),
            list(self.cohort.waiting),
            self.cohort.capacity,
            self.cohort.stage,
        )
        try:
            command()
        except TandemError:
            after = (
                self.cohort.version,
                dict(self.cohort.participants),
                list(self.cohort.waiting),
                self.cohort.capacity,
                self.cohort.stage,
            )
            assert after == before, "a refused command changed the cohort"
        self.history += self.cohort.collect_pending()

    @rule(person=st.sampled_from(PEOPLE), role=st.sampled_from(["mentee", "mentor"]))
    def join(self, person: str, role: str) -> None:
        who = applicant(person, roles=("mentee", "mentor"))
        self._attempt(lambda: self.cohort.apply(who, role, TODAY))

    @rule(person=st.sampled_from(PEOPLE))
    def withdraw(self, person: str) -> None:
        self._attempt(lambda: self.cohort.withdraw(person, "moved on"))

    @rule(capacity=st.integers(min_value=0, max_value=5))
    def change_capacity(self, capacity: int) -> None:
        self._attempt(lambda: self.cohort.change_capacity(capacity))

    @rule(stage=st.sampled_from(STAGES))
    def advance(self, stage: str) -> None:
        self._attempt(lambda: self.cohort.advance(stage))

    @invariant()
    def seats_are_never_overfilled(self) -> None:
        assert len(self.cohort.mentees) <= self.cohort.capacity

    @invariant()
    def nobody_waits_for_a_free_seat(self) -> None:
        free = len(self.cohort.mentees) < self.cohort.capacity
        assert not (free and self.cohort.waiting and self.cohort.stage != "closed")

    @invariant()
    def a_person_is_in_the_cohort_once(self) -> None:
        waiting = self.cohort.waiting
        assert len(set(waiting)) == len(waiting)
        assert not set(waiting) & set(self.cohort.participants)

    @invariant()
    def replay_equals_live(self) -> None:
        replayed = Cohort.rebuild(self.cohort.id, self.cohort.tenant, self.history)
        assert replayed.participants == self.cohort.participants
        assert replayed.waiting == self.cohort.waiting
        assert replayed.capacity == self.cohort.capacity


TestCohortSeats = CohortSeats.TestCase
TestCohortSeats.settings = settings(max_examples=150, stateful_step_count=30)
