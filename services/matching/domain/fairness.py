"""Who gets good matches: score distribution per group, and a fairness re-weighting.

``distribution`` reports, for any grouping of mentees (business unit, level band,
geography, function, or a consented demographic attribute), the group's size, how
many were matched, and the mean and 10th/50th/90th percentiles of their match scores.
Groups smaller than ``min_group_size`` (default 5, never below the tenant's k: the
service raises it) are suppressed.

What leaves the service (``FairnessOutcome.as_dict``, recorded in ``RoundCompleted``
and served by ``GET /rounds/{id}``) goes through ``disclose``, the same disclosure
control as insights' equity reports (docs/privacy.md): a group is shown only when
its size reaches both ``min_group_size`` and a keyed threshold between k and k + 4;
withheld groups are at least two holding at least k mentees together (complementary
suppression), are never named nor sized (``suppressed_groups`` counts them) and
vanish from the iterations too; sizes and matched counts are perturbed by a keyed
offset of at most 2 and rounded to the nearest 5, rates come from those counts, and
means, percentiles and ratios are rounded to two decimals.

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

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from chassis.disclosure import complementary, perturbed, threshold
from services.matching.domain.config import FairnessSettings
from services.matching.domain.decoded import JsonObject
from services.matching.domain.encoding import EncodedCohort, Progress, no_progress
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
    # Who is in the group and who of them was matched (row indices or person ids):
    # keys of the disclosure thresholds, never rendered.
    members: tuple[str, ...] = field(default=(), repr=False, compare=False)
    matched_members: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        """Every figure, exact (internal: what leaves the service is ``disclose``)."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if v is not None and k not in ("members", "matched_members")
        }


def distribution(
    labels: Sequence[str | None],
    scores: np.ndarray,
    mentor_of: np.ndarray,
    min_group_size: int = 5,
    unmatched_counts_as_zero: bool = True,
    ids: Sequence[str] | None = None,
) -> list[GroupStats]:
    """Score distribution per group, small groups suppressed. Unknown labels skipped.

    Exact figures, for the optimiser and tests; ``disclose`` makes them publishable.
    ``ids``: each mentee's person id (default: the row number)."""
    quality = match_quality(scores, mentor_of)
    matched = mentor_of != UNMATCHED
    names = list(ids) if ids is not None else [str(i) for i in range(len(labels))]
    out: list[GroupStats] = []
    for group, members in _members(labels).items():
        who = tuple(names[i] for i in members.tolist())
        got_who = tuple(names[i] for i in members.tolist() if matched[i])
        if members.size < min_group_size:
            out.append(
                GroupStats(
                    group,
                    int(members.size),
                    suppressed=True,
                    members=who,
                    matched_members=got_who,
                )
            )
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
                members=who,
                matched_members=got_who,
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

    def as_dict(self, key: bytes = b"") -> dict[str, object]:
        """The publishable summary (for ``RoundCompleted.fairness``): ``disclose``d
        with ``settings.min_group_size`` as k and ``key`` keying the thresholds."""
        return disclose(
            {
                "group_by": self.settings.group_by,
                "min_ratio": self.settings.min_ratio,
                "min_group_size": self.settings.min_group_size,
                "satisfied": self.satisfied,
                "chosen_iteration": self.chosen_iteration,
                "iterations": [dict(it.__dict__) for it in self.iterations],
                "groups": [
                    {
                        **g.as_dict(),
                        "members": g.members,
                        "matched_members": g.matched_members,
                    }
                    for g in self.report
                ],
            },
            self.settings.min_group_size,
            key,
        )


Solver = Callable[[np.ndarray], Solution]  # boosted weights -> solution


def rebalance(
    scores: np.ndarray,
    labels: Sequence[str | None],
    settings: FairnessSettings,
    solver: Solver,
    progress: Progress | None = None,
    ids: Sequence[str] | None = None,
) -> tuple[Solution, FairnessOutcome]:
    """Re-solve with lagging groups boosted until no group's mean is below the bar.

    ``solver(weights)`` solves the round on the given (boosted) weights; everything
    else about the round (feasibility, capacities, pins, mode) is the solver's.
    """
    report = progress or no_progress
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
                ids,
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


# -- disclosure control of what leaves the service -----------------------------------

SHOWN_FIGURES = ("mean", "p10", "p50", "p90")


def disclose(report: JsonObject, k: int, key: bytes) -> dict[str, object]:
    """A fairness report fit for a coordinator (see the module docstring).

    ``report["groups"]`` carry exact figures, and ``members``/``matched_members``
    where known (reports recorded before this rule have none: the threshold is
    then k itself). A report already disclosed (it has ``suppressed_groups``) is
    only held to ``k`` again: groups that no longer reach it are withheld."""
    groups = [dict(g) for g in report.get("groups") or []]
    if "suppressed_groups" in report:
        return _hold_to(report, k)
    sizes = {str(g["group"]): int(g.get("size") or 0) for g in groups}
    primary = {
        str(g["group"])
        for g in groups
        if g.get("suppressed")
        or int(g.get("size") or 0) < threshold(g.get("members") or (), k, key)
    }
    hidden = set(complementary(sizes, primary, k))
    visible = [g for g in groups if str(g["group"]) not in hidden]
    matched = {str(g["group"]): int(g.get("matched") or 0) for g in visible}
    small = {
        str(g["group"])
        for g in visible
        if int(g.get("matched") or 0)
        < threshold(g.get("matched_members") or (), k, key)
    }
    withheld_matched = set(complementary(matched, small, k)) if small else set()
    shown: list[dict[str, object]] = []
    for g in visible:
        name = str(g["group"])
        size = perturbed(int(g["size"]), g.get("members") or (), key)
        got = (
            None
            if name in withheld_matched
            else perturbed(
                int(g.get("matched") or 0), g.get("matched_members") or (), key
            )
        )
        item: dict[str, object] = {
            "group": name,
            "size": size,
            "suppressed": False,
            "matched": got,
            "match_rate": None if got is None else min(got / size, 1.0),
        }
        for figure in SHOWN_FIGURES:
            value = g.get(figure)
            item[figure] = None if value is None else round(float(value), 2)
        shown.append({k_: v for k_, v in item.items() if v is not None})
    names = {str(g["group"]) for g in shown}
    return {
        **{k_: v for k_, v in report.items() if k_ not in ("groups", "iterations")},
        "groups": shown,
        "suppressed_groups": len(hidden),
        "iterations": [_iteration(it, names) for it in report.get("iterations") or []],
    }


def _iteration(it: JsonObject, names: Collection[str]) -> dict[str, object]:
    """An iteration's record with only the shown groups' boosts and means."""
    out = dict(it)
    for part, digits in (("boosts", 3), ("means", 2)):
        out[part] = {
            g: round(float(v), digits)
            for g, v in (it.get(part) or {}).items()
            if g in names
        }
    if it.get("worst_ratio") is not None:
        out["worst_ratio"] = round(float(it["worst_ratio"]), 2)
    return out


def _hold_to(report: JsonObject, k: int) -> dict[str, object]:
    """A disclosed report under a k that may have risen since it was recorded."""
    groups = [g for g in report.get("groups") or [] if int(g.get("size") or 0) >= k]
    dropped = len(report.get("groups") or []) - len(groups)
    if dropped and int(report["suppressed_groups"]) + dropped < 2:
        groups = sorted(groups, key=lambda g: int(g["size"]))[1:]
        dropped += 1
    names = {g["group"] for g in groups}
    return {
        **report,
        "groups": sorted(groups, key=lambda g: str(g["group"])),
        "suppressed_groups": int(report["suppressed_groups"]) + dropped,
        "iterations": [_iteration(it, names) for it in report.get("iterations") or []],
    }
