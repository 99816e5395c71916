"""Queries of the insights part (the service decides who may read what)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import insights as api
from gateway.answers import read
from gateway.connections import Connection, from_list
from gateway.context import ctx
from gateway.enums import EquityDimension, HealthState
from gateway.ids import local_id
from gateway.insights.types import (
    EquityReport,
    GroupScorecard,
    HealthCountsAt,
    HealthInterval,
    MenteeScorecard,
    MentorImpactReport,
    PairingPatterns,
    ProgrammeOperations,
    RelationshipHealth,
    RelationshipScorecard,
)
from gateway.upstream import upstream_path

AsOf = Annotated[
    date | None,
    strawberry.argument(description="Describe the end of this day (default: now)."),
]
WARNING_STATES = ("needs_check_in", "at_risk")


def _refusal(item: api.Refused | None) -> GraphQLError:
    """A batch item refused (or missing from the answer) as the field's error."""
    error = item.error if item else None
    return GraphQLError(
        error.message if error and error.message else "not readable",
        extensions={
            "code": error.code if error and error.code else "Forbidden",
            "service": "insights",
        },
    )


def mentee_scorecards(
    info: Info, as_of: date | None
) -> DataLoader[str, api.MenteeScorecard]:
    """Mentee scorecards as of a day, many mentees in one call per tick."""
    c = ctx(info)
    moment = as_of.isoformat() if as_of else None

    async def batch(ids: Sequence[str]) -> list[api.MenteeScorecard | GraphQLError]:
        body = read(
            api.MenteeScorecardBatch,
            await c.caller.read_batch(
                "insights",
                "/scorecards/mentees/batch",
                {"ids": list(ids), "as_of": moment},
            ),
            "insights",
        )
        found = {i.id: i for i in body.items}
        out: list[api.MenteeScorecard | GraphQLError] = []
        for i in ids:
            item = found.get(i)
            if isinstance(item, api.MenteeScorecardFound):
                out.append(item.card)
            else:
                out.append(_refusal(item))
        return out

    return c.loader(("insights.mentee_scorecards", moment), batch)


def relationship_health(info: Info) -> DataLoader[str, api.RelationshipHealth]:
    """Relationship health by id, many in one call per tick."""
    c = ctx(info)

    async def batch(
        ids: Sequence[str],
    ) -> list[api.RelationshipHealth | GraphQLError]:
        body = read(
            api.HealthBatch,
            await c.caller.read_batch(
                "insights", "/relationships/health/batch", {"ids": list(ids)}
            ),
            "insights",
        )
        found = {i.id: i for i in body.items}
        out: list[api.RelationshipHealth | GraphQLError] = []
        for i in ids:
            item = found.get(i)
            if isinstance(item, api.HealthFound):
                out.append(item.health)
            else:
                out.append(_refusal(item))
        return out

    return c.loader("insights.health", batch)


def _cohort(value: strawberry.ID | None) -> str | None:
    return local_id(value, "Cohort", "cohortId") if value else None


def _as_of(value: date | None) -> str | None:
    return value.isoformat() if value else None


@strawberry.type
class InsightsQuery:
    @strawberry.field(
        description="A mentee's balanced scorecard (the mentee themself and the "
        "programme team). Null with an error when you may not read it."
    )
    async def mentee_scorecard(
        self,
        info: Info,
        mentee_id: Annotated[
            strawberry.ID, strawberry.argument(description="The mentee (a Person).")
        ],
        as_of: AsOf = None,
    ) -> MenteeScorecard | None:
        pid = local_id(mentee_id, "Person", "menteeId")
        card = await mentee_scorecards(info, as_of).load(pid)
        return MenteeScorecard.from_model(card)

    @strawberry.field(
        description="Several mentees' scorecards in the order asked (one upstream "
        "call); an unreadable one is null with an error."
    )
    async def mentee_scorecards(
        self,
        info: Info,
        mentee_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="The mentees (Persons), at most 100."),
        ],
        as_of: AsOf = None,
    ) -> list[MenteeScorecard | None]:
        if len(mentee_ids) > 100:
            raise GraphQLError(
                "at most 100 mentees",
                extensions={"code": "ValidationError", "path": "menteeIds"},
            )
        ids = [
            local_id(m, "Person", f"menteeIds.{n}") for n, m in enumerate(mentee_ids)
        ]
        loader = mentee_scorecards(info, as_of)
        rows = await asyncio.gather(
            *(loader.load(i) for i in ids), return_exceptions=True
        )
        return [
            MenteeScorecard.from_model(r)
            if isinstance(r, api.MenteeScorecard)
            else None
            for r in rows
        ]

    @strawberry.field(description="A relationship's balanced scorecard.")
    async def relationship_scorecard(
        self,
        info: Info,
        relationship_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The relationship (a Relationship)."),
        ],
        as_of: AsOf = None,
    ) -> RelationshipScorecard:
        data = await ctx(info).caller.get(
            "insights",
            upstream_path(
                "/scorecards/relationships/{relationship}",
                relationship=local_id(
                    relationship_id, "Relationship", "relationshipId"
                ),
            ),
            as_of=_as_of(as_of),
        )
        return RelationshipScorecard.from_model(
            read(api.RelationshipScorecard, data, "insights")
        )

    @strawberry.field(description="A cohort's balanced scorecard (programme team).")
    async def cohort_scorecard(
        self,
        info: Info,
        cohort_id: Annotated[
            strawberry.ID, strawberry.argument(description="The cohort.")
        ],
        as_of: AsOf = None,
    ) -> GroupScorecard:
        data = await ctx(info).caller.get(
            "insights",
            upstream_path(
                "/scorecards/cohorts/{cohort}",
                cohort=local_id(cohort_id, "Cohort", "cohortId"),
            ),
            as_of=_as_of(as_of),
        )
        return GroupScorecard.from_model(read(api.CohortScorecard, data, "insights"))

    @strawberry.field(
        description="The programme's balanced scorecard (programme team)."
    )
    async def programme_scorecard(
        self, info: Info, as_of: AsOf = None
    ) -> GroupScorecard:
        data = await ctx(info).caller.get(
            "insights", "/scorecards/programme", as_of=_as_of(as_of)
        )
        return GroupScorecard.from_model(read(api.ProgrammeScorecard, data, "insights"))

    @strawberry.field(
        description="A relationship's health now (its pair and overseers)."
    )
    async def relationship_health(
        self,
        info: Info,
        relationship_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The relationship (a Relationship)."),
        ],
    ) -> RelationshipHealth | None:
        rid = local_id(relationship_id, "Relationship", "relationshipId")
        health = await relationship_health(info).load(rid)
        return RelationshipHealth.from_model(health)

    @strawberry.field(description="Every relationship's health (overseers), filtered.")
    async def relationship_healths(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last edge already seen."),
        ] = None,
        state: Annotated[
            HealthState | None, strawberry.argument(description="Only this state.")
        ] = None,
        cohort_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this cohort.")
        ] = None,
    ) -> Connection[RelationshipHealth]:
        c = ctx(info)
        body = read(
            api.HealthList,
            await c.caller.get(
                "insights",
                "/relationships/health",
                state=state.value if state else None,
                cohort_id=_cohort(cohort_id),
            ),
            "insights",
        )
        return from_list(
            body.items,
            RelationshipHealth.from_model,
            first,
            after,
            c.settings.max_page_size,
        )

    @strawberry.field(
        description="Relationships that need attention now: needing a check-in, at "
        "risk or idle (overseers)."
    )
    async def early_warnings(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last edge already seen."),
        ] = None,
        cohort_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this cohort.")
        ] = None,
    ) -> Connection[RelationshipHealth]:
        c = ctx(info)
        body = read(
            api.HealthList,
            await c.caller.get(
                "insights", "/relationships/health", cohort_id=_cohort(cohort_id)
            ),
            "insights",
        )
        items = [i for i in body.items if i.state in WARNING_STATES or i.idle]
        return from_list(
            items,
            RelationshipHealth.from_model,
            first,
            after,
            c.settings.max_page_size,
        )

    @strawberry.field(
        description="How many relationships stood in each health state at the end "
        "of each point date, oldest first (overseers). The points step back from "
        "`to` while not before `from`, so the last one is `to`; at most 60."
    )
    async def relationship_health_history(
        self,
        info: Info,
        from_: Annotated[
            date, strawberry.argument(name="from", description="First day (earliest).")
        ],
        to: Annotated[date, strawberry.argument(description="Last day (a point).")],
        every: Annotated[
            HealthInterval, strawberry.argument(description="Distance between points.")
        ] = HealthInterval.WEEK,
        cohort_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this cohort.")
        ] = None,
    ) -> list[HealthCountsAt]:
        data = await ctx(info).caller.get(
            "insights",
            "/relationships/health/history",
            **{"from": from_.isoformat(), "to": to.isoformat()},
            every=every.value,
            cohort_id=_cohort(cohort_id),
        )
        history = read(api.HealthHistory, data, "insights")
        return [HealthCountsAt.from_model(p) for p in history.points]

    @strawberry.field(
        description="A mentor's impact in a quarter (the mentor, overseers)."
    )
    async def mentor_impact(
        self,
        info: Info,
        mentor_id: Annotated[
            strawberry.ID, strawberry.argument(description="The mentor (a Person).")
        ],
        quarter: Annotated[str, strawberry.argument(description="e.g. 2027Q1.")],
    ) -> MentorImpactReport:
        pid = local_id(mentor_id, "Person", "mentorId")
        data = await ctx(info).caller.get(
            "insights", upstream_path("/mentors/{pid}/impact", pid=pid), quarter=quarter
        )
        return MentorImpactReport.from_model(read(api.MentorImpact, data, "insights"))

    @strawberry.field(
        description="Equity along one dimension (overseers); small groups suppressed."
    )
    async def equity_report(
        self,
        info: Info,
        by: Annotated[
            EquityDimension | None,
            strawberry.argument(
                description="What to group people by (default BUSINESS_UNIT)."
            ),
        ] = None,
        attribute: Annotated[
            str | None,
            strawberry.argument(
                description="With `by: DEMOGRAPHICS`: the attribute, e.g. `gender`."
            ),
        ] = None,
        dimension: Annotated[
            str | None,
            strawberry.argument(
                description="business_unit, level_band, tenure_band, geography or "
                "demographics.<attribute>.",
                deprecation_reason="Use `by` (and `attribute`).",
            ),
        ] = None,
        cohort_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this cohort.")
        ] = None,
        as_of: Annotated[
            date | None,
            strawberry.argument(
                description="As it stood at the end of this day (not after today), "
                "every fact at its effective day (default: now)."
            ),
        ] = None,
    ) -> EquityReport:
        cohort = _cohort(cohort_id)  # a bad id first, as everywhere
        data = await ctx(info).caller.get(
            "insights",
            "/equity",
            dimension=_dimension(by, attribute, dimension),
            cohort_id=cohort,
            as_of=_as_of(as_of),
        )
        return EquityReport.from_model(read(api.EquityReport, data, "insights"))

    @strawberry.field(
        description="Outcome rates by pairing characteristic (overseers)."
    )
    async def pairing_patterns(self, info: Info) -> PairingPatterns:
        data = await ctx(info).caller.get("insights", "/patterns")
        return PairingPatterns.from_model(read(api.PairingPatterns, data, "insights"))

    @strawberry.field(description="How the programme runs (overseers).")
    async def programme_operations(self, info: Info) -> ProgrammeOperations:
        data = await ctx(info).caller.get("insights", "/operations")
        return ProgrammeOperations.from_model(
            read(api.ProgrammeOperations, data, "insights")
        )


def _dimension(
    by: EquityDimension | None, attribute: str | None, dimension: str | None
) -> str:
    """The service's dimension (``demographics.<attribute>`` for a demographic)."""
    if dimension is not None:
        if by is not None or attribute is not None:
            raise _invalid("give `by` (and `attribute`), not `dimension` too", "by")
        return dimension
    chosen = by or EquityDimension.BUSINESS_UNIT
    if chosen is EquityDimension.DEMOGRAPHICS:
        if not attribute:
            raise _invalid("`by: DEMOGRAPHICS` needs the `attribute`", "attribute")
        return f"demographics.{attribute}"
    if attribute is not None:
        raise _invalid("`attribute` goes with `by: DEMOGRAPHICS` only", "attribute")
    return str(chosen.value)


def _invalid(message: str, argument: str) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": "ValidationError", "path": argument}
    )
