"""Coordinators' overrides and mentees' dismissals, which every later round respects."""

from __future__ import annotations

from chassis.aggregate import Aggregate
from contracts import matching as m


def cohort_rules_id(tenant: str, cohort_id: str | None) -> str:
    return f"rules-{tenant}-{cohort_id or 'all'}"


def choices_id(mentee_id: str) -> str:
    return f"choices-{mentee_id}"


class CohortRules(Aggregate):
    """Pairs a coordinator forbade in a cohort (never proposed again)."""

    def initial_state(self) -> None:
        self.cohort_id: str | None = None
        self.forbidden: set[tuple[str, str]] = set()

    @classmethod
    def start(cls, tenant: str, cohort_id: str | None) -> CohortRules:
        rules = cls(cohort_rules_id(tenant, cohort_id), tenant)
        rules.initial_state()
        rules.cohort_id = cohort_id
        return rules

    def forbid(self, mentor_id: str, mentee_id: str, reason: m.ReasonCode) -> None:
        if (mentor_id, mentee_id) not in self.forbidden:
            self._record(
                m.PairForbidden(
                    cohort_id=self.cohort_id,
                    mentor_id=mentor_id,
                    mentee_id=mentee_id,
                    reason=reason,
                )
            )

    def when_PairForbidden(self, e: m.PairForbidden) -> None:
        self.cohort_id = e.cohort_id
        self.forbidden.add((e.mentor_id, e.mentee_id))


class MenteeChoices(Aggregate):
    """Suggestions a mentee dismissed: they are not offered again."""

    def initial_state(self) -> None:
        self.dismissed: set[str] = set()

    @classmethod
    def start(cls, tenant: str, mentee_id: str) -> MenteeChoices:
        choices = cls(choices_id(mentee_id), tenant)
        choices.initial_state()
        return choices

    def dismiss(self, mentee_id: str, mentor_id: str) -> None:
        if mentor_id not in self.dismissed:
            self._record(
                m.SuggestionDismissed(mentee_id=mentee_id, mentor_id=mentor_id)
            )

    def when_SuggestionDismissed(self, e: m.SuggestionDismissed) -> None:
        self.dismissed.add(e.mentor_id)
