"""``erasureReport``: one answer to "is this person erased everywhere?" (admins).

Each service answers ``GET /admin/erasures/{person}`` with its own confirmation
(404 until it has erased the person); the report gathers the five side by side and is
``complete`` only when every one has confirmed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from chassis.auth.principal import Role
from chassis.erasure_receipts import ErasureConfirmation
from contracts.api import insights as insights_api
from contracts.api import profiles as profiles_api
from gateway.answers import read
from gateway.context import ctx
from gateway.ids import local_id
from gateway.upstream import Caller, UpstreamError, upstream_path

SERVICES = ("profiles", "matching", "sessions", "advisors", "insights")


@strawberry.type(description="One service's confirmation that it erased the person.")
class ServiceErasure:
    service: str = strawberry.field(description="The service that answered.")
    confirmed: bool = strawberry.field(
        description="The service has forgotten the person in every store it names."
    )
    confirmed_at: str | None = strawberry.field(
        description="When it finished (ISO 8601); null until it confirms."
    )
    stores: list[str] = strawberry.field(
        description="The stores the erasure went through (empty until it confirms)."
    )


@strawberry.type(
    description="Where the erasure of a person stands, service by service."
)
class ErasureReport:
    person_id: strawberry.ID = strawberry.field(description="The erased Person's id.")
    services: list[ServiceErasure] = strawberry.field(
        description="Every service's answer, in a fixed order."
    )
    complete: bool = strawberry.field(
        description="Every service has confirmed the erasure."
    )


def _unconfirmed(service: str) -> ServiceErasure:
    return ServiceErasure(
        service=service, confirmed=False, confirmed_at=None, stores=[]
    )


def _confirmation(service: str, answer: object) -> ServiceErasure:
    """The service's answer read through its model: profiles answers an
    ``ErasureReport`` store by store (with its actions); insights and the chassis's
    route of the other services answer an ``ErasureConfirmation``."""
    if service == "profiles":
        report = read(profiles_api.ErasureReport, answer, service)
        own = report.services.get(service)
        if own is None:
            return _unconfirmed(service)
        return ServiceErasure(
            service=service,
            confirmed=own.complete,
            confirmed_at=own.confirmed_at.isoformat(),
            stores=[s.store for s in own.stores],
        )
    confirmation: insights_api.ErasureConfirmation | ErasureConfirmation
    if service == "insights":
        confirmation = read(insights_api.ErasureConfirmation, answer, service)
    else:
        confirmation = read(ErasureConfirmation, answer, service)
    return ServiceErasure(
        service=service,
        confirmed=True,
        confirmed_at=confirmation.confirmed_at,
        stores=list(confirmation.stores),
    )


async def _ask(caller: Caller, service: str, path: str) -> ServiceErasure:
    try:
        answer = await caller.get(service, path)
    except UpstreamError as exc:
        if exc.status != 404:
            raise
        return _unconfirmed(service)
    return _confirmation(service, answer)


@strawberry.type
class ErasureQuery:
    @strawberry.field(
        description="Each service's confirmation that it erased the person (admins)."
    )
    async def erasure_report(
        self,
        info: Info,
        person_id: Annotated[
            strawberry.ID, strawberry.argument(description="A Person's global id.")
        ],
    ) -> ErasureReport:
        c = ctx(info)
        if not c.principal.has_role(Role.ADMIN):
            raise GraphQLError(
                "only admins read erasure reports", extensions={"code": "Forbidden"}
            )
        person = local_id(person_id, "Person", "personId")
        path = upstream_path("/admin/erasures/{person}", person=person)
        answers = await asyncio.gather(*(_ask(c.caller, s, path) for s in SERVICES))
        return ErasureReport(
            person_id=person_id,
            services=list(answers),
            complete=all(a.confirmed for a in answers),
        )
