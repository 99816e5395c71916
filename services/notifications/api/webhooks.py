"""Routes of a tenant's outbound webhook endpoints, over ``Webhooks``
(``application/webhooks.py``): admins and integration clients only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import Ref
from chassis.service import provided
from contracts.api.notifications import (
    EndpointCreated,
    EndpointIn,
    EndpointView,
    RotateIn,
    WebhookDeliveryView,
    WebhookLog,
)
from services.notifications.application.webhooks import Webhooks

router = APIRouter(tags=["webhooks"])
WebhooksDep = Annotated[Webhooks, Depends(provided(Webhooks))]
ONE = problems(403, 404)


@router.post("/webhooks/endpoints", status_code=201, responses=problems(403, 422))
async def register_endpoint(
    body: EndpointIn, principal: PrincipalDep, webhooks: WebhooksDep
) -> EndpointCreated:
    """Register an endpoint; its signing secret is in this answer only."""
    return await webhooks.register(
        principal, str(body.url), body.event_types, body.description
    )


@router.get("/webhooks/endpoints", responses=problems(403))
async def list_endpoints(
    principal: PrincipalDep, webhooks: WebhooksDep
) -> list[EndpointView]:
    """The organisation's endpoints."""
    return await webhooks.endpoints(principal)


@router.get("/webhooks/endpoints/{endpoint_id}", responses=ONE)
async def get_endpoint(
    endpoint_id: Ref, principal: PrincipalDep, webhooks: WebhooksDep
) -> EndpointView:
    """One endpoint as it stands (enabled, failing since)."""
    return await webhooks.endpoint(principal, endpoint_id)


@router.post("/webhooks/endpoints/{endpoint_id}/rotate", responses=ONE)
async def rotate_secret(
    endpoint_id: Ref, body: RotateIn, principal: PrincipalDep, webhooks: WebhooksDep
) -> EndpointCreated:
    """A new signing secret; the current one keeps signing for the overlap."""
    return await webhooks.rotate(principal, endpoint_id, body.overlap_s)


@router.post("/webhooks/endpoints/{endpoint_id}/enable", responses=ONE)
async def enable_endpoint(
    endpoint_id: Ref, principal: PrincipalDep, webhooks: WebhooksDep
) -> EndpointView:
    """Resume delivery to an endpoint disabled after sustained failure."""
    return await webhooks.enable(principal, endpoint_id)


@router.get("/webhooks/endpoints/{endpoint_id}/deliveries", responses=ONE)
async def delivery_log(
    endpoint_id: Ref,
    principal: PrincipalDep,
    webhooks: WebhooksDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WebhookLog:
    """The endpoint's latest messages and every attempt to deliver them."""
    return await webhooks.log(principal, endpoint_id, limit)


@router.post("/webhooks/deliveries/{delivery_id}/replay", responses=ONE)
async def replay_delivery(
    delivery_id: Ref, principal: PrincipalDep, webhooks: WebhooksDep
) -> WebhookDeliveryView:
    """Deliver a message again (same webhook-id), from a first attempt."""
    return await webhooks.replay(principal, delivery_id)
