"""Queries of the people part."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from contracts.api import profiles as api
from gateway.answers import read, read_list
from gateway.connections import Connection, from_list, from_pages
from gateway.context import ctx
from gateway.enums import PersonStatus, ProgrammeRole
from gateway.ids import local_id
from gateway.people import loaders
from gateway.people.types import (
    After,
    Cohort,
    Competency,
    First,
    ImportJob,
    Person,
    cohort_by_id,
    import_job_by_id,
    person_by_id,
)

SERVICE = "profiles"


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="The person the bearer token belongs to.")
    async def me(self, info: Info) -> Person | None:
        return await person_by_id(info, ctx(info).principal.subject)

    @strawberry.field(description="People of your organisation, filtered.")
    async def people(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        business_unit: Annotated[
            str | None, strawberry.argument(description="Only this business unit.")
        ] = None,
        role: Annotated[
            ProgrammeRole | None,
            strawberry.argument(description="Only people holding this programme role."),
        ] = None,
        status: Annotated[
            PersonStatus | None,
            strawberry.argument(description="Only this status (active, inactive)."),
        ] = None,
    ) -> Connection[Person]:
        c = ctx(info)

        async def fetch(
            upstream: str | None, limit: int
        ) -> tuple[list[api.Person], str | None]:
            answer = await c.caller.get(
                SERVICE,
                "/people",
                after=upstream,
                limit=limit,
                business_unit=business_unit,
                role=role.value if role else None,
                status=status.value if status else None,
            )
            page = read(api.PersonPage, answer, SERVICE)
            return page.items, page.next

        return await from_pages(
            fetch, Person.from_model, first, after, c.settings.max_page_size
        )

    @strawberry.field(description="Your organisation's cohorts, by name.")
    async def cohorts(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Cohort]:
        c = ctx(info)
        summaries = read_list(
            api.CohortSummary, await c.caller.get(SERVICE, "/cohorts"), SERVICE
        )
        # One batch call for every cohort's participants and waiting list.
        found = await loaders.cohorts(info).load_many([s.cohort_id for s in summaries])
        return from_list(
            [f for f in found if isinstance(f, api.CohortWithDates)],
            Cohort.from_model,
            first,
            after,
            c.settings.max_page_size,
        )

    @strawberry.field(description="One cohort (null when it does not exist).")
    async def cohort(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")],
    ) -> Cohort | None:
        return await cohort_by_id(info, local_id(id, "Cohort", "id"))

    @strawberry.field(description="Your organisation's competency framework.")
    async def competencies(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        include_retired: Annotated[
            bool, strawberry.argument(description="Also list retired competencies.")
        ] = False,
    ) -> Connection[Competency]:
        rows = await loaders.competencies(info).load("all")
        if not include_retired:
            rows = [r for r in rows if not r.retired]
        return from_list(
            rows, Competency.from_model, first, after, ctx(info).settings.max_page_size
        )

    @strawberry.field(description="An HRIS import job (null when it does not exist).")
    async def import_job(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")],
    ) -> ImportJob | None:
        return await import_job_by_id(info, local_id(id, "ImportJob", "id"))
