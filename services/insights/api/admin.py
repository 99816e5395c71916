"""Operating insights (admins of their organisation, operators of every one): the
rebuild of the read models, the lag, and the confirmation of an erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from chassis.auth.fastapi import PrincipalDep
from chassis.inputs import Ref
from services.insights.api.deps import (
    AllTenants,
    ErasureReceiptsDep,
    LagDep,
    RebuildsDep,
)
from services.insights.application.scope import scope_of

router = APIRouter(prefix="/admin", tags=["admin"])


class ErasureConfirmation(BaseModel):
    person_id: str
    service: str
    confirmed_at: str
    erased_at: str
    stores: list[str]


@router.post("/rebuild", status_code=202)
async def start_rebuild(
    rebuilds: RebuildsDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> dict[str, Any]:
    """Start rebuilding your organisation's read models from its facts (admins);
    every organisation's with `all_tenants=true` (operators)."""
    return rebuilds.start(scope_of(principal, all_tenants, "a rebuild"))


@router.get("/rebuild")
async def rebuild_progress(
    rebuilds: RebuildsDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> dict[str, Any]:
    """Progress of the current (or last) rebuild of your organisation's read models
    (or, `all_tenants=true`, of the operator's full rebuild)."""
    return rebuilds.progress_of(
        scope_of(principal, all_tenants, "a rebuild's progress")
    )


@router.get("/lag")
async def lag(
    monitor: LagDep, principal: PrincipalDep, all_tenants: AllTenants = False
) -> dict[str, Any]:
    """Projection lag (ms) of your organisation's events (admins); with
    `all_tenants=true`, of every tenant's and the consumer's lag in messages
    (operators)."""
    return await monitor.figures(scope_of(principal, all_tenants, "the lag"))


@router.get("/erasures/{person_id}")
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
