"""Operator endpoints: an admin acts on their own organisation, an operator on all."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from chassis.inputs import Ref
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


class StoreConfirmation(BaseModel):
    store: str = Field(description="A table of the service's database")
    action: str = Field(description="What the erasure did to it, or why nothing")
    confirmed_at: datetime


class ServiceConfirmation(BaseModel):
    confirmed_at: datetime = Field(description="The last store's confirmation")
    complete: bool = Field(description="Every store of the service confirmed")
    stores: list[StoreConfirmation]


class ErasureReport(BaseModel):
    person_id: str
    erased_at: datetime
    key_destroyed_at: datetime | None = Field(
        description="When the person's key was destroyed (crypto-shredding)"
    )
    services: dict[str, ServiceConfirmation] = Field(
        description="Each service's confirmation, by service name"
    )


@router.get("/erasures/{person_id}", responses={404: {"description": "No erasure"}})
async def erasure_report(
    person_id: Ref, principal: PrincipalDep, profiles: ProfilesDep
) -> ErasureReport:
    """When a person of the organisation was erased and what each store confirmed (admins)."""
    return ErasureReport.model_validate(
        await profiles.erasure_report(principal, person_id)
    )
