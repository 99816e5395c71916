"""Queries of the matching part."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from contracts.api import matching as api
from gateway.answers import read, read_list
from gateway.connections import Connection, from_list
from gateway.context import ctx
from gateway.enums import PairingStatus
from gateway.ids import local_id
from gateway.matching.types import Pairing, RotationPlan, Suggestions
from gateway.upstream import UpstreamError, upstream_path

First = Annotated[
    int | None, strawberry.argument(description="Page size (default 20).")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor of the last edge already seen.")
]


@strawberry.type
class MatchingQuery:
    @strawberry.field(
        description="Pairings, filtered: yours, or (coordinators and sponsors) anyone's."
    )
    async def pairings(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        person_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only pairings of this person."),
        ] = None,
        round_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only pairings proposed by this round."),
        ] = None,
        status: Annotated[
            PairingStatus | None,
            strawberry.argument(
                description="Only this status (proposed, approved, confirmed …)."
            ),
        ] = None,
    ) -> Connection[Pairing]:
        c = ctx(info)
        items = read_list(
            api.PairingView,
            await c.caller.get(
                "matching",
                "/pairings",
                person_id=local_id(person_id, "Person", "personId")
                if person_id
                else None,
                round_id=local_id(round_id, "MatchingRound", "roundId")
                if round_id
                else None,
                state=status.value if status else None,
            ),
            "matching",
        )
        return from_list(
            items, Pairing.from_model, first, after, c.settings.max_page_size
        )

    @strawberry.field(
        description="A mentee's top mentors, each explained (the mentee or coordinators)."
    )
    async def suggestions(
        self,
        info: Info,
        mentee_id: Annotated[
            strawberry.ID, strawberry.argument(description="The mentee.")
        ],
        top: Annotated[
            int, strawberry.argument(description="How many mentors (1 to 20).")
        ] = 5,
        cohort_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The cohort (default: the mentee's)."),
        ] = None,
    ) -> Suggestions:
        mentee = local_id(mentee_id, "Person", "menteeId")
        data = await ctx(info).caller.get(
            "matching",
            upstream_path("/mentees/{mentee}/suggestions", mentee=mentee),
            top=top,
            cohort_id=local_id(cohort_id, "Cohort", "cohortId") if cohort_id else None,
        )
        return Suggestions.from_model(read(api.Suggestions, data, "matching"))

    @strawberry.field(description="A mentee's latest rotation plan (null when none).")
    async def rotation_plan(
        self,
        info: Info,
        mentee_id: Annotated[
            strawberry.ID, strawberry.argument(description="The mentee.")
        ],
    ) -> RotationPlan | None:
        mentee = local_id(mentee_id, "Person", "menteeId")
        try:
            data = await ctx(info).caller.get(
                "matching", upstream_path("/mentees/{mentee}/rotation", mentee=mentee)
            )
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise
        if data is None:
            return None
        return RotationPlan.from_model(read(api.RotationPlanView, data, "matching"))
