"""Queries of the advisors part."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import advisors as api
from gateway.advisors import loaders
from gateway.advisors.types import Advisor, Agreement, Council, Risk
from gateway.answers import read, read_list
from gateway.connections import (
    Connection,
    connection,
    decode_cursor,
    from_list,
    from_pages,
    page_size,
)
from gateway.context import ctx
from gateway.enums import AdvisorStatus
from gateway.errors import query_error
from gateway.ids import local_id
from gateway.upstream import UpstreamError

First = Annotated[
    int | None, strawberry.argument(description="Page size (default 20).")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor of the last edge already seen.")
]
A = "advisors"


async def _get(info: Info, path: str, **params: Any) -> Any:
    try:
        return await ctx(info).caller.get(A, path, **params)
    except UpstreamError as exc:
        raise query_error(exc) from None


@strawberry.type
class AdvisorsQuery:
    @strawberry.field(description="External advisors of your organisation.")
    async def advisors(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        status: Annotated[
            AdvisorStatus | None,
            strawberry.argument(description="Only this status, e.g. approved."),
        ] = None,
    ) -> Connection[Advisor]:
        async def fetch(
            upstream: str | None, limit: int
        ) -> tuple[list[api.AdvisorView], str | None]:
            page = read(
                api.AdvisorPage,
                await _get(
                    info,
                    "/advisors",
                    after=upstream,
                    limit=limit,
                    status=status.value if status else None,
                ),
                A,
            )
            return page.items, page.next_after

        return await from_pages(
            fetch,
            Advisor.from_model,
            first,
            after,
            ctx(info).settings.max_page_size,
            upstream_limit=200,
        )

    @strawberry.field(
        description="Agreements with advisors (an advisor sees their own)."
    )
    async def advisor_agreements(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        advisor_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this advisor's agreements."),
        ] = None,
    ) -> Connection[Agreement]:
        aid = local_id(advisor_id, "Advisor", "advisorId") if advisor_id else None
        body = read(
            api.AgreementSummaries, await _get(info, "/agreements", advisor_id=aid), A
        )
        return from_list(
            body.items,
            Agreement.from_summary,
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @strawberry.field(
        description="Advisory councils you may read: every council for "
        "coordinators, admins and sponsors; for the others those they sit on and "
        "those that publish their decisions (whose `decisions` everyone reads)."
    )
    async def councils(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Council]:
        rows = read_list(api.CouncilSummary, await _get(info, "/councils"), A)
        _, skip = decode_cursor(after)
        size = page_size(first, ctx(info).settings.max_page_size)
        window = [r.council_id for r in rows[skip : skip + size]]
        loaded = await loaders.councils(info).load_many(window)
        full = dict(zip(window, loaded, strict=True))

        def make(row: api.CouncilSummary) -> Council:
            found = full.get(row.council_id)
            if found is not None:
                return Council.from_model(found)
            return Council.from_summary(row)

        return connection(rows, make, upstream=None, skip=skip, first=size)

    @strawberry.field(
        description="The programme's risk register, highest likelihood x impact first."
    )
    async def risks(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        include_closed: Annotated[
            bool, strawberry.argument(description="Include closed risks.")
        ] = False,
    ) -> Connection[Risk]:
        body = read(
            api.RiskRegister,
            await _get(info, "/risks", include_closed=include_closed),
            A,
        )
        return from_list(
            body.risks,
            Risk.from_model,
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @strawberry.field(
        description="The register's 5x5 heat map: open risks by likelihood and impact."
    )
    async def risk_heat_map(self, info: Info) -> JSON:
        register = read(api.RiskRegister, await _get(info, "/risks"), A)
        return JSON([cell.model_dump(mode="json") for cell in register.heat_map])
