"""``erasureReport``: one answer to "is this person erased everywhere?" (admins).

Each service answers ``GET /admin/erasures/{person}`` with its own confirmation
(404 until it has erased the person); the report gathers the five side by side and is
``complete`` only when every one has confirmed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from chassis.auth.principal import Role
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


def _confirmation(service: str, body: dict[str, Any]) -> ServiceErasure:
    if service == "profiles":  # profiles answers store by store, with its actions
        own = body["services"]["profiles"]
        return ServiceErasure(
            service=service,
            confirmed=bool(own["complete"]),
            confirmed_at=own["confirmed_at"],
            stores=[s["store"] for s in own["stores"]],
        )
    return ServiceErasure(
        service=service,
        confirmed=True,
        confirmed_at=body["confirmed_at"],
        stores=list(body["stores"]),
    )


async def _ask(caller: Caller, service: str, path: str) -> ServiceErasure:
    try:
        body = await caller.get(service, path)
    except UpstreamError as exc:
        if exc.status != 404:
            raise
        return ServiceErasure(
            service=service, confirmed=False, confirmed_at=None, stores=[]
        )
    return _confirmation(service, body)


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
