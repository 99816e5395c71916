"""Routes of the time-based rules (coordinators) and of the answer to an inactivity
warning (a member of the pair), over ``Scheduler`` (``application/scheduler.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.auth.principal import Principal, Role
from chassis.http.openapi import problems
from chassis.inputs import Ref
from chassis.service import provided
from contracts.api.notifications import KeptOpen, RulesModel
from services.notifications.application.scheduler import Scheduler

router = APIRouter(tags=["rules"])
Coordinator = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.COORDINATOR))]
SchedulerDep = Annotated[Scheduler, Depends(provided(Scheduler))]


@router.get("/notifications/rules", responses=problems(403))
async def get_rules(principal: Coordinator, scheduler: SchedulerDep) -> RulesModel:
    """The organisation's time-based rules (the defaults until a coordinator sets
    them)."""
    return await scheduler.rules(principal)


@router.put("/notifications/rules", responses=problems(403, 422))
async def set_rules(
    body: RulesModel, principal: Coordinator, scheduler: SchedulerDep
) -> RulesModel:
    """Replace the organisation's time-based rules."""
    return await scheduler.set_rules(principal, body)


@router.post(
    "/notifications/relationships/{relationship_id}/keep-open",
    responses=problems(404),
)
async def keep_open(
    relationship_id: Ref, principal: PrincipalDep, scheduler: SchedulerDep
) -> KeptOpen:
    """Answer an inactivity warning (or forestall one): the caller, a member of the
    pair, keeps the relationship open; the inactivity clock starts again."""
    return await scheduler.keep_open(principal, relationship_id)
