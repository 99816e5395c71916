"""Dependency aliases and bounded parameter types of the matching API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import MAX_REF, REF_PATTERN
from services.matching.pairings import Pairings


def get_pairings(request: Request) -> Pairings:
    return request.app.state.pairings


PairingsDep = Annotated[Pairings, Depends(get_pairings)]

# Ids in a path or a query string, bounded as ``chassis.inputs.Ref`` is in bodies.
RefPath = Annotated[str, Path(min_length=1, max_length=MAX_REF, pattern=REF_PATTERN)]
RefQuery = Annotated[
    str | None, Query(min_length=1, max_length=MAX_REF, pattern=REF_PATTERN)
]

__all__ = ["PairingsDep", "PrincipalDep", "RefPath", "RefQuery"]
