"""Mutations of the matching part: rounds, the pairing workflow, suggestions and
rotations. Each answers its success payload or a typed error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from contracts.api import matching as api
from gateway.answers import read
from gateway.context import ctx
from gateway.enums import MatchingMode
from gateway.errors import (
    COMMON,
    CapacityExceeded,
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationError,
    invalid,
)
from gateway.ids import local_id
from gateway.matching import loaders
from gateway.matching.types import (
    MatchingRound,
    Pairing,
    PersonRef,
    RotationPlan,
    load_person,
    pairing_by_id,
)
from gateway.mutations import run
from gateway.upstream import upstream_path

WITH_CAPACITY = (*COMMON, CapacityExceeded)


# -- inputs ------------------------------------------------------------------------


@strawberry.input(description="A pair the coordinator fixes for a round.")
class PinInput:
    mentee_id: strawberry.ID = strawberry.field(description="The mentee (a Person).")
    mentor_id: strawberry.ID = strawberry.field(description="The mentor (a Person).")


@strawberry.input(description="Fairness across mentee groups for a round.")
class FairnessInput:
    group_by: str = strawberry.field(
        default="business_unit",
        description="business_unit, level_band, geography, function or "
        "demographics.<attribute>.",
    )
    min_ratio: float = strawberry.field(
        default=0.9,
        description="Lowest allowed group mean as a share of the best group's.",
    )
    min_group_size: int = strawberry.field(
        default=5,
        description="Groups smaller than this are not reported; a value below the "
        "organisation's k is raised to k.",
    )


@strawberry.input(description="Start a matching round for a cohort.")
class StartMatchingRoundInput:
    cohort_id: strawberry.ID = strawberry.field(description="The cohort to pair.")
    mode: MatchingMode = strawberry.field(
        default=MatchingMode.QUALITY,
        description="What the round optimises.",
    )
    weights: strawberry.scalars.JSON | None = strawberry.field(
        default=None, description="Criterion → weight, overriding the defaults."
    )
    min_score: float = strawberry.field(
        default=0.0, description="Pairs scoring below this are not proposed."
    )
    fairness: FairnessInput | None = strawberry.field(
        default=None, description="Rebalance so no group lags behind."
    )
    pins: list[PinInput] = strawberry.field(
        default_factory=list, description="Pairs fixed by hand."
    )
    wait: bool = strawberry.field(
        default=False,
        description="Answer when the round has finished (else follow roundProgress).",
    )


@strawberry.input(description="Pair a finished round again around pinned pairs.")
class RerunRoundInput:
    round_id: strawberry.ID = strawberry.field(description="The round to re-run.")
    pins: list[PinInput] = strawberry.field(
        default_factory=list, description="Pairs fixed by hand."
    )


@strawberry.input(description="A pairing to act on.")
class PairingInput:
    pairing_id: strawberry.ID = strawberry.field(description="The pairing.")
    starts_on: date | None = strawberry.field(
        default=None,
        description="approvePairing only: the day the relationship starts (past "
        "days allowed, for a programme's history; at most a year ahead), carried "
        "by its confirmation. Omitted: it starts when both have accepted. Refused "
        "(ValidationError) on any other step.",
    )


@strawberry.input(description="A pairing to act on, with an optional reason.")
class DeclinePairingInput:
    pairing_id: strawberry.ID = strawberry.field(description="The pairing.")
    reason: str | None = strawberry.field(
        default=None, description="Why (shared with the coordinator only)."
    )


@strawberry.input(description="A pairing to act on, with the reason (required).")
class PairingReasonInput:
    pairing_id: strawberry.ID = strawberry.field(description="The pairing.")
    reason: str = strawberry.field(description="Why (1 to 1000 characters).")


@strawberry.input(description="Rule a mentor-mentee pair out.")
class ForbidPairInput:
    mentor_id: strawberry.ID = strawberry.field(description="The mentor (a Person).")
    mentee_id: strawberry.ID = strawberry.field(description="The mentee (a Person).")
    reason: str = strawberry.field(description="Why (kept for the record).")
    cohort_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only in this cohort (default: everywhere)."
    )


@strawberry.input(description="Set a suggested mentor aside for good.")
class DismissSuggestionInput:
    mentee_id: strawberry.ID = strawberry.field(description="The mentee (a Person).")
    mentor_id: strawberry.ID = strawberry.field(description="The mentor set aside.")


@strawberry.input(description="Plan a rotation through distinct mentors.")
class PlanRotationInput:
    mentee_id: strawberry.ID = strawberry.field(description="The mentee (a Person).")
    cycles: int = strawberry.field(description="How many mentors, one per cycle.")
    cycle_weeks: int = strawberry.field(description="Weeks per cycle.")
    starts_on: date = strawberry.field(description="First day of the first cycle.")
    cohort_id: strawberry.ID | None = strawberry.field(
        default=None, description="The cohort (default: the mentee's)."
    )


# -- payloads ----------------------------------------------------------------------


@strawberry.type(description="The round was started (or has finished, with wait).")
class MatchingRoundSuccess:
    round: MatchingRound = strawberry.field(description="The round, as now.")


@strawberry.type(description="The pairing changed.")
class PairingSuccess:
    pairing: Pairing | None = strawberry.field(description="The pairing, as now.")


@strawberry.type(description="The pair was ruled out.")
class ForbidPairSuccess:
    withdrawn: list[Pairing] = strawberry.field(
        description="Open proposals of that pair, now withdrawn."
    )


@strawberry.type(description="A replacement mentor was proposed.")
class RepairPairingSuccess:
    replacement: Pairing | None = strawberry.field(
        description="The proposed replacement pairing."
    )


@strawberry.type(description="The suggestion was set aside.")
class DismissSuggestionSuccess:
    _mentee_id: strawberry.Private[str]
    _mentor_id: strawberry.Private[str]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @strawberry.field(description="The mentor who will not be suggested again.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)


@strawberry.type(description="The rotation was planned.")
class PlanRotationSuccess:
    plan: RotationPlan = strawberry.field(description="The plan.")


_ERRORS = (
    ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | Conflict
    | RuleViolation
    | ServiceUnavailable
)
RoundResult = Annotated[
    MatchingRoundSuccess | CapacityExceeded | _ERRORS,
    strawberry.union("MatchingRoundResult"),
]
PairingResult = Annotated[
    PairingSuccess | CapacityExceeded | _ERRORS,
    strawberry.union("PairingResult"),
]
ForbidPairResult = Annotated[
    ForbidPairSuccess | _ERRORS, strawberry.union("ForbidPairResult")
]
RepairPairingResult = Annotated[
    RepairPairingSuccess | CapacityExceeded | _ERRORS,
    strawberry.union("RepairPairingResult"),
]
DismissSuggestionResult = Annotated[
    DismissSuggestionSuccess | _ERRORS, strawberry.union("DismissSuggestionResult")
]
PlanRotationResult = Annotated[
    PlanRotationSuccess | _ERRORS,
    strawberry.union("PlanRotationResult"),
]


def _pins(pins: list[PinInput], path: str) -> list[dict[str, str]]:
    return [
        {
            "mentee_id": local_id(p.mentee_id, "Person", f"{path}.{n}.menteeId"),
            "mentor_id": local_id(p.mentor_id, "Person", f"{path}.{n}.mentorId"),
        }
        for n, p in enumerate(pins)
    ]


def _cohort(value: strawberry.ID | None) -> str | None:
    return local_id(value, "Cohort", "input.cohortId") if value else None


def _round(answer: api.RoundView) -> MatchingRoundSuccess:
    return MatchingRoundSuccess(round=MatchingRound.from_model(answer))


async def _act(
    info: Info,
    pairing_id: strawberry.ID,
    action: str,
    body: dict[str, Any] | None = None,
) -> Any:
    """One workflow step on a pairing; answers the pairing as it is after it (the
    service answers it, or nothing for a step that answers 204: then it is read)."""
    c = ctx(info)

    async def call() -> api.PairingView | str:
        pid = local_id(pairing_id, "Pairing", "input.pairingId")
        data = await c.caller.post(
            "matching",
            upstream_path("/pairings/{pid}/{action}", pid=pid, action=action),
            body,
        )
        return pid if data is None else read(api.PairingView, data, "matching")

    async def ok(answer: api.PairingView | str) -> PairingSuccess:
        if isinstance(answer, api.PairingView):
            return PairingSuccess(pairing=Pairing.from_model(answer))
        return PairingSuccess(pairing=await pairing_by_id(info, answer))

    return await run(call, ok, WITH_CAPACITY)


@strawberry.type
class MatchingMutation:
    @strawberry.mutation(
        description="Start a matching round for a cohort (coordinators); pins that "
        "exceed a mentor's free seats answer CapacityExceeded and start nothing."
    )
    async def start_matching_round(
        self, info: Info, input: StartMatchingRoundInput
    ) -> RoundResult:
        c = ctx(info)

        async def call() -> api.RoundView:
            body: dict[str, Any] = {
                "cohort_id": local_id(input.cohort_id, "Cohort", "input.cohortId"),
                "mode": input.mode.value,
                "min_score": input.min_score,
                "pins": _pins(input.pins, "input.pins"),
            }
            if input.weights is not None:
                body["weights"] = input.weights
            if input.fairness is not None:
                body["fairness"] = {
                    "group_by": input.fairness.group_by,
                    "min_ratio": input.fairness.min_ratio,
                    "min_group_size": input.fairness.min_group_size,
                }
            return read(
                api.RoundView,
                await c.caller.post(
                    "matching",
                    "/rounds",
                    body,
                    params={"wait": "true" if input.wait else "false"},
                    deadline_s=c.settings.round_wait_timeout_s if input.wait else None,
                ),
                "matching",
            )

        return await run(call, _round, WITH_CAPACITY)

    @strawberry.mutation(
        description="Re-run a finished round: approved pairs stay, other proposals "
        "are withdrawn, the rest is paired again around the pins."
    )
    async def rerun_round(self, info: Info, input: RerunRoundInput) -> RoundResult:
        c = ctx(info)

        async def call() -> api.RoundView:
            rid = local_id(input.round_id, "MatchingRound", "input.roundId")
            return read(
                api.RoundView,
                await c.caller.post(
                    "matching",
                    upstream_path("/rounds/{rid}/rerun", rid=rid),
                    {"pins": _pins(input.pins, "input.pins")},
                ),
                "matching",
            )

        return await run(call, _round, WITH_CAPACITY)

    @strawberry.mutation(
        description="Approve a proposal (coordinators); both people are asked next."
    )
    async def approve_pairing(self, info: Info, input: PairingInput) -> PairingResult:
        body = None
        if input.starts_on is not None:
            body = {"starts_on": input.starts_on.isoformat()}
        return await _act(info, input.pairing_id, "approve", body)

    @strawberry.mutation(
        description="Accept a pairing (its mentor or mentee); both yeses confirm it."
    )
    async def accept_pairing(self, info: Info, input: PairingInput) -> PairingResult:
        if input.starts_on is not None:

            async def check_id() -> None:  # a bad id first, as everywhere
                local_id(input.pairing_id, "Pairing", "input.pairingId")

            return await run(
                check_id,
                lambda _: invalid(
                    "input.startsOn", "is set on approval (approvePairing), not here"
                ),
                WITH_CAPACITY,
            )
        return await _act(info, input.pairing_id, "accept")

    @strawberry.mutation(
        description="Decline a pairing (its mentor or mentee); the mentee is offered "
        "the next best mentor."
    )
    async def decline_pairing(
        self, info: Info, input: DeclinePairingInput
    ) -> PairingResult:
        return await _act(info, input.pairing_id, "decline", {"reason": input.reason})

    @strawberry.mutation(description="Withdraw an open proposal (coordinators).")
    async def withdraw_pairing(
        self, info: Info, input: PairingReasonInput
    ) -> PairingResult:
        return await _act(info, input.pairing_id, "withdraw", {"reason": input.reason})

    @strawberry.mutation(description="End a confirmed pairing (coordinators).")
    async def end_pairing(self, info: Info, input: PairingReasonInput) -> PairingResult:
        return await _act(info, input.pairing_id, "end", {"reason": input.reason})

    @strawberry.mutation(
        description="Rule a pair out (coordinators); its open proposals are withdrawn."
    )
    async def forbid_pair(self, info: Info, input: ForbidPairInput) -> ForbidPairResult:
        c = ctx(info)

        async def call() -> api.PairRuledOut:
            return read(
                api.PairRuledOut,
                await c.caller.post(
                    "matching",
                    "/forbidden-pairs",
                    {
                        "mentor_id": local_id(
                            input.mentor_id, "Person", "input.mentorId"
                        ),
                        "mentee_id": local_id(
                            input.mentee_id, "Person", "input.menteeId"
                        ),
                        "reason": input.reason,
                        "cohort_id": _cohort(input.cohort_id),
                    },
                ),
                "matching",
            )

        async def ok(answer: api.PairRuledOut) -> ForbidPairSuccess:
            rows = await loaders.pairings(info).load_many(answer.withdrawn)
            return ForbidPairSuccess(
                withdrawn=[
                    Pairing.from_model(r)
                    for r in rows
                    if isinstance(r, api.PairingView)
                ]
            )

        return await run(call, ok, COMMON)

    @strawberry.mutation(
        description="Ask for a new mentor for a confirmed pairing that is not "
        "working; answers the proposed replacement."
    )
    async def repair_pairing(
        self, info: Info, input: PairingReasonInput
    ) -> RepairPairingResult:
        c = ctx(info)

        async def call() -> api.PairingView:
            pid = local_id(input.pairing_id, "Pairing", "input.pairingId")
            return read(
                api.PairingView,
                await c.caller.post(
                    "matching",
                    upstream_path("/pairings/{pid}/repair", pid=pid),
                    {"reason": input.reason},
                ),
                "matching",
            )

        return await run(
            call,
            lambda m: RepairPairingSuccess(replacement=Pairing.from_model(m)),
            WITH_CAPACITY,
        )

    @strawberry.mutation(
        description="Set a suggested mentor aside (the mentee or coordinators); "
        "they are not suggested again."
    )
    async def dismiss_suggestion(
        self, info: Info, input: DismissSuggestionInput
    ) -> DismissSuggestionResult:
        c = ctx(info)
        ids: dict[str, str] = {}

        async def call() -> None:
            ids["mentee"] = local_id(input.mentee_id, "Person", "input.menteeId")
            ids["mentor"] = local_id(input.mentor_id, "Person", "input.mentorId")
            await c.caller.post(
                "matching",
                upstream_path("/mentees/{mentee}/dismissed", mentee=ids["mentee"]),
                {"mentor_id": ids["mentor"]},
            )

        return await run(
            call,
            lambda _: DismissSuggestionSuccess(
                _mentee_id=ids["mentee"], _mentor_id=ids["mentor"]
            ),
            COMMON,
        )

    @strawberry.mutation(
        description="Plan a rotation through distinct mentors, one per cycle "
        "(coordinators)."
    )
    async def plan_rotation(
        self, info: Info, input: PlanRotationInput
    ) -> PlanRotationResult:
        c = ctx(info)

        async def call() -> api.RotationPlanView:
            mentee = local_id(input.mentee_id, "Person", "input.menteeId")
            return read(
                api.RotationPlanView,
                await c.caller.post(
                    "matching",
                    upstream_path("/mentees/{mentee}/rotation", mentee=mentee),
                    {
                        "cycles": input.cycles,
                        "cycle_weeks": input.cycle_weeks,
                        "starts_on": input.starts_on.isoformat(),
                        "cohort_id": _cohort(input.cohort_id),
                    },
                ),
                "matching",
            )

        return await run(
            call,
            lambda m: PlanRotationSuccess(plan=RotationPlan.from_model(m)),
            COMMON,
        )
