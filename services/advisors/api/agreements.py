"""Routes of agreements and engagements, over the ``Agreements`` application object
(``application/agreements.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field, WithJsonSchema

from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.auth.principal import Principal, Role
from chassis.errors import FieldError, ValidationFailed
from chassis.inputs import (
    Code,
    Hours,
    Minutes,
    NonNegative,
    Positive,
    Ref,
    RequestBody,
    SaneDate,
    Text,
)
from contracts.advisors.agreements import (
    Compensation,
    EngagementTopic,
    HoursKind,
    ScopeCategory,
)
from services.advisors.api.deps import AgreementsDep as App
from services.advisors.application.agreements import MANAGERS, READERS
from services.advisors.domain.agreement import Agreement, hours


def agreement_view(a: Agreement) -> dict[str, Any]:
    return {
        "agreement_id": a.id,
        "advisor_id": a.advisor_id,
        "status": a.status,
        "starts_on": a.starts_on.isoformat(),
        "ends_on": a.ends_on.isoformat(),
        "scope": a.scope,
        "scope_text": a.scope_text,
        "hours_per_month": a.hours_per_month,
        "compensation": a.compensation.model_dump(),
        "renewable": a.renewable,
        "ending_soon": a.ending_soon_raised,
        "version": a.version,
    }


class CompensationIn(RequestBody):
    """``Compensation`` as a caller sends it, each amount bounded."""

    pro_bono: bool = False
    rate_minor_units: NonNegative | None = Field(None, description="per hour")
    currency: Code | None = Field(None, description="ISO 4217 code")
    cap_minor_units: NonNegative | None = None
    cap_hours: NonNegative | None = None

    def terms(self) -> Compensation:
        return Compensation(**self.model_dump())


class SignBody(RequestBody):
    advisor_id: Ref
    starts_on: SaneDate
    ends_on: SaneDate
    scope: ScopeCategory
    scope_text: Annotated[Text, Field(max_length=4_000)] | None = None
    hours_per_month: Annotated[Hours, Field(ge=1, le=200)]
    compensation: CompensationIn
    renewable: bool = True


class HoursBody(RequestBody):
    """Hours as a decimal ("1.5") or whole minutes; exactly one of them."""

    hours: (
        Annotated[
            Decimal,
            Field(gt=0, le=744, max_digits=9, decimal_places=6),
            # What is accepted, as integrators see it: a number, or a decimal string.
            WithJsonSchema(
                {
                    "anyOf": [
                        {"type": "number", "exclusiveMinimum": 0, "maximum": 744},
                        {
                            "type": "string",
                            "maxLength": 10,
                            "pattern": r"^\d{1,3}(\.\d{1,6})?$",
                        },
                    ]
                }
            ),
        ]
        | None
    ) = None
    minutes: Annotated[Minutes, Field(gt=0, le=44_640)] | None = None
    on: SaneDate
    kind: HoursKind = HoursKind.MENTORING

    def total_minutes(self) -> int:
        if (self.hours is None) == (self.minutes is None):
            raise ValidationFailed([FieldError("hours", "give hours or minutes")])
        if self.minutes is not None:
            return self.minutes
        assert self.hours is not None
        exact = self.hours * 60
        if exact != exact.to_integral_value():
            raise ValidationFailed([FieldError("hours", "must be whole minutes")])
        return int(exact)


class RenewBody(RequestBody):
    ends_on: SaneDate


class TerminateBody(RequestBody):
    on: SaneDate
    reason_code: Code


class ScheduleBody(RequestBody):
    advisor_id: Ref
    topic: EngagementTopic
    on: SaneDate
    audience_size: Annotated[Positive, Field(le=10_000)]


router = APIRouter(tags=["agreements"])
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS, Role.ADVISOR))]


@router.post("/agreements", status_code=201)
async def sign(app: App, body: SignBody, principal: Manager) -> dict[str, Any]:
    """Sign an agreement with an advisor."""
    terms = dict(body) | {"compensation": body.compensation.terms()}
    return agreement_view(await app.sign(principal, **terms))


@router.get("/agreements")
async def list_agreements(
    app: App, principal: Reader, advisor_id: Annotated[Ref | None, Query()] = None
) -> dict[str, Any]:
    """Agreements of the tenant (an advisor sees their own)."""
    return {"items": await app.listing(principal, advisor_id)}


@router.get("/agreements/{agreement_id}")
async def get_agreement(
    app: App, agreement_id: Ref, principal: Reader
) -> dict[str, Any]:
    """One agreement with its terms."""
    return agreement_view(await app.load(principal, agreement_id))


@router.get("/agreements/{agreement_id}/usage")
async def usage(
    app: App,
    agreement_id: Ref,
    principal: Reader,
    on: Annotated[SaneDate | None, Query()] = None,
) -> dict[str, Any]:
    """Hours this month, in total, cost so far and what is left."""
    agreement = await app.load(principal, agreement_id)
    return {"agreement_id": agreement_id} | agreement.usage(
        on or datetime.now(UTC).date()
    )


@router.post("/agreements/{agreement_id}/hours", status_code=201)
async def log_hours(
    app: App, agreement_id: Ref, body: HoursBody, principal: PrincipalDep
) -> dict[str, Any]:
    """Log hours against the agreement (a coordinator, or the advisor themselves)."""
    minutes = body.total_minutes()
    agreement = await app.change(
        principal,
        agreement_id,
        lambda a: a.log_hours(minutes, body.on, body.kind),
        advisor_may=True,
    )
    return {"agreement_id": agreement_id, "logged_hours": hours(minutes)} | (
        agreement.usage(body.on)
    )


@router.post("/agreements/{agreement_id}/renew")
async def renew(
    app: App, agreement_id: Ref, body: RenewBody, principal: Manager
) -> dict[str, Any]:
    """Extend the term to a new end date."""
    change = app.change
    return agreement_view(
        await change(principal, agreement_id, lambda a: a.renew(body.ends_on))
    )


@router.post("/agreements/{agreement_id}/terminate")
async def terminate(
    app: App, agreement_id: Ref, body: TerminateBody, principal: Manager
) -> dict[str, Any]:
    """End the agreement early."""
    decide = lambda a: a.terminate(body.on, body.reason_code)  # noqa: E731
    return agreement_view(await app.change(principal, agreement_id, decide))


@router.post("/engagements", status_code=201)
async def schedule(app: App, body: ScheduleBody, principal: Manager) -> dict[str, Any]:
    """Schedule a one-off session by an advisor."""
    e = await app.schedule(principal, **dict(body))
    return {"engagement_id": e.id, "status": e.status} | body.model_dump(mode="json")


@router.post("/engagements/{engagement_id}/deliver")
async def deliver(
    app: App, engagement_id: Ref, body: HoursBody, principal: PrincipalDep
) -> dict[str, Any]:
    """Record the session as given; its hours go on the advisor's agreement."""
    e = await app.deliver(principal, engagement_id, body.total_minutes(), body.on)
    return {
        "engagement_id": e.id,
        "status": e.status,
        "agreement_id": e.agreement_id,
        "minutes": e.minutes,
    }


@router.get("/engagements")
async def list_engagements(
    app: App, principal: Reader, advisor_id: Annotated[Ref | None, Query()] = None
) -> dict[str, Any]:
    """One-off engagements of the tenant (an advisor sees their own)."""
    return {"items": await app.engagement_list(principal, advisor_id)}
