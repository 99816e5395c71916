"""Self-service: each mentee sees their top N mentors, and no mentor is shown to all.

Why an exposure cap and not a popularity penalty: if every mentee simply saw their
own top N, the few mentors who suit almost everyone would head every list, most
mentees would ask for them, and most would be turned down. A penalty that scales
scores by demand still shows such a mentor to everyone whenever they dominate, and
its strength is a tuning knob nobody can explain. Instead each mentor is shown to at
most ``exposure_per_seat`` mentees per remaining seat (raised evenly for every mentor
when the cohort is so large for its seats that lists could not otherwise be full:
exposure stays proportional to seats), and *which* mentees is decided by deferred
acceptance (Gale-Shapley, many-to-many): every mentee proposes to their
best mentors in score order, every mentor keeps the proposals they score highest
with, up to their exposure quota, and rejected mentees move on to their next best.
The outcome is stable: no mentee misses a mentor who is shown instead to someone the
mentor fits worse. Mentors without a remaining seat are never suggested, nor are
dismissed ones, nor pairs the rules forbid (reporting line, coordinator, ...).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from services.matching.domain.encoding import EncodedCohort
from services.matching.domain.scoring import Explanation, explain

DEFAULT_TOP_N = 5
DEFAULT_EXPOSURE_PER_SEAT = 3


@dataclass(frozen=True)
class Suggestion:
    rank: int
    mentor_id: str
    score: float
    explanation: Explanation


class SuggestionBoard:
    """The suggestion lists of a whole cohort, planned together. Rebuild it when
    capacities, dismissals or profiles change (it is cheap next to a round)."""

    def __init__(
        self,
        enc: EncodedCohort,
        scores: np.ndarray,
        feasible: np.ndarray,
        top_n: int = DEFAULT_TOP_N,
        exposure_per_seat: int = DEFAULT_EXPOSURE_PER_SEAT,
        dismissed: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.enc = enc
        self.scores = scores
        self.top_n = top_n
        allowed = feasible & (enc.capacity > 0)[None, :]
        if dismissed:
            mentees, mentors = enc.mentee_index, enc.mentor_index
            allowed = allowed.copy()
            for mentee_id, gone in dismissed.items():
                i = mentees.get(mentee_id)
                for mentor_id in gone if i is not None else ():
                    j = mentors.get(mentor_id)
                    if j is not None:
                        allowed[i, j] = False
        self.lists = exposure_plan(
            scores,
            allowed,
            exposure_quota(enc.capacity, len(enc.mentees), top_n, exposure_per_seat),
            top_n,
        )

    def for_mentee(
        self, mentee_id: str, names: Mapping[str, str] | None = None
    ) -> list[Suggestion]:
        """This mentee's suggestions, best first, each explained."""
        i = self.enc.mentee_index[mentee_id]
        out = []
        for rank, j in enumerate(self.lists[i], start=1):
            out.append(
                Suggestion(
                    rank=rank,
                    mentor_id=self.enc.mentors[j].person_id,
                    score=float(self.scores[i, j]),
                    explanation=explain(self.enc, i, j, names),
                )
            )
        return out

    def exposure(self) -> np.ndarray:
        """How many mentees see each mentor."""
        counts = np.zeros(self.enc.shape[1], dtype=np.int64)
        for items in self.lists:
            for j in items:
                counts[j] += 1
        return counts


def exposure_quota(
    seats: np.ndarray, mentees: int, top_n: int, per_seat: int
) -> np.ndarray:
    """How many lists each mentor may be on: ``per_seat`` per remaining seat, raised
    evenly when that would not give every mentee ``top_n`` names (a large cohort
    with few seats), so exposure stays proportional to seats and everyone is shown
    a full list wherever the rules allow one."""
    total = int(seats.sum())
    if total == 0:
        return np.zeros_like(seats)
    per_seat_needed = -(-mentees * top_n // total)  # ceiling
    return seats * max(per_seat, per_seat_needed)


def exposure_plan(
    scores: np.ndarray,
    allowed: np.ndarray,
    quota: np.ndarray,
    top_n: int,
    depth: int | None = None,
) -> list[list[int]]:
    """Each mentee's list of up to ``top_n`` mentor columns, best first, such that
    mentor ``j`` is on at most ``quota[j]`` lists (many-to-many deferred acceptance).
    ``depth`` (multiples of ``top_n``) is how far each mentee's ranking is computed
    up front; it changes the speed, never the result.
    """
    n, m = scores.shape
    first = min(m, top_n * (depth or PREFERENCE_DEPTH))
    prefs = _Preferences(scores, allowed, first)
    holding: list[set[int]] = [set() for _ in range(n)]
    # Per mentor, the held proposals as a min-heap of (score, -mentee): the weakest
    # (lowest score, then highest index) is rejected first.
    held: list[list[tuple[float, int]]] = [[] for _ in range(m)]
    active = list(range(n))
    while active:
        next_active: set[int] = set()
        for i in active:
            while len(holding[i]) < top_n:
                j = prefs.next(i)
                if j is None:
                    break
                if quota[j] <= 0:
                    continue
                heapq.heappush(held[j], (float(scores[i, j]), -i))
                holding[i].add(j)
                if len(held[j]) > quota[j]:
                    _, loser = heapq.heappop(held[j])
                    holding[-loser].discard(j)
                    if -loser != i:
                        next_active.add(-loser)
        active = sorted(next_active)
    return [_by_score(scores[i], holding[i]) for i in range(n)]


def _by_score(row: np.ndarray, cols: set[int]) -> list[int]:
    """``cols`` best first by ``row``'s score, then by index."""
    return sorted(cols, key=lambda j: (-row[j], j))


PREFERENCE_DEPTH = 4  # candidates ranked up front per mentee, in multiples of top_n
_ROWS = 1024


class _Preferences:
    """Each mentee's allowed mentors, best first (ties by column), ranked lazily:
    the best ``first`` (and any tied with the last of them) for everyone at once, the
    rest only for a mentee who runs out. The short list is a prefix of the full one.
    """

    def __init__(self, scores: np.ndarray, allowed: np.ndarray, first: int) -> None:
        self.scores, self.allowed = scores, allowed
        n, m = scores.shape
        self.lists: list[list[int]] = []
        self.complete: list[bool] = []
        self.cursor = [0] * n
        for a in range(0, n, _ROWS):
            block = np.where(allowed[a : a + _ROWS], scores[a : a + _ROWS], -np.inf)
            if 0 < first < m:
                bar = -np.partition(-block, first - 1, axis=1)[:, first - 1]
            else:
                bar = np.full(block.shape[0], -np.inf)
            for r in range(block.shape[0]):
                row = block[r]
                cols = np.flatnonzero(
                    row >= bar[r] if np.isfinite(bar[r]) else np.isfinite(row)
                )
                self.lists.append(self._ranked(a + r, cols))
                self.complete.append(
                    not np.isfinite(bar[r]) or cols.size == int(np.isfinite(row).sum())
                )

    def _ranked(self, i: int, cols: np.ndarray) -> list[int]:
        ranked: list[int] = cols[np.lexsort((cols, -self.scores[i, cols]))].tolist()
        return ranked

    def next(self, i: int) -> int | None:
        """Mentee ``i``'s next mentor to propose to, or None when none is left."""
        if self.cursor[i] == len(self.lists[i]):
            if self.complete[i]:
                return None
            self.lists[i] = self._ranked(i, np.flatnonzero(self.allowed[i]))
            self.complete[i] = True
            if self.cursor[i] == len(self.lists[i]):
                return None
        j = self.lists[i][self.cursor[i]]
        self.cursor[i] += 1
        return j
