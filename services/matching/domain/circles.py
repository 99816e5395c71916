"""Group circles: one mentor, several mentees with shared goals.

A circle is a mentor whose capacity is the circle's size; the optimiser fills it like
any other seats. What a coordinator then needs to see is whether the members have
something to work on together: the goals two or more of them share, and how much
their goal sets overlap on average (mean pairwise Jaccard similarity, 0-1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from services.matching.domain.encoding import EncodedCohort
from services.matching.domain.optimiser import UNMATCHED


@dataclass(frozen=True)
class Circle:
    mentor_id: str
    mentee_ids: tuple[str, ...]
    shared_goals: tuple[tuple[str, int], ...]  # (competency name, members wanting it)
    affinity: float  # mean pairwise Jaccard similarity of the members' growth goals

    @property
    def reason(self) -> str:
        if not self.shared_goals:
            return "the members share no growth goal"
        listed = ", ".join(
            f"{name} ({k} of {len(self.mentee_ids)})" for name, k in self.shared_goals
        )
        return f"shared goals: {listed}; goal overlap {self.affinity:.2f}"


def circles(enc: EncodedCohort, mentor_of: np.ndarray) -> list[Circle]:
    """The circles of an assignment: every mentor with at least two mentees."""
    members: dict[int, list[int]] = {}
    for i, j in enumerate(mentor_of.tolist()):
        if j != UNMATCHED:
            members.setdefault(j, []).append(i)
    out = []
    for j, group in sorted(members.items()):
        if len(group) < 2:
            continue
        goal_sets = [
            frozenset(g.competency_id for g in enc.mentees[i].growth_goals)
            for i in group
        ]
        counts = Counter(c for s in goal_sets for c in s)
        shared = tuple(
            (enc.competency_name(c), k)
            for c, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if k >= 2
        )
        pairs = [
            len(a & b) / len(a | b) if a | b else 0.0
            for a, b in combinations(goal_sets, 2)
        ]
        out.append(
            Circle(
                mentor_id=enc.mentors[j].person_id,
                mentee_ids=tuple(enc.mentees[i].person_id for i in group),
                shared_goals=shared,
                affinity=float(np.mean(pairs)),
            )
        )
    return out
