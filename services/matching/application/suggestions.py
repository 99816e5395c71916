"""The one-mentee round that ranks a mentee's mentors, and the cohort's suggestion
board read for one mentee. Plain data in, plain data out: meant for a worker thread."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from services.matching.domain.config import MatchingConfig
from services.matching.domain.round import run_round
from services.matching.domain.scoring import Explanation
from services.matching.domain.suggestions import Suggestion
from services.matching.projections.pool import Pool


@dataclass(frozen=True)
class Ranked:
    mentor_id: str
    score: float
    explanation: Explanation


def _config(pool: Pool) -> MatchingConfig:
    return MatchingConfig.for_programme(pool.programme_type)


def best_mentors(pool: Pool, mentee_id: str, limit: int) -> list[Ranked]:
    """A one-mentee round: the mentee's feasible mentors with a seat, best first."""
    result = run_round(
        pool.mentees,
        pool.mentors,
        _config(pool),
        forbidden=pool.forbidden,
        competency_names=pool.competency_names,
    )
    enc, i = result.encoded, result.encoded.mentee_index[mentee_id]
    ok = np.flatnonzero(result.feasibility.mask[i] & (enc.capacity > 0))
    order = ok[np.lexsort((ok, -result.scores[i, ok]))][:limit]
    out = []
    for j in order.tolist():
        mentor_id = enc.mentors[j].person_id
        out.append(
            Ranked(
                mentor_id,
                float(result.scores[i, j]),
                result.explain(mentee_id, mentor_id),
            )
        )
    return out


def suggest(
    pool: Pool, mentee_id: str, top: int, dismissed: Mapping[str, set[str]]
) -> list[Suggestion]:
    """The cohort's suggestion board, read for one mentee."""
    result = run_round(
        pool.mentees,
        pool.mentors,
        _config(pool),
        forbidden=pool.forbidden,
        competency_names=pool.competency_names,
    )
    return result.suggestions(top, dismissed=dismissed).for_mentee(mentee_id)
