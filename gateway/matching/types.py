"""Matching as GraphQL types: rounds, pairings with their explained scores, suggestions
and rotation plans. People are ``Person`` objects of the people part, loaded in one
batch per tick whatever the number of pairings."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import matching as api
from gateway import refs
from gateway.answers import read_list
from gateway.connections import Connection, from_list
from gateway.enums import (
    MatchingMode,
    PairingStatus,
    PairingStep,
    ProgrammeType,
    RoundStatus,
    wire_enum,
)
from gateway.matching import loaders
from gateway.mentors import Mentor
from gateway.nodes import BatchedNode
from gateway.people import loaders as people_loaders
from gateway.upstream import UpstreamError

if TYPE_CHECKING:
    from gateway.people.types import Cohort, Competency, Person

PersonRef = Annotated["Person", strawberry.lazy("gateway.people.types")]
CohortRef = Annotated["Cohort", strawberry.lazy("gateway.people.types")]
CompetencyRef = Annotated["Competency", strawberry.lazy("gateway.people.types")]


async def load_cohort(info: Info, cohort_id: str | None) -> Cohort | None:
    """The cohort (batched with every other cohort of the request)."""
    from gateway.people.types import cohort_by_id

    return await cohort_by_id(info, cohort_id) if cohort_id else None


async def load_person(info: Info, person_id: str | None) -> Person | None:
    """The person as the caller may see them (batched with every other person)."""
    from gateway.people.types import person_by_id

    return await person_by_id(info, person_id)


async def load_people(info: Info, person_ids: list[str]) -> list[Person]:
    """Several people in one batch, those not visible left out."""
    from gateway.people.types import Person

    rows = await people_loaders.people(info).load_many(person_ids)
    return [Person.from_model(r) for r in rows if r is not None]


def _json(value: list[dict[str, Any]]) -> Any:
    """Models dumped as the JSON the service answered (a ``JSON`` field's value)."""
    return value


def _stamp(value: object) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@strawberry.type(description="One criterion's share of a pair's score, explained.")
class ScorePart:
    criterion: str = strawberry.field(description="What was compared, e.g. skills.")
    weight: float = strawberry.field(description="Weight of the criterion (0 to 1).")
    value: float = strawberry.field(description="How well the pair meets it (0 to 1).")
    contribution: float = strawberry.field(
        description="Weight times value: this criterion's part of the score."
    )
    reason: str = strawberry.field(description="Why, in words a coordinator can check.")

    @classmethod
    def from_model(cls, m: api.ScorePartView) -> ScorePart:
        return cls(
            criterion=m.criterion,
            weight=m.weight,
            value=m.value,
            contribution=m.contribution,
            reason=m.reason,
        )


@strawberry.type(
    description="A reason given with a step of a pairing: the code its event "
    "carries and the words typed with it. Read by coordinators, admins and its "
    "author (the words are kept privately)."
)
class PairingReason:
    step: PairingStep = strawberry.field(description="The step it was given with.")
    code: str | None = strawberry.field(
        description="The reason code the step's event carries, e.g. `other`."
    )
    text: str = strawberry.field(
        description="The words typed with it (empty when given as a code only)."
    )
    written_at: datetime | None = strawberry.field(description="When it was given.")
    _author_id: strawberry.Private[str]

    @strawberry.field(description="Who gave it.")
    async def author(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._author_id)

    @classmethod
    def from_model(cls, m: api.PairingNote) -> PairingReason | None:
        step = wire_enum(PairingStep, m.action.value)
        if step is None:
            return None
        return cls(
            step=step,
            code=m.code.value if m.code else None,
            text=m.text,
            written_at=_stamp(m.written_at),
            _author_id=m.author_id,
        )


def _last(reasons: list[PairingReason], step: PairingStep) -> PairingReason | None:
    given = [r for r in reasons if r.step is step]
    return given[-1] if given else None


@strawberry.type(
    description="A proposed or agreed mentor-mentee pair, with its explained score. "
    "Visible to its two people, coordinators and sponsors."
)
class Pairing(BatchedNode, relay.Node):
    pairing_id: relay.NodeID[str] = strawberry.field(
        description="The matching service's id of the pairing."
    )
    status: PairingStatus = strawberry.field(description="Where the pairing stands.")
    score: float = strawberry.field(description="Overall match score (0 to 1).")
    explanation: list[ScorePart] = strawberry.field(
        description="The score criterion by criterion; contributions add up to it."
    )
    programme_type: ProgrammeType = strawberry.field(
        description="The kind of programme."
    )
    cohort_id: str | None = strawberry.field(
        description="The cohort paired in.", deprecation_reason="Use `cohort { id }`."
    )
    expires_at: datetime | None = strawberry.field(
        description="When an open proposal expires unanswered."
    )
    reason: str | None = strawberry.field(
        description="Why it was proposed outside a round (re-pairing, next best): "
        "for coordinators and its author the words typed with it, for the others "
        "its code."
    )
    reason_code: str | None = strawberry.field(
        description="The code of why it was proposed outside a round, e.g. "
        "`next_best_after_decline` (everyone who sees the pairing)."
    )
    starts_on: date | None = strawberry.field(
        default=None,
        description="The relationship's start as the coordinator set it on "
        "approval, possibly in the past (null: it starts when both have accepted).",
    )
    _mentor_id: strawberry.Private[str] = ""
    _mentee_id: strawberry.Private[str] = ""
    _round_id: strawberry.Private[str | None] = None
    _replaces: strawberry.Private[str | None] = None
    reasons: list[PairingReason] = strawberry.field(
        default_factory=list,
        description="Every reason given with a step of the pairing that you may "
        "read (coordinators and admins: all; others: their own), oldest first.",
    )
    _accepted_by: strawberry.Private[list[str]] = strawberry.field(default_factory=list)

    @strawberry.field(
        description="Why it was declined (null when not declined, no reason was "
        "given, or you may not read it)."
    )
    def decline_reason(self) -> PairingReason | None:
        return _last(self.reasons, PairingStep.DECLINED)

    @strawberry.field(
        description="Why it was ended (null when not ended, no reason was given, or "
        "you may not read it)."
    )
    def end_reason(self) -> PairingReason | None:
        return _last(self.reasons, PairingStep.ENDED)

    @strawberry.field(
        description="Why a coordinator withdrew it (null when not withdrawn, no "
        "reason was given, or you may not read it)."
    )
    def withdrawal_reason(self) -> PairingReason | None:
        return _last(self.reasons, PairingStep.WITHDRAWN)

    @strawberry.field(
        description="The mentor when a person of the organisation (null for an "
        "external advisor: read `mentorParty`)."
    )
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @strawberry.field(
        description="The mentor, whoever they are: a `Person`, or an `Advisor` in "
        "an external programme."
    )
    async def mentor_party(self, info: Info) -> Mentor | None:
        return await refs.mentor(info, self._mentor_id, self.programme_type)

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @strawberry.field(description="The cohort paired in.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await load_cohort(info, self.cohort_id)

    @strawberry.field(description="Those of the two who have accepted so far.")
    async def accepted_by(self, info: Info) -> list[PersonRef]:
        return await load_people(info, self._accepted_by)

    @strawberry.field(description="The round that proposed it (coordinators).")
    async def round(self, info: Info) -> MatchingRound | None:
        if not self._round_id:
            return None
        found = await loaders.rounds(info).load(self._round_id)
        return MatchingRound.from_model(found) if found else None

    @strawberry.field(description="The pairing this one replaces (re-pairing).")
    async def replaces(self, info: Info) -> Pairing | None:
        return await pairing_by_id(info, self._replaces)

    @classmethod
    def from_model(cls, m: api.PairingView) -> Pairing:
        return cls(
            pairing_id=m.pairing_id,
            status=PairingStatus(m.state.value),
            score=m.score,
            explanation=[ScorePart.from_model(p) for p in m.parts],
            programme_type=ProgrammeType(m.programme_type.value),
            cohort_id=m.cohort_id,
            expires_at=_stamp(m.expires_at),
            reason=m.reason,
            reason_code=m.reason_code.value if m.reason_code else None,
            starts_on=m.starts_on,
            _mentor_id=m.mentor_id,
            _mentee_id=m.mentee_id,
            _round_id=m.round_id,
            _replaces=m.replaces,
            _accepted_by=list(m.accepted_by),
            reasons=[
                r
                for r in (PairingReason.from_model(n) for n in m.notes)
                if r is not None
            ],
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Pairing | None]:
        rows = await loaders.pairings(info).load_many(node_ids)
        return [
            cls.from_model(r) if isinstance(r, api.PairingView) else None for r in rows
        ]


async def pairing_by_id(info: Info, pairing_id: str | None) -> Pairing | None:
    if not pairing_id:
        return None
    found = await loaders.pairings(info).load(pairing_id)
    return Pairing.from_model(found) if found else None


LEFT = (PairingStatus.DECLINED, PairingStatus.EXPIRED, PairingStatus.WITHDRAWN)


@strawberry.type(description="A goal two or more of a circle's mentees share.")
class SharedGoal:
    name: str = strawberry.field(description="The competency's name.")
    members: int = strawberry.field(
        description="How many of the circle's mentees want to develop it."
    )
    _competency_id: strawberry.Private[str]

    @strawberry.field(description="The competency, from the tenant's framework.")
    async def competency(self, info: Info) -> CompetencyRef | None:
        from gateway.people.types import competency_by_id

        return await competency_by_id(info, self._competency_id)

    @classmethod
    def from_model(cls, m: api.SharedGoal) -> SharedGoal:
        return cls(name=m.name, members=m.members, _competency_id=m.competency_id)


@strawberry.type(
    description="A circle of a group programme: one mentor and the mentees a round "
    "placed with them, who meet together. Made of the round's pairings you may see "
    "(a coordinator sees every member; a mentor their circle; a mentee themself)."
)
class Circle:
    pairings: list[Pairing] = strawberry.field(
        description="The members' pairings (declined, expired and withdrawn ones "
        "left out), in the order proposed."
    )
    _mentor_id: strawberry.Private[str]
    _programme: strawberry.Private[ProgrammeType]

    @strawberry.field(description="How many mentees are in the circle.")
    def size(self) -> int:
        return len(self.pairings)

    @strawberry.field(description="The circle's mentor (a person).")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @strawberry.field(description="The circle's mentor, whoever they are.")
    async def mentor_party(self, info: Info) -> Mentor | None:
        return await refs.mentor(info, self._mentor_id, self._programme)

    @strawberry.field(description="The circle's mentees.")
    async def mentees(self, info: Info) -> list[PersonRef]:
        return await load_people(info, [p._mentee_id for p in self.pairings])

    @strawberry.field(
        description="The goals two or more of the circle's mentees share (all its "
        "members, not only those you see), the most shared first, as matching finds "
        "them. Null when you may not read the round (coordinators and sponsors may)."
    )
    async def shared_goals(self, info: Info) -> list[SharedGoal] | None:
        round_id = next((p._round_id for p in self.pairings if p._round_id), None)
        if round_id is None:
            return None
        try:
            found = await loaders.rounds(info).load(round_id)
        except UpstreamError as exc:
            if exc.status == 403:
                return None
            raise
        if found is None:
            return None
        for circle in found.circles or []:
            if circle.mentor_id == self._mentor_id:
                return [SharedGoal.from_model(g) for g in circle.shared_goals]
        return []


def circles_of(pairings: list[Pairing], smallest: int = 2) -> list[Circle]:
    """The circles of a group round's pairings: its mentors with at least
    ``smallest`` mentees still in (as the matching service forms them)."""
    members: dict[str, list[Pairing]] = {}
    for p in pairings:
        if p.status not in LEFT:
            members.setdefault(p._mentor_id, []).append(p)
    return [
        Circle(pairings=kept, _mentor_id=mentor, _programme=kept[0].programme_type)
        for mentor, kept in members.items()
        if len(kept) >= smallest
    ]


async def round_pairings(info: Info, round_id: str) -> list[Pairing]:
    """The pairings of a round the caller may see (one call per round and request)."""
    from gateway.context import ctx

    c = ctx(info)

    async def batch(round_ids: list[str]) -> list[list[api.PairingView]]:
        return [
            read_list(
                api.PairingView,
                await c.caller.get("matching", "/pairings", round_id=r),
                "matching",
            )
            for r in round_ids
        ]

    rows = await c.loader(("matching", "round-pairings"), batch).load(round_id)
    return [Pairing.from_model(r) for r in rows]


async def circle_of_pairing(info: Info, pairing_id: str) -> Circle | None:
    """The circle the pairing is in (null outside a group round's circle)."""
    found = await loaders.pairings(info).load(pairing_id)
    if found is None or not found.round_id:
        return None
    if found.programme_type.value != ProgrammeType.GROUP.value:
        return None
    for circle in circles_of(await round_pairings(info, found.round_id), 1):
        if any(p.pairing_id == pairing_id for p in circle.pairings):
            return circle
    return None


@strawberry.type(description="How far a running round has come.")
class RoundProgress:
    phase: str = strawberry.field(
        description="encode, score, rules, solve, fairness … done."
    )
    done: int = strawberry.field(description="Steps done in this phase.")
    total: int = strawberry.field(description="Steps in this phase.")


@strawberry.type(description="One mentee group's match quality in a round.")
class FairnessGroup:
    group: str = strawberry.field(description="The group, e.g. a business unit.")
    size: int = strawberry.field(description="Mentees in the group.")
    suppressed: bool = strawberry.field(
        description="True when the group is too small to report (numbers null)."
    )
    matched: int | None = strawberry.field(description="Mentees matched.")
    match_rate: float | None = strawberry.field(description="Share matched.")
    mean: float | None = strawberry.field(description="Mean match quality.")
    p10: float | None = strawberry.field(description="10th percentile of quality.")
    p50: float | None = strawberry.field(description="Median quality.")
    p90: float | None = strawberry.field(description="90th percentile of quality.")


@strawberry.type(description="A round's fairness check across mentee groups.")
class FairnessReport:
    group_by: str | None = strawberry.field(description="How mentees were grouped.")
    min_ratio: float | None = strawberry.field(
        description="Lowest allowed group mean as a share of the best group's."
    )
    satisfied: bool | None = strawberry.field(description="Whether the bar was met.")
    chosen_iteration: int | None = strawberry.field(
        description="Which rebalancing iteration was kept."
    )
    groups: list[FairnessGroup] = strawberry.field(
        description="Each group large enough to report (counts perturbed and "
        "rounded to 5; see docs/privacy.md)."
    )
    suppressed_groups: int | None = strawberry.field(
        description="How many groups were withheld (never which, nor their sizes)."
    )
    min_group_size: int | None = strawberry.field(
        description="The smallest group reported: the requested size, never below "
        "the organisation's k."
    )
    iterations: JSON | None = strawberry.field(
        description="The rebalancing iterations, as recorded."
    )

    @classmethod
    def from_model(cls, m: api.FairnessReport) -> FairnessReport:
        return cls(
            group_by=m.group_by,
            min_ratio=m.min_ratio,
            satisfied=m.satisfied,
            chosen_iteration=m.chosen_iteration,
            groups=[
                FairnessGroup(
                    group=g.group,
                    size=g.size,
                    suppressed=g.suppressed,
                    matched=g.matched,
                    match_rate=g.match_rate,
                    mean=g.mean,
                    p10=g.p10,
                    p50=g.p50,
                    p90=g.p90,
                )
                for g in m.groups
            ],
            suppressed_groups=m.suppressed_groups,
            min_group_size=m.min_group_size,
            iterations=_json([i.model_dump(mode="json") for i in m.iterations]),
        )


@strawberry.type(description="A pin: a pair fixed by the coordinator for a round.")
class PinnedPair:
    _mentee_id: strawberry.Private[str]
    _mentor_id: strawberry.Private[str]

    @strawberry.field(description="The pinned mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @strawberry.field(description="The mentor they are pinned to.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)


@strawberry.type(
    description="A matching round: a whole cohort paired at once (coordinators and "
    "sponsors)."
)
class MatchingRound(BatchedNode, relay.Node):
    round_id: relay.NodeID[str] = strawberry.field(
        description="The matching service's id of the round."
    )
    cohort_id: str = strawberry.field(
        description="The cohort paired.", deprecation_reason="Use `cohort { id }`."
    )
    status: RoundStatus = strawberry.field(description="Where the round stands.")
    mode: MatchingMode = strawberry.field(description="What the round optimises.")
    programme_type: ProgrammeType = strawberry.field(
        description="The cohort's programme type."
    )
    progress: RoundProgress = strawberry.field(description="Live progress.")
    mentee_count: int = strawberry.field(description="Mentees in the pool.")
    mentor_count: int = strawberry.field(description="Mentors in the pool.")
    proposed_count: int | None = strawberry.field(
        description="Pairs proposed (once completed)."
    )
    total_score: float | None = strawberry.field(
        description="Sum of the proposed pairs' scores (once completed)."
    )
    error: str | None = strawberry.field(description="Why the round failed.")
    fairness: FairnessReport | None = strawberry.field(
        description="The fairness report, when fairness was asked for."
    )
    pinned: list[PinnedPair] = strawberry.field(description="Pairs pinned by hand.")
    _unmatched: strawberry.Private[list[str]] = strawberry.field(default_factory=list)

    @strawberry.field(description="The cohort paired.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await load_cohort(info, self.cohort_id)

    @strawberry.field(description="Mentees left without a mentor.")
    async def unmatched(self, info: Info) -> list[PersonRef]:
        return await load_people(info, self._unmatched)

    @strawberry.field(
        description="The circles of a group programme's round: each mentor with two "
        "or more of its mentees still in (empty for other programmes)."
    )
    async def circles(self, info: Info) -> list[Circle]:
        if self.programme_type is not ProgrammeType.GROUP:
            return []
        return circles_of(await round_pairings(info, self.round_id))

    @strawberry.field(description="The pairs this round proposed, in any state now.")
    async def proposed_pairs(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last edge already seen."),
        ] = None,
    ) -> Connection[Pairing]:
        from gateway.context import ctx

        c = ctx(info)
        items = read_list(
            api.PairingView,
            await c.caller.get("matching", "/pairings", round_id=self.round_id),
            "matching",
        )
        return from_list(
            items, Pairing.from_model, first, after, c.settings.max_page_size
        )

    @classmethod
    def from_model(cls, m: api.RoundView) -> MatchingRound:
        return cls(
            round_id=m.round_id,
            cohort_id=m.cohort_id,
            status=RoundStatus(m.status.value),
            mode=MatchingMode(m.mode.value),
            programme_type=ProgrammeType(m.programme_type.value),
            progress=RoundProgress(
                phase=m.progress.phase or "queued",
                done=m.progress.done,
                total=m.progress.total,
            ),
            mentee_count=m.mentees,
            mentor_count=m.mentors,
            proposed_count=m.proposed,
            total_score=m.total_score,
            error=m.error,
            fairness=FairnessReport.from_model(m.fairness)
            if isinstance(m.fairness, api.FairnessReport)
            else None,
            pinned=[
                PinnedPair(_mentee_id=p.mentee_id, _mentor_id=p.mentor_id)
                for p in m.pinned
            ],
            _unmatched=list(m.unmatched or []),
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[MatchingRound | None]:
        rows = await loaders.rounds(info).load_many(node_ids)
        return [
            cls.from_model(r) if isinstance(r, api.RoundView) else None for r in rows
        ]


@strawberry.type(description="A mentor suggested to a mentee, explained.")
class Suggestion:
    rank: int = strawberry.field(description="1 for the best.")
    score: float = strawberry.field(description="Match score (0 to 1).")
    summary: str | None = strawberry.field(description="The explanation in a line.")
    explanation: list[ScorePart] = strawberry.field(
        description="The score criterion by criterion."
    )
    _mentor_id: strawberry.Private[str]

    @strawberry.field(description="The suggested mentor.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)


@strawberry.type(description="A mentee's suggested mentors (self-service).")
class Suggestions:
    cohort_id: str | None = strawberry.field(
        description="The cohort planned in.", deprecation_reason="Use `cohort { id }`."
    )

    @strawberry.field(description="The cohort planned in.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    items: list[Suggestion] = strawberry.field(
        description="The top mentors, best first (at most 20)."
    )
    _mentee_id: strawberry.Private[str]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @classmethod
    def from_model(cls, m: api.Suggestions) -> Suggestions:
        return cls(
            cohort_id=m.cohort_id,
            _mentee_id=m.mentee_id,
            items=[
                Suggestion(
                    rank=s.rank,
                    score=s.score,
                    summary=s.summary,
                    explanation=[ScorePart.from_model(p) for p in s.parts],
                    _mentor_id=s.mentor_id,
                )
                for s in m.suggestions
            ],
        )


@strawberry.type(description="One cycle of a rotation: a mentor for a period.")
class RotationCycle:
    cycle: int = strawberry.field(description="1 for the first cycle.")
    starts_on: date = strawberry.field(description="First day of the cycle.")
    ends_on: date = strawberry.field(description="Last day of the cycle.")
    _mentor_id: strawberry.Private[str]

    @strawberry.field(description="The mentor of this cycle.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)


@strawberry.type(description="A mentee's rotation through distinct mentors.")
class RotationPlan:
    plan_id: str = strawberry.field(description="The plan's id.")
    cohort_id: str | None = strawberry.field(
        description="The cohort planned in.", deprecation_reason="Use `cohort { id }`."
    )

    @strawberry.field(description="The cohort planned in.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    planned_at: datetime | None = strawberry.field(description="When it was planned.")
    cycles: list[RotationCycle] = strawberry.field(description="The cycles, in order.")
    _mentee_id: strawberry.Private[str]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @classmethod
    def from_model(cls, m: api.RotationPlanView) -> RotationPlan:
        return cls(
            plan_id=m.plan_id,
            cohort_id=m.cohort_id,
            planned_at=_stamp(m.planned_at),
            _mentee_id=m.mentee_id,
            cycles=[
                RotationCycle(
                    cycle=c.cycle,
                    starts_on=c.starts_on,
                    ends_on=c.ends_on,
                    _mentor_id=c.mentor_id,
                )
                for c in m.cycles
            ],
        )
