"""Dependency aliases of the matching API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chassis.auth.fastapi import PrincipalDep
from services.matching.pairings import Pairings


def get_pairings(request: Request) -> Pairings:
    return request.app.state.pairings


PairingsDep = Annotated[Pairings, Depends(get_pairings)]

__all__ = ["PairingsDep", "PrincipalDep"]
