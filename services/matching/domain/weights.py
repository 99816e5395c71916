"""A cohort's matching weights: the criterion weights its rounds start from, changed
only by an audited ``MatchingWeightsApplied`` (who and when in its envelope, from
which suggestion and evidence in its payload). The stream's events are the cohort's
weights history.

``compare`` sets two rounds of the same cohort side by side (a preview: nothing is
recorded): each one's pairs, total and mean score, and how many mentees the two pair
differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import FieldError, ValidationFailed
from contracts import matching as m
from contracts.matching import Criterion, ProgrammeType
from services.matching.domain.config import CRITERIA, MatchingConfig
from services.matching.domain.round import MatchingRound

MAX_WEIGHT = 100.0


def stream_id(cohort_id: str) -> str:
    return f"matching-weights-{cohort_id}"


def checked(
    weights: Mapping[Criterion, float], path: str = "weights"
) -> dict[str, float]:
    """The weights as a full map of criteria, or a typed refusal naming each bad one
    (a criterion left out weighs 0)."""
    found: list[FieldError] = []
    for criterion, weight in weights.items():
        if not 0 <= weight <= MAX_WEIGHT:
            found.append(
                FieldError(
                    f"{path}.{criterion}", f"must be between 0 and {MAX_WEIGHT:g}"
                )
            )
    if not found and sum(weights.values()) <= 0:
        found.append(FieldError(path, "at least one weight must be positive"))
    if found:
        raise ValidationFailed(found)
    return {c: float(weights.get(Criterion(c), 0.0)) for c in CRITERIA}


def effective(
    programme_type: ProgrammeType, weights: Mapping[str, float]
) -> MatchingConfig:
    """The configuration a round of the cohort uses with ``weights`` (empty: the
    programme's preset)."""
    return MatchingConfig.for_programme(programme_type, weights=dict(weights))


class CohortWeights(Aggregate):
    def initial_state(self) -> None:
        self.cohort_id = ""
        self.weights: dict[str, float] = {}  # empty: the programme's preset
        self.applied: list[m.MatchingWeightsApplied] = []

    @classmethod
    def of(cls, cohort_id: str, tenant: str) -> CohortWeights:
        found = cls(stream_id(cohort_id), tenant)
        found.initial_state()
        found.cohort_id = cohort_id
        return found

    def apply(
        self,
        weights: Mapping[Criterion, float],
        *,
        source: m.WeightsSource,
        suggested_on: date | None = None,
        basis: Sequence[m.WeightBasis] = (),
        preset: Mapping[str, float] | None = None,
    ) -> m.MatchingWeightsApplied:
        """Set the cohort's weights; the weights it already uses (``preset``, the
        programme's, until a first change) are refused: nothing would change, and
        the history would say something happened."""
        full = checked(weights)
        now = self.weights or {c: float((preset or {}).get(c, 0.0)) for c in CRITERIA}
        if full == now:
            raise ValidationFailed(
                [FieldError("weights", "these are already the cohort's weights")]
            )
        event = m.MatchingWeightsApplied(
            cohort_id=self.cohort_id,
            weights={Criterion(c): w for c, w in full.items()},
            previous={Criterion(c): w for c, w in self.weights.items()},
            source=source,
            suggested_on=suggested_on,
            basis=list(basis),
        )
        self._record(event)
        return event

    def when_MatchingWeightsApplied(self, e: m.MatchingWeightsApplied) -> None:
        self.cohort_id = e.cohort_id
        self.weights = {str(c.value if isinstance(c, Criterion) else c): w
                        for c, w in e.weights.items()}  # fmt: skip
        self.applied.append(e)


@dataclass(frozen=True)
class Side:
    """One round of a preview: its weights (summing to 1) and its pairs."""

    weights: dict[str, float]
    pairs: dict[str, tuple[str, float]]  # mentee → (mentor, score)
    unmatched: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(score for _mentor, score in self.pairs.values())

    @property
    def mean(self) -> float | None:
        return self.total / len(self.pairs) if self.pairs else None


def side(config: MatchingConfig, round_: MatchingRound) -> Side:
    return Side(
        weights=config.normalised_weights,
        pairs={p.mentee_id: (p.mentor_id, p.score) for p in round_.pairs},
        unmatched=round_.unmatched,
    )


def differing(a: Side, b: Side) -> list[str]:
    """The mentees the two rounds pair differently (another mentor, or one pairs
    and the other does not), in id order."""
    mentees = set(a.pairs) | set(b.pairs)
    return sorted(
        e
        for e in mentees
        if (a.pairs.get(e) or ("",))[0] != (b.pairs.get(e) or ("",))[0]
    )
