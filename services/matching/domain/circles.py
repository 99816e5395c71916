"""Group circles: one mentor, several mentees with shared goals.

A circle is a mentor whose capacity is the circle's size; the optimiser fills it like
any other seats. What a coordinator then needs to see is whether the members have
something to work on together: the goals two or more of them share, and how much
their goal sets overlap on average (mean pairwise Jaccard similarity, 0-1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
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


def shared_goals(
    goal_sets: Sequence[frozenset[str]],
) -> tuple[tuple[str, int], ...]:
    """The competencies two or more of the members want to grow, with how many want
    each: the most shared first, then by competency id."""
    counts = Counter(c for s in goal_sets for c in s)
    return tuple(
        (c, k)
        for c, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if k >= 2
    )


def form(
    mentor_id: str,
    members: Sequence[tuple[str, frozenset[str]]],
    name: Callable[[str], str] = str,
) -> Circle:
    """The circle of a mentor and its members (each a mentee id and the ids of the
    competencies they want to grow); ``name`` names a competency."""
    goal_sets = [goals for _mentee, goals in members]
    pairs = [
        len(a & b) / len(a | b) if a | b else 0.0 for a, b in combinations(goal_sets, 2)
    ]
    return Circle(
        mentor_id=mentor_id,
        mentee_ids=tuple(mentee for mentee, _goals in members),
        shared_goals=tuple((name(c), k) for c, k in shared_goals(goal_sets)),
        affinity=float(np.mean(pairs)) if pairs else 0.0,
    )


def circles(enc: EncodedCohort, mentor_of: np.ndarray) -> list[Circle]:
    """The circles of an assignment: every mentor with at least two mentees."""
    members: dict[int, list[int]] = {}
    for i, j in enumerate(mentor_of.tolist()):
        if j != UNMATCHED:
            members.setdefault(j, []).append(i)
    return [
        form(
            enc.mentors[j].person_id,
            [
                (
                    enc.mentees[i].person_id,
                    frozenset(g.competency_id for g in enc.mentees[i].growth_goals),
                )
                for i in group
            ],
            enc.competency_name,
        )
        for j, group in sorted(members.items())
        if len(group) >= 2
    ]
