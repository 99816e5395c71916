"""Operating insights (admins of their organisation, operators of every one): the
rebuild of the read models, the lag, and the confirmation of an erasure."""

from __future__ import annotations

from fastapi import APIRouter

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref
from contracts.api.insights import ErasureConfirmation, Lag, RebuildProgress
from services.insights.api.deps import (
    AllTenants,
    ErasureReceiptsDep,
    LagDep,
    RebuildsDep,
)
from services.insights.application.lag import Figures
from services.insights.application.rebuild import Progress
from services.insights.application.scope import scope_of

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/rebuild",
    status_code=202,
    response_model=RebuildProgress,
    responses=problems(403, 409),
)
async def start_rebuild(
    rebuilds: RebuildsDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> Progress:
    """Start rebuilding your organisation's read models from its facts (admins);
    every organisation's with `all_tenants=true` (operators)."""
    return rebuilds.start(scope_of(principal, all_tenants, "a rebuild"))


@router.get("/rebuild", response_model=RebuildProgress, responses=problems(403))
async def rebuild_progress(
    rebuilds: RebuildsDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> Progress:
    """Progress of the current (or last) rebuild of your organisation's read models
    (or, `all_tenants=true`, of the operator's full rebuild)."""
    return rebuilds.progress_of(
        scope_of(principal, all_tenants, "a rebuild's progress")
    )


@router.get("/lag", response_model=Lag, responses=problems(403))
async def lag(
    monitor: LagDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> Figures:
    """Projection lag (ms) of your organisation's events (admins); with
    `all_tenants=true`, of every tenant's and the consumer's lag in messages
    (operators)."""
    return await monitor.figures(scope_of(principal, all_tenants, "the lag"))


@router.get("/erasures/{person_id}", responses=problems(403, 404))
async def erasure_confirmation(
    person_id: Ref, receipts: ErasureReceiptsDep, principal: PrincipalDep
) -> ErasureConfirmation:
    """When insights finished forgetting the person, and in which stores (admins)."""
    receipt = await receipts.of(principal, person_id)
    return ErasureConfirmation(
        person_id=receipt.person_id,
        service="insights",
        confirmed_at=receipt.confirmed_at,
        erased_at=receipt.erased_at,
        stores=receipt.stores,
    )
