"""Every pair's score, criterion by criterion, for a whole cohort at once.

Each criterion is a vectorised function of (mentee rows, mentor columns) returning
values in [0, 1]; a pair's score is the weighted sum of its criteria with weights
summing to 1, so scores are in [0, 1] too:

- skills: the mentor is strong where the mentee wants to grow, each growth goal
  weighted by its gap (target minus current) — goal weights (nxk) @ strength (kxm).
- experience: the share of the experiences the mentee lacks (markets, functions,
  crises, industries) that the mentor has.
- perspective: different business unit, geography, function and (where both shared
  it) generation.
- style: the mentee's learning style against the mentor's leadership style.
- formats: the share of the mentee's preferred formats the mentor offers.
- availability: weekly shared availability in UTC, and monthly hours the mentor
  has per seat against the hours the mentee wants.
- goals: the share of the growth wanted (by gap) whose target level the mentor
  has reached, i.e. the mentor can take the mentee all the way.

``score_matrix`` scores every pair in chunks of mentees (bounded memory);
``explain`` recomputes one pair through the very same functions and words each part,
so the parts of an explanation add up to the matrix score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.matching.domain.config import CRITERIA, CRITERION_TITLES
from services.matching.domain.encoding import EncodedCohort, Progress, no_progress
from services.matching.domain.reasons import reason_for

Index = slice | np.ndarray
Criterion = Callable[[EncodedCohort, Index, Index], np.ndarray]
CHUNK_CELLS = 2_000_000  # pairs per chunk: bounds the temporaries to ~16 MB each


def skills(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    out: np.ndarray = np.clip(enc.goal_weight[rows] @ enc.strong[cols].T, 0.0, 1.0)
    return out


def goals(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    weights = enc.goal_weight_by_target[rows]
    out: np.ndarray = np.clip(weights @ enc.reaches[cols].T, 0.0, 1.0)
    return out


def experience(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    out: np.ndarray = np.clip(enc.lacking[rows] @ enc.experience[cols].T, 0.0, 1.0)
    return out


def perspective(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    differs = np.not_equal.outer
    out: np.ndarray = differs(enc.mentee_unit[rows], enc.mentor_unit[cols]).astype(
        np.float64
    )
    out += differs(enc.mentee_geo[rows], enc.mentor_geo[cols])
    out += differs(enc.mentee_function[rows], enc.mentor_function[cols])
    gi, gj = enc.mentee_generation[rows], enc.mentor_generation[cols]
    known = np.logical_and.outer(gi >= 0, gj >= 0)
    out += known & differs(gi, gj)
    out /= 3.0 + known
    return out


def style(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    out: np.ndarray = enc.style_affinity[
        np.ix_(enc.learning_style[rows], enc.leadership_style[cols])
    ]
    return out


def formats(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    wanted = enc.mentee_formats[rows]
    offered = enc.mentor_formats[cols]
    out: np.ndarray = np.clip(wanted @ offered.T, 0.0, 1.0)
    # An unstated side is neutral: no preference fits all; no offer fits half.
    out[:, offered.sum(axis=1) == 0] = 0.5
    out[wanted.sum(axis=1) == 0, :] = 1.0
    return out


def availability(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    overlap = np.minimum(
        shared_hours(enc, rows, cols) / enc.config.target_overlap_hours, 1.0
    )
    wanted = enc.mentee_hours[rows]
    hours = np.minimum(
        np.divide.outer(enc.hours_per_seat[cols], np.maximum(wanted, 1e-9)).T, 1.0
    )
    hours[wanted <= 0, :] = 1.0
    overlap *= AVAILABILITY_OVERLAP_SHARE
    hours *= 1 - AVAILABILITY_OVERLAP_SHARE
    overlap += hours
    return overlap


AVAILABILITY_OVERLAP_SHARE = 0.75

CRITERION_FUNCTIONS: dict[str, Criterion] = {
    "skills": skills,
    "experience": experience,
    "perspective": perspective,
    "style": style,
    "formats": formats,
    "availability": availability,
    "goals": goals,
}


def shared_hours(enc: EncodedCohort, rows: Index, cols: Index) -> np.ndarray:
    """Weekly hours both sides are available, from the distinct weekly patterns."""
    patterns = np.ix_(enc.mentee_pattern[rows], enc.mentor_pattern[cols])
    out: np.ndarray = enc.shared_hours[patterns]
    return out


def score_matrix(enc: EncodedCohort, progress: Progress | None = None) -> np.ndarray:
    """The (mentees x mentors) matrix of total scores, each in [0, 1]."""
    report = progress or no_progress
    n, m = enc.shape
    weights = enc.config.normalised_weights
    total = np.zeros((n, m), dtype=np.float64)
    step = max(1, CHUNK_CELLS // max(m, 1))
    cols = slice(0, m)
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        total[rows] = np.minimum(_weighted(enc, rows, cols, weights), 1.0)
        report("score", rows.stop, n)
    if n == 0:
        report("score", 0, 0)
    return total


def _weighted(
    enc: EncodedCohort, rows: Index, cols: Index, weights: Mapping[str, float]
) -> np.ndarray:
    out = None
    for name in CRITERIA:
        w = weights[name]
        if w == 0.0:
            continue
        part = CRITERION_FUNCTIONS[name](enc, rows, cols)
        part *= w
        if out is None:
            out = part
        else:
            out += part
    if out is None:
        raise AssertionError("weights are normalised, so one of them is positive")
    return out


@dataclass(frozen=True)
class Part:
    """One criterion's share of a pair's score: ``contribution = weight x value``."""

    criterion: str
    title: str
    weight: float
    value: float
    contribution: float
    reason: str

    def as_contract(self) -> dict[str, object]:
        """The ``ScorePart`` fields of the matching contract: numbers only (the
        reason quotes the two profiles, so it never goes into an event)."""
        return {
            "criterion": self.criterion,
            "weight": self.weight,
            "value": self.value,
            "contribution": self.contribution,
        }

    def described(self) -> dict[str, object]:
        """The contract fields with the reason, for a reader allowed to see both."""
        return {**self.as_contract(), "reason": self.reason}


@dataclass(frozen=True)
class Explanation:
    mentee_id: str
    mentor_id: str
    score: float
    parts: tuple[Part, ...]

    def contract_parts(self) -> list[dict[str, object]]:
        """The parts as ``ScorePart`` fields, for ``PairingProposed.parts``."""
        return [p.as_contract() for p in self.parts]

    def described_parts(self) -> list[dict[str, object]]:
        """The parts with their reasons (read models and answers, never events)."""
        return [p.described() for p in self.parts]

    def reasons(self) -> dict[str, str]:
        """criterion -> the sentence explaining it (kept privately beside a pairing)."""
        return {p.criterion: p.reason for p in self.parts}

    @property
    def summary(self) -> str:
        best = sorted(self.parts, key=lambda p: -p.contribution)[:2]
        return f"score {self.score:.2f}: " + "; ".join(
            f"{p.title.lower()} — {p.reason}" for p in best
        )


def explain(
    enc: EncodedCohort,
    mentee: int,
    mentor: int,
    names: Mapping[str, str] | None = None,
) -> Explanation:
    """Why this pair scores what it scores, criterion by criterion.

    ``names`` (person id → display name) may be given by a caller allowed to see
    names; otherwise the text says "the mentee" and "the mentor".
    """
    return explain_pairs(enc, [(mentee, mentor)], names)[0]


EXPLAIN_BLOCK = 16  # pairs per block: small, as a (block x block) product per criterion


def explain_pairs(
    enc: EncodedCohort,
    pairs: Sequence[tuple[int, int]],
    names: Mapping[str, str] | None = None,
) -> list[Explanation]:
    """``explain`` of many (mentee, mentor) index pairs, in their order.

    The criteria run on blocks of pairs at once, through the same vectorised
    functions as the matrix (a block's rows against its columns, of which the
    diagonal is each pair's value): a round's thousands of proposals are
    explained in a few hundred array calls rather than seven per pair."""
    weights = enc.config.normalised_weights
    words = names or {}
    out: list[Explanation] = []
    for start in range(0, len(pairs), EXPLAIN_BLOCK):
        block = pairs[start : start + EXPLAIN_BLOCK]
        rows = np.fromiter((i for i, _ in block), dtype=np.intp, count=len(block))
        cols = np.fromiter((j for _, j in block), dtype=np.intp, count=len(block))
        values = {
            name: np.diagonal(CRITERION_FUNCTIONS[name](enc, rows, cols)).tolist()
            for name in CRITERIA
        }
        for k, (i, j) in enumerate(block):
            parts: list[Part] = []
            for name in CRITERIA:
                w = weights[name]
                value = float(values[name][k])
                parts.append(
                    Part(
                        criterion=name,
                        title=CRITERION_TITLES[name],
                        weight=w,
                        value=value,
                        contribution=w * value,
                        reason=reason_for(name, enc, i, j, value, words),
                    )
                )
            out.append(
                Explanation(
                    mentee_id=enc.mentees[i].person_id,
                    mentor_id=enc.mentors[j].person_id,
                    score=_sum_like_matrix(parts),
                    parts=tuple(parts),
                )
            )
    return out


def _sum_like_matrix(parts: list[Part]) -> float:
    """Add contributions in the matrix's order, skipping zero weights as it does."""
    total: float | None = None
    for p in parts:
        if p.weight == 0.0:
            continue
        total = p.contribution if total is None else total + p.contribution
    # Weights sum to 1 only up to rounding: keep a perfect pair at exactly 1.
    return min(float(total or 0.0), 1.0)
