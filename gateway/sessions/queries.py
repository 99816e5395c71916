"""Queries of the sessions part."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import sessions as api
from gateway.answers import read, read_list
from gateway.connections import (
    Connection,
    connection,
    decode_cursor,
    from_list,
    page_size,
)
from gateway.context import ctx
from gateway.enums import EscalationState, SurveyState
from gateway.errors import query_error
from gateway.ids import local_id
from gateway.nodes import BatchedNode, get_each
from gateway.sessions import loaders
from gateway.sessions.types import After, Escalation, First, Relationship, as_json
from gateway.upstream import UpstreamError, upstream_path

if TYPE_CHECKING:
    from gateway.people.types import Cohort

CohortRef = Annotated["Cohort", strawberry.lazy("gateway.people.types")]


@strawberry.type(description="An anonymous pulse survey of a cohort or the tenant.")
class PulseSurvey(BatchedNode, relay.Node):
    survey_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the survey."
    )
    questions: list[str] = strawberry.field(description="Questions, in order.")
    closes_at: str | None = strawberry.field(description="Deadline (ISO 8601).")
    k: int | None = strawberry.field(
        description="Fewest respondents ever reported (smaller groups are suppressed)."
    )
    state: SurveyState | None = strawberry.field(
        description="Whether it still takes answers."
    )
    cohort_id: str | None = strawberry.field(
        description="Its cohort's service id (null: tenant).",
        deprecation_reason="Use `cohort { id }`.",
    )

    @strawberry.field(description="Its cohort (null: the whole organisation).")
    async def cohort(self, info: Info) -> CohortRef | None:
        from gateway.people.types import cohort_by_id

        return await cohort_by_id(info, self.cohort_id)

    @strawberry.field(
        description="Aggregated answers once at least k responded (otherwise only "
        "that they are suppressed)."
    )
    async def results(self, info: Info) -> JSON | None:
        try:
            data = await ctx(info).caller.get(
                "sessions",
                upstream_path(
                    "/pulse-surveys/{pulse_survey}/results", pulse_survey=self.survey_id
                ),
            )
        except UpstreamError as exc:
            raise query_error(exc) from None
        return as_json(read(api.PulseResults, data, "sessions"))

    @classmethod
    def from_model(cls, m: api.PulseSurvey) -> PulseSurvey:
        return cls(
            survey_id=m.survey_id,
            questions=list(m.questions),
            closes_at=m.closes_at,
            k=m.k,
            state=SurveyState.CLOSED if m.closed else SurveyState.OPEN,
            cohort_id=m.cohort_id,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[PulseSurvey | None]:
        rows = await get_each(info, "sessions", "/pulse-surveys/{id}", node_ids)
        return [
            cls.from_model(read(api.PulseSurvey, r, "sessions")) if r else None
            for r in rows
        ]


# The fields of a relationship its list does not carry (``GET /relationships``):
# asked for anywhere under ``relationships``, the page is read in full.
_NOT_LISTED = frozenset({"terms", "cadenceAdherence"})


def _asks_any(selections: Sequence[Any], names: frozenset[str]) -> bool:
    """Whether a field named one of ``names`` is selected anywhere under
    ``selections`` (fields, fragments and inline fragments alike; a fragment of
    such a name counts too, erring on the side of reading in full)."""
    for selection in selections:
        if getattr(selection, "name", None) in names:
            return True
        if _asks_any(getattr(selection, "selections", None) or (), names):
            return True
    return False


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
            data = await c.caller.get("sessions", "/relationships", person_id=pid)
        except UpstreamError as exc:
            raise query_error(exc) from None
        rows = read_list(api.Relationship, data, "sessions")
        _, skip = decode_cursor(after)
        size = page_size(first, c.settings.max_page_size)
        # The list's rows lack only the contract's terms and the cadence adherence:
        # when the query asks for either, the page's window is read in full in one
        # batch; otherwise the rows are the answer.
        full: dict[str, api.Relationship | None] = {}
        if _asks_any(info.selected_fields, _NOT_LISTED):
            window = [r.relationship_id for r in rows[skip : skip + size]]
            loaded = await loaders.relationships(info).load_many(window)
            full = dict(zip(window, loaded, strict=True))

        def make(row: api.Relationship) -> Relationship:
            return Relationship.from_model(full.get(row.relationship_id) or row)

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
            EscalationState | None,
            strawberry.argument(description="Only escalations in this state."),
        ] = None,
    ) -> Connection[Escalation]:
        c = ctx(info)
        try:
            data = await c.caller.get(
                "sessions", "/escalations", state=state.value if state else None
            )
        except UpstreamError as exc:
            raise query_error(exc) from None
        rows = read_list(api.DevelopmentItem, data, "sessions")
        return from_list(
            rows, Escalation.from_model, first, after, c.settings.max_page_size
        )

    @strawberry.field(description="A pulse survey by its id.")
    async def pulse_survey(
        self,
        info: Info,
        survey_id: Annotated[
            strawberry.ID, strawberry.argument(description="Its id (a PulseSurvey).")
        ],
    ) -> PulseSurvey | None:
        try:
            data = await ctx(info).caller.get(
                "sessions",
                upstream_path(
                    "/pulse-surveys/{survey}",
                    survey=local_id(survey_id, "PulseSurvey", "surveyId"),
                ),
            )
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise query_error(exc) from None
        return PulseSurvey.from_model(read(api.PulseSurvey, data, "sessions"))
