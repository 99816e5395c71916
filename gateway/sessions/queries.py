"""Queries of the sessions part."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.connections import (
    Connection,
    connection,
    decode_cursor,
    from_list,
    page_size,
)
from gateway.context import ctx
from gateway.errors import query_error
from gateway.ids import local_id, plain_id
from gateway.sessions import loaders
from gateway.sessions.types import After, Escalation, First, Relationship
from gateway.upstream import UpstreamError, upstream_path


@strawberry.type(description="An anonymous pulse survey of a cohort or the tenant.")
class PulseSurvey:
    survey_id: strawberry.ID = strawberry.field(description="Its id.")
    questions: list[str] = strawberry.field(description="Questions, in order.")
    closes_at: str | None = strawberry.field(description="Deadline (ISO 8601).")
    k: int | None = strawberry.field(
        description="Fewest respondents ever reported (smaller groups are suppressed)."
    )
    state: str | None = strawberry.field(description="open or closed.")
    cohort_id: str | None = strawberry.field(description="Its cohort (null: tenant).")

    @strawberry.field(
        description="Aggregated answers once at least k responded (otherwise only "
        "that they are suppressed)."
    )
    async def results(self, info: Info) -> JSON | None:
        try:
            return await ctx(info).caller.get(
                "sessions",
                upstream_path(
                    "/pulse-surveys/{pulse_survey}/results", pulse_survey=self.survey_id
                ),
            )
        except UpstreamError as exc:
            raise query_error(exc) from None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PulseSurvey:
        return cls(
            survey_id=strawberry.ID(data["survey_id"]),
            questions=list(data.get("questions") or []),
            closes_at=data.get("closes_at"),
            k=data.get("k"),
            state="closed" if data.get("closed") else "open",
            cohort_id=data.get("cohort_id"),
        )


@strawberry.type
class SessionsQuery:
    @strawberry.field(
        description="Mentoring relationships: a mentor or mentee sees their own; "
        "coordinators and sponsors every relationship of the organisation."
    )
    async def relationships(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        person_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only relationships of this person."),
        ] = None,
    ) -> Connection[Relationship]:
        c = ctx(info)
        pid = local_id(person_id, "Person", "personId") if person_id else None
        try:
            rows = await c.caller.get("sessions", "/relationships", person_id=pid)
        except UpstreamError as exc:
            raise query_error(exc) from None
        # The list names them; the page's window is read in full in one batch.
        _, skip = decode_cursor(after)
        size = page_size(first, c.settings.max_page_size)
        window = [r["relationship_id"] for r in rows[skip : skip + size]]
        loaded = await loaders.relationships(info).load_many(window)
        full = dict(zip(window, loaded, strict=True))

        def make(row: dict[str, Any]) -> Relationship:
            data = full.get(row["relationship_id"])
            return Relationship.from_data(data if isinstance(data, dict) else row)

        return connection(rows, make, upstream=None, skip=skip, first=size)

    @strawberry.field(
        description="Escalations: coordinators see every one of the organisation; "
        "others those they raised."
    )
    async def escalations(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        state: Annotated[
            str | None, strawberry.argument(description="open or resolved.")
        ] = None,
    ) -> Connection[Escalation]:
        c = ctx(info)
        try:
            rows = await c.caller.get("sessions", "/escalations", state=state)
        except UpstreamError as exc:
            raise query_error(exc) from None
        return from_list(
            rows, Escalation.from_data, first, after, c.settings.max_page_size
        )

    @strawberry.field(description="A pulse survey by its id.")
    async def pulse_survey(
        self,
        info: Info,
        survey_id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")],
    ) -> PulseSurvey | None:
        try:
            data = await ctx(info).caller.get(
                "sessions",
                upstream_path(
                    "/pulse-surveys/{survey}",
                    survey=plain_id(survey_id, "PulseSurvey", "surveyId"),
                ),
            )
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise query_error(exc) from None
        return PulseSurvey.from_data(data)
