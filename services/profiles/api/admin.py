"""Operator endpoints: an admin acts on their own organisation, an operator on all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.profiles.api.deps import PrincipalDep, ProfilesDep

router = APIRouter(prefix="/admin", tags=["operations"])


@router.post("/projections/rebuild")
async def rebuild_projections(
    principal: PrincipalDep,
    profiles: ProfilesDep,
    all_tenants: Annotated[
        bool,
        Query(description="Every organisation's tables (the operator role only)"),
    ] = False,
) -> dict[str, int]:
    """Rebuild the organisation's current-state tables from the event store (admins);
    every organisation's with `all_tenants=true` (operators; 403 OperatorRequired)."""
    replayed = await profiles.rebuild_projections(principal, all_tenants=all_tenants)
    return {"events_replayed": replayed}
