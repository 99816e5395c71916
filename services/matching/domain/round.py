"""A matching round: encode, score every pair, apply the rules, optimise, report.

``run_round`` is what the matching service calls; it returns a ``MatchingRound``
holding the proposed pairs (each explainable on demand), the unmatched mentees, the
fairness outcome and, for group programmes, the circles. Progress is reported
through ``progress(phase, done, total)`` (phases: encode, score, rules, optimise,
fairness, done), which the service can publish as ``RoundProgressed`` events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from chassis.errors import NotFound
from services.matching.domain.candidates import MenteeProfile, MentorProfile, PairRef
from services.matching.domain.circles import Circle, circles
from services.matching.domain.config import MatchingConfig
from services.matching.domain.encoding import (
    EncodedCohort,
    Progress,
    encode,
    no_progress,
)
from services.matching.domain.fairness import FairnessOutcome, group_labels, rebalance
from services.matching.domain.optimiser import UNMATCHED, Solution, with_pins
from services.matching.domain.rules import Feasibility, feasibility, violations
from services.matching.domain.scoring import (
    Explanation,
    explain,
    explain_pairs,
    score_matrix,
)
from services.matching.domain.suggestions import SuggestionBoard


@dataclass(frozen=True)
class ProposedPair:
    mentee_id: str
    mentor_id: str
    score: float
    pinned: bool = False


@dataclass(frozen=True)
class MatchingRound:
    encoded: EncodedCohort
    scores: np.ndarray  # (mentees x mentors) total scores
    feasibility: Feasibility
    solution: Solution
    pairs: tuple[ProposedPair, ...]
    unmatched: tuple[str, ...]
    fairness: FairnessOutcome | None = None
    circles: tuple[Circle, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)
    forbidden: tuple[PairRef, ...] = ()

    @property
    def total_score(self) -> float:
        return self.solution.total

    def explain(
        self, mentee_id: str, mentor_id: str, names: Mapping[str, str] | None = None
    ) -> Explanation:
        """Why this pair scores what it does (any pair, proposed or not)."""
        i, j = self._indices(mentee_id, mentor_id)
        return explain(self.encoded, i, j, names)

    def explained_pairs(
        self, names: Mapping[str, str] | None = None
    ) -> Iterator[tuple[ProposedPair, Explanation]]:
        """Every proposed pair with its explanation (for ``PairingProposed``)."""
        pairs = self.pairs
        indices = [self._indices(p.mentee_id, p.mentor_id) for p in pairs]
        yield from zip(pairs, explain_pairs(self.encoded, indices, names), strict=True)

    def why_not(self, mentee_id: str, mentor_id: str) -> list[str]:
        """The rules that keep this pair out of the round; empty if none do."""
        i, j = self._indices(mentee_id, mentor_id)
        return violations(self.encoded, i, j, self.forbidden, float(self.scores[i, j]))

    def suggestions(
        self,
        top_n: int = 5,
        exposure_per_seat: int = 3,
        dismissed: Mapping[str, Iterable[str]] | None = None,
    ) -> SuggestionBoard:
        """Self-service suggestion lists on this round's scores and rules."""
        return SuggestionBoard(
            self.encoded,
            self.scores,
            self.feasibility.mask,
            top_n,
            exposure_per_seat,
            dismissed,
        )

    def _indices(self, mentee_id: str, mentor_id: str) -> tuple[int, int]:
        i = self.encoded.mentee_index.get(mentee_id)
        j = self.encoded.mentor_index.get(mentor_id)
        if i is None or j is None:
            raise NotFound(f"{mentee_id} with {mentor_id} is not a pair of this round")
        return i, j


def run_round(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    config: MatchingConfig | None = None,
    *,
    forbidden: Iterable[PairRef | tuple[str, str]] = (),
    pinned: Iterable[PairRef | tuple[str, str]] = (),
    competency_names: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> MatchingRound:
    """Pair a whole cohort. ``forbidden`` and ``pinned`` are (mentee_id, mentor_id)."""
    config = (config or MatchingConfig()).validated()
    report = progress or no_progress
    refused = tuple(PairRef(*p) for p in forbidden)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    enc = encode(mentees, mentors, config, competency_names, report)
    lap("encode")
    scores = score_matrix(enc, report)
    lap("score")
    report("rules", 0, 1)
    rules = feasibility(enc, scores, refused, pinned)
    report("rules", 1, 1)
    lap("rules")

    def solver(weights: np.ndarray) -> Solution:
        return with_pins(
            scores, rules.mask, enc.capacity, rules.pinned, config.mode, report, weights
        )

    outcome = None
    if config.fairness is not None:
        labels = group_labels(enc, config.fairness.group_by)
        ids = [p.person_id for p in enc.mentees]
        solution, outcome = rebalance(
            scores, labels, config.fairness, solver, report, ids
        )
    else:
        solution = solver(scores)
    lap("optimise")
    pinned_rows = {i for i, _ in rules.pinned}
    mentor_of = solution.mentor_of
    pairs = tuple(
        ProposedPair(
            mentee_id=enc.mentees[i].person_id,
            mentor_id=enc.mentors[j].person_id,
            score=float(scores[i, j]),
            pinned=i in pinned_rows,
        )
        for i, j in enumerate(mentor_of.tolist())
        if j != UNMATCHED
    )
    unmatched = tuple(
        enc.mentees[i].person_id for i in np.flatnonzero(mentor_of == UNMATCHED)
    )
    groups = tuple(circles(enc, mentor_of)) if config.programme_type == "group" else ()
    report("done", 1, 1)
    return MatchingRound(
        encoded=enc,
        scores=scores,
        feasibility=rules,
        solution=solution,
        pairs=pairs,
        unmatched=unmatched,
        fairness=outcome,
        circles=groups,
        timings_s=timings,
        forbidden=refused,
    )
