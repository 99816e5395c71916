"""Operator endpoints: an admin acts on their own organisation, an operator on all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.profiles import ErasureReport, Rebuilt
from services.profiles.api.deps import PrincipalDep, ProfilesDep

router = APIRouter(prefix="/admin", tags=["operations"])


@router.post("/projections/rebuild", responses=problems(403))
async def rebuild_projections(
    principal: PrincipalDep,
    profiles: ProfilesDep,
    all_tenants: Annotated[
        bool,
        Query(description="Every organisation's tables (the operator role only)"),
    ] = False,
) -> Rebuilt:
    """Rebuild the organisation's current-state tables from the event store (admins);
    every organisation's with `all_tenants=true` (operators; 403 OperatorRequired)."""
    replayed = await profiles.rebuild_projections(principal, all_tenants=all_tenants)
    return Rebuilt(events_replayed=replayed)


@router.get("/erasures/{person_id}", responses=problems(403, 404))
async def erasure_report(
    person_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> ErasureReport:
    """When a person of the organisation was erased and what each store confirmed
    (admins); 404 when no erasure of them is known."""
    return await profiles.erasure_report(principal, person_id)
