"""A matching round's own stream: started, progressed, completed, re-run with pins."""

from __future__ import annotations

from chassis.aggregate import Aggregate
from chassis.errors import DomainError
from contracts import matching as m


class RoundNotFinished(DomainError):
    code = "RoundNotFinished"
    title = "The round is still running"


class Round(Aggregate):
    def initial_state(self) -> None:
        self.started: m.RoundStarted | None = None
        self.completed: m.RoundCompleted | None = None
        self.failed: m.RoundFailed | None = None
        self.phase = "queued"
        self.done = 0
        self.total = 0
        self.pinned: set[tuple[str, str]] = set()

    @classmethod
    def start(
        cls,
        tenant: str,
        started: m.RoundStarted,
        pins: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> Round:
        """Start a round; ``pins`` are (mentee, mentor) pairs a coordinator fixed."""
        round_ = cls(started.round_id, tenant)
        round_.initial_state()
        round_._record(started)
        for mentee_id, mentor_id in dict.fromkeys(pins):
            round_._record(
                m.PairPinned(
                    round_id=round_.id, mentor_id=mentor_id, mentee_id=mentee_id
                )
            )
        return round_

    @property
    def finished(self) -> bool:
        return self.completed is not None or self.failed is not None

    def progress(self, phase: str, done: int, total: int) -> None:
        if (phase, done, total) != (self.phase, self.done, self.total):
            self._record(
                m.RoundProgressed(round_id=self.id, phase=phase, done=done, total=total)
            )

    def complete(self, completed: m.RoundCompleted) -> None:
        self._record(completed)

    def fail(self, error: str) -> None:
        """Record that the round stopped (once; a finished round cannot fail)."""
        if self.finished or self.started is None:
            return
        self._record(
            m.RoundFailed(
                round_id=self.id, cohort_id=self.started.cohort_id, error=error[:2000]
            )
        )

    def when_RoundFailed(self, e: m.RoundFailed) -> None:
        self.failed = e
        self.phase = "failed"

    def when_RoundStarted(self, e: m.RoundStarted) -> None:
        self.started = e
        self.phase = "started"

    def when_RoundProgressed(self, e: m.RoundProgressed) -> None:
        self.phase, self.done, self.total = e.phase, e.done, e.total

    def when_RoundCompleted(self, e: m.RoundCompleted) -> None:
        self.completed = e
        self.phase = "done"

    def when_PairPinned(self, e: m.PairPinned) -> None:
        self.pinned.add((e.mentee_id, e.mentor_id))
