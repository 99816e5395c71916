"""The REST API of the matching service (what the gateway calls)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.matching.api import pairings, planning, rounds

    return [rounds.router, pairings.router, planning.router]
