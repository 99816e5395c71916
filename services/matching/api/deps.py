"""Dependency aliases and bounded parameter types of the matching API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import MAX_REF, REF_PATTERN
from chassis.service import provided
from services.matching.application.history import MatchingHistory
from services.matching.application.pairings import Pairings
from services.matching.application.planning import Planning
from services.matching.application.rounds import Rounds
from services.matching.application.weights import MatchingWeights

PairingsDep = Annotated[Pairings, Depends(provided(Pairings))]
RoundsDep = Annotated[Rounds, Depends(provided(Rounds))]
PlanningDep = Annotated[Planning, Depends(provided(Planning))]
HistoryDep = Annotated[MatchingHistory, Depends(provided(MatchingHistory))]
WeightsDep = Annotated[MatchingWeights, Depends(provided(MatchingWeights))]

# Ids in a path or a query string, bounded as ``chassis.inputs.Ref`` is in bodies.
RefPath = Annotated[str, Path(min_length=1, max_length=MAX_REF, pattern=REF_PATTERN)]
RefQuery = Annotated[
    str | None, Query(min_length=1, max_length=MAX_REF, pattern=REF_PATTERN)
]

__all__ = [
    "HistoryDep",
    "PairingsDep",
    "PlanningDep",
    "PrincipalDep",
    "RefPath",
    "RefQuery",
    "RoundsDep",
    "WeightsDep",
]
