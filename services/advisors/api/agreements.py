"""Routes of agreements and engagements, over the ``Agreements`` application object
(``application/agreements.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.auth.principal import Principal, Role
from chassis.http.openapi import problems
from chassis.inputs import Ref, SaneDate
from contracts.api.advisors import (
    AgreementSummaries,
    AgreementUsage,
    AgreementView,
    DeliveredEngagement,
    EngagementList,
    HoursBody,
    HoursLogged,
    RenewBody,
    ScheduleBody,
    ScheduledEngagement,
    SignBody,
    TerminateBody,
)
from services.advisors.api.deps import AgreementsDep as App
from services.advisors.application.agreements import MANAGERS, READERS

router = APIRouter(tags=["agreements"])
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS, Role.ADVISOR))]
# Changing an agreement: not allowed, no such agreement, a concurrent change or one
# its state refuses (already ended).
CHANGE = problems(403, 404, 409)


@router.post("/agreements", status_code=201, responses=problems(403))
async def sign(app: App, body: SignBody, principal: Manager) -> AgreementView:
    """Sign an agreement with an advisor."""
    terms = dict(body) | {"compensation": body.compensation.terms()}
    return app.view(await app.sign(principal, **terms))


@router.get("/agreements", responses=problems(403))
async def list_agreements(
    app: App, principal: Reader, advisor_id: Annotated[Ref | None, Query()] = None
) -> AgreementSummaries:
    """Agreements of the tenant (an advisor sees their own)."""
    return AgreementSummaries(items=await app.listing(principal, advisor_id))


@router.get("/agreements/{agreement_id}", responses=problems(403, 404))
async def get_agreement(
    app: App, agreement_id: Ref, principal: Reader
) -> AgreementView:
    """One agreement with its terms."""
    return await app.read(principal, agreement_id)


@router.get("/agreements/{agreement_id}/usage", responses=problems(403, 404))
async def usage(
    app: App,
    agreement_id: Ref,
    principal: Reader,
    on: Annotated[SaneDate | None, Query()] = None,
) -> AgreementUsage:
    """Hours this month, in total, cost so far and what is left."""
    return await app.usage(principal, agreement_id, on or datetime.now(UTC).date())


@router.post("/agreements/{agreement_id}/hours", status_code=201, responses=CHANGE)
async def log_hours(
    app: App, agreement_id: Ref, body: HoursBody, principal: PrincipalDep
) -> HoursLogged:
    """Log hours against the agreement (a coordinator, or the advisor themselves)."""
    minutes = body.total_minutes()
    return await app.log_hours(principal, agreement_id, minutes, body.on, body.kind)


@router.post("/agreements/{agreement_id}/renew", responses=CHANGE)
async def renew(
    app: App, agreement_id: Ref, body: RenewBody, principal: Manager
) -> AgreementView:
    """Extend the term to a new end date."""
    change = app.change
    return app.view(
        await change(principal, agreement_id, lambda a: a.renew(body.ends_on))
    )


@router.post("/agreements/{agreement_id}/terminate", responses=CHANGE)
async def terminate(
    app: App, agreement_id: Ref, body: TerminateBody, principal: Manager
) -> AgreementView:
    """End the agreement early."""
    decide = lambda a: a.terminate(body.on, body.reason_code)  # noqa: E731
    return app.view(await app.change(principal, agreement_id, decide))


@router.post("/engagements", status_code=201, responses=problems(403))
async def schedule(
    app: App, body: ScheduleBody, principal: Manager
) -> ScheduledEngagement:
    """Schedule a one-off session by an advisor."""
    e = await app.schedule(principal, **dict(body))
    return ScheduledEngagement(
        engagement_id=e.id,
        status=e.status,
        advisor_id=e.advisor_id,
        topic=e.topic,
        on=e.on,
        audience_size=e.audience_size,
    )


@router.post("/engagements/{engagement_id}/deliver", responses=CHANGE)
async def deliver(
    app: App, engagement_id: Ref, body: HoursBody, principal: PrincipalDep
) -> DeliveredEngagement:
    """Record the session as given; its hours go on the advisor's agreement."""
    e = await app.deliver(principal, engagement_id, body.total_minutes(), body.on)
    assert e.agreement_id is not None  # delivered: its hours went on an agreement
    return DeliveredEngagement(
        engagement_id=e.id,
        status=e.status,
        agreement_id=e.agreement_id,
        minutes=e.minutes,
    )


@router.get("/engagements", responses=problems(403))
async def list_engagements(
    app: App, principal: Reader, advisor_id: Annotated[Ref | None, Query()] = None
) -> EngagementList:
    """One-off engagements of the tenant (an advisor sees their own)."""
    return EngagementList(items=await app.engagement_list(principal, advisor_id))
