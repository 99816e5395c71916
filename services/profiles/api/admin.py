"""Operator endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from services.profiles.api.deps import PrincipalDep, ProfilesDep

router = APIRouter(prefix="/admin", tags=["operations"])


@router.post("/projections/rebuild")
async def rebuild_projections(
    principal: PrincipalDep, profiles: ProfilesDep
) -> dict[str, int]:
    """Rebuild the current-state tables from the event store (admins)."""
    return {"events_replayed": await profiles.rebuild_projections(principal)}
