"""Who gets good matches: score distribution per group, and a fairness re-weighting.

``distribution`` reports, for any grouping of mentees (business unit, level band,
geography, function, or a consented demographic attribute), the group's size, how
many were matched, and the mean and 10th/50th/90th percentiles of their match scores.
Groups smaller than ``min_group_size`` (default 5) are suppressed: counted as
suppressed, with no figures, so a report never singles people out.

``rebalance`` keeps every group's mean match quality at or above ``min_ratio`` of
the best group's. It re-solves the round with the scores of lagging groups boosted
multiplicatively until the condition holds or the iterations run out. Steps are
damped: they halve whenever one overshoots (scores are close together, so a small
boost can move many seats) and double when nothing moved (seats change hands in
lumps). Only what is optimised changes; feasibility, capacities and the reported
scores stay as they are, so no boost can break a hard rule. Of the rounds tried it
keeps the first that satisfies the condition, or else the one whose worst group
fares best, and it reports every iteration so a programme owner can see the price
paid in total score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from services.matching.domain.config import FairnessSettings
from services.matching.domain.encoding import EncodedCohort, Progress, _no_progress
from services.matching.domain.optimiser import UNMATCHED, Solution

MAX_STEP = 1.5  # the most one iteration may raise a group's boost
MIN_STEP = 1.001
FIRST_ETA = 0.5  # damping of the first step; halved whenever a step overshoots


def level_band(level: int) -> str:
    return f"{(level - 1) // 3 * 3 + 1}-{(level - 1) // 3 * 3 + 3}"


def group_labels(enc: EncodedCohort, group_by: str) -> list[str | None]:
    """Each mentee's group under ``group_by``; None when unknown (not consented)."""
    if group_by.startswith("demographics."):
        attribute = group_by.split(".", 1)[1]
        return [p.demographics.get(attribute) for p in enc.mentees]
    if group_by == "level_band":
        return [level_band(p.level) for p in enc.mentees]
    if group_by in ("business_unit", "geography", "function"):
        return [getattr(p, group_by) for p in enc.mentees]
    raise ValueError(f"cannot group mentees by {group_by!r}")


@dataclass(frozen=True)
class GroupStats:
    group: str
    size: int
    suppressed: bool
    matched: int | None = None
    match_rate: float | None = None
    mean: float | None = None  # mean match quality (see FairnessSettings)
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def distribution(
    labels: Sequence[str | None],
    scores: np.ndarray,
    mentor_of: np.ndarray,
    min_group_size: int = 5,
    unmatched_counts_as_zero: bool = True,
) -> list[GroupStats]:
    """Score distribution per group, small groups suppressed. Unknown labels skipped."""
    quality = match_quality(scores, mentor_of)
    matched = mentor_of != UNMATCHED
    out: list[GroupStats] = []
    for group, members in _members(labels).items():
        if members.size < min_group_size:
            out.append(GroupStats(group, int(members.size), suppressed=True))
            continue
        got = matched[members]
        counted = (
            quality[members] if unmatched_counts_as_zero else quality[members][got]
        )
        p10, p50, p90 = (
            np.percentile(counted, [10, 50, 90]) if counted.size else (0.0, 0.0, 0.0)
        )
        out.append(
            GroupStats(
                group,
                int(members.size),
                suppressed=False,
                matched=int(got.sum()),
                match_rate=float(got.mean()),
                mean=float(counted.mean()) if counted.size else 0.0,
                p10=float(p10),
                p50=float(p50),
                p90=float(p90),
            )
        )
    return out


def match_quality(scores: np.ndarray, mentor_of: np.ndarray) -> np.ndarray:
    """Each mentee's match score, 0 when unmatched."""
    quality = np.zeros(mentor_of.size)
    who = np.flatnonzero(mentor_of != UNMATCHED)
    quality[who] = scores[who, mentor_of[who]]
    return quality


def _members(labels: Sequence[str | None]) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        if label is not None:
            groups.setdefault(label, []).append(i)
    return {g: np.array(v, dtype=np.int64) for g, v in sorted(groups.items())}


@dataclass(frozen=True)
class FairnessIteration:
    iteration: int
    boosts: dict[str, float]
    means: dict[str, float]
    worst_ratio: float  # lowest group mean / best group mean
    total_score: float
    matched: int


@dataclass(frozen=True)
class FairnessOutcome:
    settings: FairnessSettings
    satisfied: bool
    chosen_iteration: int
    iterations: tuple[FairnessIteration, ...]
    report: tuple[GroupStats, ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-able summary (for ``RoundCompleted.fairness``)."""
        return {
            "group_by": self.settings.group_by,
            "min_ratio": self.settings.min_ratio,
            "satisfied": self.satisfied,
            "chosen_iteration": self.chosen_iteration,
            "iterations": [it.__dict__ for it in self.iterations],
            "groups": [g.as_dict() for g in self.report],
        }


Solver = Callable[[np.ndarray], Solution]  # boosted weights -> solution


def rebalance(
    scores: np.ndarray,
    labels: Sequence[str | None],
    settings: FairnessSettings,
    solver: Solver,
    progress: Progress | None = None,
) -> tuple[Solution, FairnessOutcome]:
    """Re-solve with lagging groups boosted until no group's mean is below the bar.

    ``solver(weights)`` solves the round on the given (boosted) weights; everything
    else about the round (feasibility, capacities, pins, mode) is the solver's.
    """
    report = progress or _no_progress
    members = {
        g: idx
        for g, idx in _members(labels).items()
        if idx.size >= settings.min_group_size
    }
    tried: list[tuple[Solution, FairnessIteration]] = []
    best = 0  # the iteration whose worst group fares best so far
    eta = FIRST_ETA
    boosts = dict.fromkeys(members, 1.0)
    total = settings.max_iterations + 1
    for iteration in range(total):
        report("fairness", iteration, total)
        if iteration:
            # Step from the best boosts so far, lagging groups only.
            base = tried[best][1]
            bar = settings.min_ratio * max(base.means.values())
            boosts = dict(base.boosts)
            for g, mean in base.means.items():
                if mean < bar:
                    step = (bar / mean) ** eta if mean > 0 else MAX_STEP
                    boosts[g] *= float(np.clip(step, MIN_STEP, MAX_STEP))
        row_boost = np.ones(scores.shape[0])
        for g, b in boosts.items():
            row_boost[members[g]] = b
        weights = scores if iteration == 0 else scores * row_boost[:, None]
        solution = solver(weights)
        means = _means(scores, solution.mentor_of, members, settings)
        top = max(means.values(), default=0.0)
        worst_ratio = min(means.values(), default=0.0) / top if top > 0 else 1.0
        tried.append(
            (
                solution,
                FairnessIteration(
                    iteration=iteration,
                    boosts=dict(boosts),
                    means=means,
                    worst_ratio=worst_ratio,
                    total_score=solution.total,
                    matched=solution.matched,
                ),
            )
        )
        previous = tried[best][1].worst_ratio
        if worst_ratio > previous + 1e-12:
            best = iteration
        elif worst_ratio < previous - 1e-12:
            eta /= 2  # overshot (another group fell behind): smaller steps
        elif iteration:
            eta *= 2  # nothing moved: seats change hands in lumps, push harder
        if worst_ratio >= settings.min_ratio - 1e-12:
            best = iteration
            break
    report("fairness", total, total)
    satisfied = tried[best][1].worst_ratio >= settings.min_ratio - 1e-12
    solution = tried[best][0]
    return solution, FairnessOutcome(
        settings=settings,
        satisfied=satisfied,
        chosen_iteration=best,
        iterations=tuple(it for _, it in tried),
        report=tuple(
            distribution(
                labels,
                scores,
                solution.mentor_of,
                settings.min_group_size,
                settings.unmatched_counts_as_zero,
            )
        ),
    )


def _means(
    scores: np.ndarray,
    mentor_of: np.ndarray,
    members: dict[str, np.ndarray],
    settings: FairnessSettings,
) -> dict[str, float]:
    quality = match_quality(scores, mentor_of)
    matched = mentor_of != UNMATCHED
    out = {}
    for g, idx in members.items():
        values = (
            quality[idx]
            if settings.unmatched_counts_as_zero
            else quality[idx][matched[idx]]
        )
        out[g] = float(values.mean()) if values.size else 0.0
    return out
