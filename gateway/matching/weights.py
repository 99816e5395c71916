"""A cohort's matching weights in the schema: read with their history, preview a
round with other weights beside the current ones, apply them (audited).

The gateway joins what the two services keep apart: matching never asks insights
for its pairing patterns, so here, when the caller names no weights, the suggested
ones are the cohort's current weights plus each change insights' pairing patterns
suggest (``pairingPatterns.suggestedWeights``), and applying them sends the
suggestions' evidence along as the change's basis.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from contracts.api import insights as insights_api
from contracts.api import matching as api
from contracts.matching import WeightsSource as WireSource
from gateway.answers import read
from gateway.context import ctx
from gateway.enums import ProgrammeType, v
from gateway.errors import (
    COMMON,
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)
from gateway.ids import local_id
from gateway.matching.types import PersonRef, load_person
from gateway.mutations import run
from gateway.upstream import upstream_path

MAX_WEIGHT = 100.0


@strawberry.enum(description="A criterion a pair's matching score is made of.")
class MatchingCriterion(enum.Enum):
    SKILLS = v(
        "skills", description="The mentor is strong where the mentee wants to grow."
    )
    EXPERIENCE = v(
        "experience", description="The mentor has the experience the mentee lacks."
    )
    PERSPECTIVE = v(
        "perspective",
        description="A different vantage point: unit, geography, function.",
    )
    STYLE = v(
        "style", description="The mentor's leadership style suits the learning style."
    )
    FORMATS = v(
        "formats", description="Formats the mentee prefers and the mentor offers."
    )
    AVAILABILITY = v(
        "availability", description="Shared weekly hours and hours per month."
    )
    GOALS = v("goals", description="The mentor has reached the mentee's target levels.")


@strawberry.enum(description="Where a cohort's matching weights came from.")
class WeightsBasis(enum.Enum):
    PAIRING_PATTERNS = v(
        "pairing_patterns",
        description="The changes insights' pairing patterns suggest, with their "
        "evidence.",
    )
    COORDINATOR = v("coordinator", description="Set by hand.")


# -- inputs ------------------------------------------------------------------------


@strawberry.input(description="One criterion's weight.")
class CriterionWeightInput:
    criterion: MatchingCriterion = strawberry.field(description="The criterion.")
    weight: float = strawberry.field(
        description="Its weight, 0 to 100 (weights are normalised to sum to 1)."
    )


@strawberry.input(description="Set the criterion weights a cohort's rounds use.")
class ApplyMatchingWeightsInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort.")
    weights: list[CriterionWeightInput] | None = strawberry.field(
        default=None,
        description="The weights (a criterion left out weighs 0); none: the "
        "cohort's current weights with the pairing patterns' suggested changes.",
    )
    basis: WeightsBasis = strawberry.field(
        default=WeightsBasis.PAIRING_PATTERNS,
        description="PAIRING_PATTERNS records the suggestions' evidence with the "
        "change; COORDINATOR records a change by hand.",
    )


# -- answers -----------------------------------------------------------------------


@strawberry.type(description="One criterion's weight.")
class CriterionWeight:
    criterion: MatchingCriterion = strawberry.field(description="The criterion.")
    weight: float = strawberry.field(description="Its weight.")


def _weights(items: list[api.CriterionWeight]) -> list[CriterionWeight]:
    return [
        CriterionWeight(criterion=MatchingCriterion(w.criterion.value), weight=w.weight)
        for w in items
    ]


@strawberry.type(description="The evidence one criterion's change rests on.")
class WeightChangeBasis:
    criterion: MatchingCriterion = strawberry.field(description="The criterion.")
    change: float = strawberry.field(description="The change suggested.")
    characteristic: str = strawberry.field(
        description="The pairing characteristic compared (function, style)."
    )
    favoured_pairings: int = strawberry.field(
        description="Pairings on the side the criterion favours."
    )
    favoured_healthy: int = strawberry.field(description="Of them, healthy.")
    other_pairings: int = strawberry.field(description="Pairings on the other side.")
    other_healthy: int = strawberry.field(description="Of them, healthy.")
    p_value: float | None = strawberry.field(
        description="Fisher's exact test of the two healthy rates."
    )


@strawberry.type(description="One change of a cohort's matching weights.")
class MatchingWeightsChange:
    version: int = strawberry.field(description="Its place in the history, from 1.")
    applied_at: datetime = strawberry.field(description="When it was applied.")
    _applied_by: strawberry.Private[str | None]
    source: WeightsBasis = strawberry.field(description="Where the weights came from.")
    suggested_on: date | None = strawberry.field(
        description="The day the suggestions applied were read."
    )
    weights: list[CriterionWeight] = strawberry.field(description="As set.")
    previous: list[CriterionWeight] = strawberry.field(
        description="Before (empty: the programme's preset)."
    )
    basis: list[WeightChangeBasis] = strawberry.field(
        description="The evidence of each suggested change."
    )

    @strawberry.field(
        description="The coordinator who applied it, as you may see them."
    )
    async def applied_by(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._applied_by)


@strawberry.type(description="The criterion weights a cohort's rounds use.")
class CohortMatchingWeights:
    programme_type: ProgrammeType = strawberry.field(description="The programme.")
    preset: bool = strawberry.field(
        description="True: the programme's preset, never changed."
    )
    weights: list[CriterionWeight] = strawberry.field(description="Current weights.")
    history: list[MatchingWeightsChange] = strawberry.field(
        description="Every change, oldest first."
    )

    @classmethod
    def from_model(cls, m: api.CohortWeightsView) -> CohortMatchingWeights:
        return cls(
            programme_type=ProgrammeType(m.programme_type.value),
            preset=m.preset,
            weights=_weights(m.weights),
            history=[
                MatchingWeightsChange(
                    version=h.version,
                    applied_at=h.applied_at,
                    _applied_by=h.applied_by,
                    source=WeightsBasis(h.source.value),
                    suggested_on=h.suggested_on,
                    weights=_weights(h.weights),
                    previous=_weights(h.previous),
                    basis=[
                        WeightChangeBasis(
                            criterion=MatchingCriterion(b.criterion.value),
                            change=b.change,
                            characteristic=b.characteristic,
                            favoured_pairings=b.favoured_pairings,
                            favoured_healthy=b.favoured_healthy,
                            other_pairings=b.other_pairings,
                            other_healthy=b.other_healthy,
                            p_value=b.p_value,
                        )
                        for b in h.basis
                    ],
                )
                for h in m.history
            ],
        )


@strawberry.type(description="A cohort's next round under one weighting.")
class WeightsPreviewSide:
    weights: list[CriterionWeight] = strawberry.field(
        description="The weights, normalised to sum to 1."
    )
    paired: int = strawberry.field(description="Mentees it pairs.")
    unmatched: int = strawberry.field(description="Mentees it leaves waiting.")
    total_score: float = strawberry.field(description="Sum of its pairs' scores.")
    mean_score: float | None = strawberry.field(
        description="Mean score of its pairs (null: none)."
    )

    @classmethod
    def from_model(cls, m: api.WeightsPreviewSide) -> WeightsPreviewSide:
        return cls(
            weights=_weights(m.weights),
            paired=m.paired,
            unmatched=m.unmatched,
            total_score=m.total_score,
            mean_score=m.mean_score,
        )


@strawberry.type(description="A mentee's mentor under each weighting.")
class WeightsPreviewPair:
    _mentee_id: strawberry.Private[str]
    _current: strawberry.Private[str | None]
    _proposed: strawberry.Private[str | None]
    current_score: float | None = strawberry.field(
        description="The pair's score with the current weights."
    )
    proposed_score: float | None = strawberry.field(
        description="The pair's score with the proposed weights."
    )
    differs: bool = strawberry.field(description="The two pair this mentee apart.")

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @strawberry.field(description="The mentor with the current weights (null: none).")
    async def current_mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._current)

    @strawberry.field(description="The mentor with the proposed weights (null: none).")
    async def proposed_mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._proposed)


@strawberry.type(
    description="A cohort's next round with its current weights and with proposed "
    "ones, side by side; nothing is recorded."
)
class MatchingWeightsPreview:
    current: WeightsPreviewSide = strawberry.field(description="Current weights.")
    proposed: WeightsPreviewSide = strawberry.field(description="Proposed weights.")
    differing: int = strawberry.field(
        description="Mentees the two rounds pair differently."
    )
    pairs: list[WeightsPreviewPair] = strawberry.field(description="Every mentee.")

    @classmethod
    def from_model(cls, m: api.WeightsPreview) -> MatchingWeightsPreview:
        return cls(
            current=WeightsPreviewSide.from_model(m.current),
            proposed=WeightsPreviewSide.from_model(m.proposed),
            differing=m.differing,
            pairs=[
                WeightsPreviewPair(
                    _mentee_id=p.mentee_id,
                    _current=p.current_mentor_id,
                    _proposed=p.proposed_mentor_id,
                    current_score=p.current_score,
                    proposed_score=p.proposed_score,
                    differs=p.differs,
                )
                for p in m.pairs
            ],
        )


@strawberry.type(description="The cohort's weights were applied.")
class ApplyMatchingWeightsSuccess:
    weights: CohortMatchingWeights = strawberry.field(
        description="The cohort's weights and history, as now."
    )


# -- the join ----------------------------------------------------------------------


def _checked(items: list[CriterionWeightInput], path: str) -> dict[str, float]:
    """The weights as matching's map, refused here (typed, with the item's path)
    when a criterion repeats or a weight is out of range."""
    out: dict[str, float] = {}
    for n, item in enumerate(items):
        if item.criterion.value in out:
            raise _invalid("a criterion is given twice", f"{path}.{n}.criterion")
        if not 0 <= item.weight <= MAX_WEIGHT:
            raise _invalid("a weight is between 0 and 100", f"{path}.{n}.weight")
        out[item.criterion.value] = item.weight
    if not out or sum(out.values()) <= 0:
        raise _invalid("at least one weight must be positive", path)
    return out


def _invalid(message: str, path: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "ValidationError", "path": path})


async def _current(info: Info, cohort: str) -> api.CohortWeightsView:
    data = await ctx(info).caller.get(
        "matching", upstream_path("/cohorts/{cid}/weights", cid=cohort)
    )
    return read(api.CohortWeightsView, data, "matching")


async def suggested(
    info: Info, cohort: str
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The cohort's current weights plus each change the pairing patterns suggest
    (none below 0), and the evidence of each change as matching's basis."""
    current = await _current(info, cohort)
    patterns = read(
        insights_api.PairingPatterns,
        await ctx(info).caller.get("insights", "/patterns"),
        "insights",
    )
    weights = {w.criterion.value: w.weight for w in current.weights}
    basis = []
    for s in patterns.suggested_weights:
        if not s.change:
            continue
        name = s.criterion.value
        weights[name] = max(0.0, round(weights.get(name, 0.0) + s.change, 6))
        e = s.evidence
        basis.append(
            {
                "criterion": name,
                "change": s.change,
                "characteristic": e.characteristic,
                "favoured_pairings": e.favoured.pairings,
                "favoured_healthy": e.favoured.healthy,
                "other_pairings": e.other.pairings,
                "other_healthy": e.other.healthy,
                "p_value": e.p_value,
            }
        )
    return {k: w for k, w in weights.items() if w}, basis


WeightsArgument = Annotated[
    list[CriterionWeightInput] | None,
    strawberry.argument(
        description="The proposed weights (a criterion left out weighs 0); none: "
        "the cohort's current weights with the pairing patterns' suggested changes."
    ),
]
CohortArgument = Annotated[
    strawberry.ID, strawberry.argument(description="The cohort.")
]

ApplyMatchingWeightsResult = Annotated[
    ApplyMatchingWeightsSuccess
    | ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | Conflict
    | ServiceUnavailable,
    strawberry.union("ApplyMatchingWeightsResult"),
]


@strawberry.type
class WeightsQuery:
    @strawberry.field(
        description="The criterion weights a cohort's rounds use, with every change "
        "(who, when, on which evidence) (coordinators and sponsors)."
    )
    async def matching_weights(
        self, info: Info, cohort: CohortArgument
    ) -> CohortMatchingWeights:
        cid = local_id(cohort, "Cohort", "cohort")
        return CohortMatchingWeights.from_model(await _current(info, cid))

    @strawberry.field(
        description="A cohort's next round with its current weights and with "
        "proposed ones, side by side: the pairs each makes, their total and mean "
        "score, how many differ. Nothing is recorded (coordinators)."
    )
    async def matching_weights_preview(
        self, info: Info, cohort: CohortArgument, weights: WeightsArgument = None
    ) -> MatchingWeightsPreview:
        cid = local_id(cohort, "Cohort", "cohort")
        proposed = (
            _checked(weights, "weights")
            if weights is not None
            else (await suggested(info, cid))[0]
        )
        data = await ctx(info).caller.post(
            "matching",
            upstream_path("/cohorts/{cid}/weights/preview", cid=cid),
            {"weights": proposed},
        )
        return MatchingWeightsPreview.from_model(
            read(api.WeightsPreview, data, "matching")
        )


def _applied(answer: api.CohortWeightsView) -> ApplyMatchingWeightsSuccess:
    return ApplyMatchingWeightsSuccess(weights=CohortMatchingWeights.from_model(answer))


@strawberry.type
class WeightsMutation:
    @strawberry.mutation(
        description="Set the criterion weights a cohort's rounds use (coordinators): "
        "by default the pairing patterns' suggestions on the current weights, their "
        "evidence recorded with the change; audited in the cohort's history."
    )
    async def apply_matching_weights(
        self, info: Info, input: ApplyMatchingWeightsInput
    ) -> ApplyMatchingWeightsResult:
        return await _apply(info, input)


async def _apply(info: Info, input: ApplyMatchingWeightsInput) -> Any:
    async def call() -> api.CohortWeightsView:
        cid = local_id(input.cohort_id, "Cohort", "input.cohortId")
        basis: list[dict[str, Any]] = []
        weights = (
            _checked(input.weights, "input.weights")
            if input.weights is not None
            else None
        )
        if input.basis is WeightsBasis.PAIRING_PATTERNS:
            suggestion, basis = await suggested(info, cid)
            if not basis:
                raise _invalid(
                    "the pairing patterns suggest no change yet (not enough "
                    "evidence): see pairingPatterns.suggestedWeights",
                    "input.basis",
                )
            weights = suggestion if weights is None else weights
        if weights is None:
            raise _invalid(
                "give the weights, or apply the pairing patterns' suggestions",
                "input.weights",
            )
        body: dict[str, Any] = {"weights": weights, "source": input.basis.value}
        if input.basis is WeightsBasis.PAIRING_PATTERNS:
            body["source"] = WireSource.PAIRING_PATTERNS.value
            body["suggested_on"] = datetime.now(UTC).date().isoformat()
            body["basis"] = basis
        return read(
            api.CohortWeightsView,
            await ctx(info).caller.put(
                "matching", upstream_path("/cohorts/{cid}/weights", cid=cid), body
            ),
            "matching",
        )

    return await run(call, _applied, COMMON)
