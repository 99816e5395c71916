"""Queries of the people part."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.connections import from_pages
from gateway.context import ctx
from gateway.people.types import Person, person_by_id


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="The person the bearer token belongs to.")
    async def me(self, info: Info) -> Person | None:
        return await person_by_id(info, ctx(info).principal.subject)

    @strawberry.field(description="People of your organisation, filtered.")
    async def people(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last edge already seen."),
        ] = None,
        business_unit: Annotated[
            str | None, strawberry.argument(description="Only this business unit.")
        ] = None,
        role: Annotated[
            str | None,
            strawberry.argument(description="Only people holding this programme role."),
        ] = None,
        status: Annotated[
            str | None,
            strawberry.argument(description="Only this status (active, inactive)."),
        ] = None,
    ) -> relay.Connection[Person]:
        c = ctx(info)

        async def fetch(upstream: str | None, limit: int) -> dict:
            return await c.caller.get(
                "profiles",
                "/people",
                after=upstream,
                limit=limit,
                business_unit=business_unit,
                role=role,
                status=status,
            )

        return await from_pages(
            fetch, Person.from_data, first, after, c.settings.max_page_size
        )
