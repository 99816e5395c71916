"""Insights as GraphQL types: balanced scorecards (skill growth, behavioural change,
business impact) per mentee, relationship, cohort and programme; relationship health
and early warnings; mentor impact; equity; pairing patterns; programme operations.

Numbers a report withholds (a group below the anonymity threshold, a rate without a
denominator) are null, never 0.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from pydantic import BaseModel
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import insights as api
from gateway import refs
from gateway.connections import Connection, from_list
from gateway.context import ctx
from gateway.enums import HealthState, ScorecardScope
from gateway.matching.types import PersonRef, load_person
from gateway.mentors import Mentor
from gateway.refs import CohortRef, RelationshipRef

# -- scorecards: the three perspectives -----------------------------------------------


@strawberry.type(description="One development goal's progress.")
class GoalProgress:
    competency_id: str = strawberry.field(description="The competency.")
    baseline: int | None = strawberry.field(description="First assessed level.")
    latest: int | None = strawberry.field(description="Latest assessed level.")
    target: int | None = strawberry.field(description="Level aimed for.")
    change: int | None = strawberry.field(description="Latest minus baseline.")
    reached: bool = strawberry.field(description="Latest is at or above target.")


@strawberry.type(description="Skill growth of one mentee (perspective 1).")
class SkillGrowth:
    goals: list[GoalProgress] = strawberry.field(description="Each goal.")
    mean_change: float | None = strawberry.field(description="Mean level change.")
    goals_reached: int = strawberry.field(description="Goals at target.")
    reassessed: bool = strawberry.field(description="Assessed at least twice.")


@strawberry.type(description="Skill growth of a group of mentees (perspective 1).")
class GroupSkillGrowth:
    mean_change: float | None = strawberry.field(
        description="Mean of the mentees' mean level changes."
    )
    goals: int = strawberry.field(description="Goals set in all.")
    goals_reached: int = strawberry.field(description="Goals at target.")
    reassessed: int = strawberry.field(description="Mentees assessed twice or more.")


@strawberry.type(description="Milestones set, due, achieved and missed.")
class MilestoneStats:
    set: int = strawberry.field(description="Milestones set.")
    due: int = strawberry.field(description="Milestones due by the date.")
    achieved: int = strawberry.field(description="Milestones achieved.")
    on_time: int = strawberry.field(description="Achieved by their due date.")
    missed: int = strawberry.field(description="Due and not achieved.")
    completion_rate: float | None = strawberry.field(
        description="Achieved ÷ due (null when none due)."
    )
    on_time_rate: float | None = strawberry.field(
        description="On time ÷ achieved (null when none achieved)."
    )


@strawberry.type(description="Session feedback ratings.")
class FeedbackStats:
    count: int = strawberry.field(description="Ratings given.")
    mean: float | None = strawberry.field(description="Mean rating.")
    trend: float | None = strawberry.field(description="Slope of ratings over time.")


@strawberry.type(description="Behavioural change (perspective 2).")
class BehaviouralChange:
    milestones: MilestoneStats = strawberry.field(description="Milestones.")
    feedback: FeedbackStats = strawberry.field(description="Feedback ratings.")
    reflections: int = strawberry.field(description="Reflections written.")
    rotations: int = strawberry.field(description="Rotations completed.")
    debriefs: int = strawberry.field(description="Debriefs held.")

    @classmethod
    def from_model(cls, m: api.Behaviour) -> BehaviouralChange:
        ms, fb = m.milestones, m.feedback
        return cls(
            milestones=MilestoneStats(
                set=ms.set,
                due=ms.due,
                achieved=ms.achieved,
                on_time=ms.on_time,
                missed=ms.missed,
                completion_rate=ms.completion_rate,
                on_time_rate=ms.on_time_rate,
            ),
            feedback=FeedbackStats(count=fb.count, mean=fb.mean, trend=fb.trend),
            reflections=m.reflections,
            rotations=m.rotations,
            debriefs=m.debriefs,
        )


@strawberry.type(description="Career outcomes of a set of people.")
class OutcomeRates:
    people: int = strawberry.field(description="People counted.")
    promoted: int = strawberry.field(description="Promoted since they started.")
    role_expanded: int = strawberry.field(description="Role expanded.")
    departed: int = strawberry.field(description="Left the organisation.")
    promotion_rate: float | None = strawberry.field(description="Promoted ÷ people.")
    role_expansion_rate: float | None = strawberry.field(
        description="Role expanded ÷ people."
    )
    retention_rate: float | None = strawberry.field(description="Stayed ÷ people.")

    @classmethod
    def from_model(cls, m: api.OutcomeRates) -> OutcomeRates:
        return cls(
            people=m.people,
            promoted=m.promoted,
            role_expanded=m.role_expanded,
            departed=m.departed,
            promotion_rate=m.promotion_rate,
            role_expansion_rate=m.role_expansion_rate,
            retention_rate=m.retention_rate,
        )


@strawberry.type(description="Participants' rates minus the comparison group's.")
class Lift:
    promotion_rate: float | None = strawberry.field(description="Promotion lift.")
    role_expansion_rate: float | None = strawberry.field(
        description="Role expansion lift."
    )
    retention_rate: float | None = strawberry.field(description="Retention lift.")


@strawberry.type(
    description="Business impact (perspective 3): outcomes of the participants, "
    "against comparable non-participants when there are enough of them."
)
class BusinessImpact:
    participants: OutcomeRates = strawberry.field(description="The participants.")
    comparison: OutcomeRates | None = strawberry.field(
        description="Comparable non-participants (null when too few)."
    )
    lift: Lift | None = strawberry.field(description="Participants minus comparison.")
    comparison_note: str | None = strawberry.field(
        description="Why there is no comparison."
    )

    @classmethod
    def from_model(cls, m: api.BusinessImpact) -> BusinessImpact:
        comparison, lift = m.comparison, m.lift
        return cls(
            participants=OutcomeRates.from_model(m),
            comparison=OutcomeRates.from_model(comparison) if comparison else None,
            lift=Lift(
                promotion_rate=lift.promotion_rate,
                role_expansion_rate=lift.role_expansion_rate,
                retention_rate=lift.retention_rate,
            )
            if lift
            else None,
            comparison_note=m.comparison_note,
        )


def _skill(m: api.SkillGrowth) -> SkillGrowth:
    return SkillGrowth(
        goals=[
            GoalProgress(
                competency_id=g.competency_id,
                baseline=g.baseline,
                latest=g.latest,
                target=g.target,
                change=g.change,
                reached=g.reached,
            )
            for g in m.goals
        ],
        mean_change=m.mean_change,
        goals_reached=m.goals_reached,
        reassessed=m.reassessed,
    )


@strawberry.type(description="A mentee's balanced scorecard as of a date.")
class MenteeScorecard:
    as_of: datetime = strawberry.field(description="The moment it describes.")
    relationship_ids: list[str] = strawberry.field(
        description="The mentee's relationships.",
        deprecation_reason="Use `relationships`.",
    )

    @strawberry.field(description="The mentee's relationships.")
    async def relationships(self, info: Info) -> list[RelationshipRef]:
        return await refs.relationships(info, self.relationship_ids)

    skill_growth: SkillGrowth = strawberry.field(description="Perspective 1.")
    behavioural_change: BehaviouralChange = strawberry.field(
        description="Perspective 2."
    )
    business_impact: BusinessImpact = strawberry.field(description="Perspective 3.")
    _mentee_id: strawberry.Private[str]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @classmethod
    def from_model(cls, m: api.MenteeScorecard) -> MenteeScorecard:
        return cls(
            as_of=datetime.fromisoformat(m.as_of),
            relationship_ids=list(m.relationships),
            skill_growth=_skill(m.skill_growth),
            behavioural_change=BehaviouralChange.from_model(m.behaviour),
            business_impact=BusinessImpact.from_model(m.impact),
            _mentee_id=m.id,
        )


@strawberry.type(description="A relationship's balanced scorecard as of a date.")
class RelationshipScorecard:
    relationship_id: str = strawberry.field(
        description="The relationship.", deprecation_reason="Use `relationship { id }`."
    )

    @strawberry.field(description="The relationship.")
    async def relationship(self, info: Info) -> RelationshipRef | None:
        return await refs.relationship(info, self.relationship_id)

    cohort_id: str | None = strawberry.field(
        description="Its cohort.", deprecation_reason="Use `cohort { id }`."
    )

    @strawberry.field(description="Its cohort.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    as_of: datetime = strawberry.field(description="The moment it describes.")
    skill_growth: SkillGrowth = strawberry.field(description="Perspective 1.")
    behavioural_change: BehaviouralChange = strawberry.field(
        description="Perspective 2."
    )
    business_impact: BusinessImpact = strawberry.field(description="Perspective 3.")
    _mentee_id: strawberry.Private[str | None]
    _mentor_id: strawberry.Private[str | None]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @strawberry.field(description="The mentor.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @classmethod
    def from_model(cls, m: api.RelationshipScorecard) -> RelationshipScorecard:
        return cls(
            relationship_id=m.id,
            cohort_id=m.cohort_id,
            as_of=datetime.fromisoformat(m.as_of),
            skill_growth=_skill(m.skill_growth),
            behavioural_change=BehaviouralChange.from_model(m.behaviour),
            business_impact=BusinessImpact.from_model(m.impact),
            _mentee_id=m.mentee_id,
            _mentor_id=m.mentor_id,
        )


@strawberry.type(description="One mentee's line in a cohort or programme scorecard.")
class ScorecardMember:
    skill_growth: SkillGrowth = strawberry.field(description="Perspective 1.")
    behavioural_change: BehaviouralChange = strawberry.field(
        description="Perspective 2."
    )
    _mentee_id: strawberry.Private[str]

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)


@strawberry.type(description="A cohort's or the programme's balanced scorecard.")
class GroupScorecard:
    scope: ScorecardScope = strawberry.field(description="What it covers.")
    cohort_id: str | None = strawberry.field(
        description="The cohort (if a cohort).",
        deprecation_reason="Use `cohort { id }`.",
    )

    @strawberry.field(description="The cohort (if a cohort).")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    as_of: datetime = strawberry.field(description="The moment it describes.")
    mentee_count: int = strawberry.field(description="Mentees counted.")
    withdrawn: int | None = strawberry.field(
        description="Mentees who withdrew (cohorts)."
    )
    cohorts: int | None = strawberry.field(description="Cohorts (programme).")
    skill_growth: GroupSkillGrowth = strawberry.field(description="Perspective 1.")
    behavioural_change: BehaviouralChange = strawberry.field(
        description="Perspective 2."
    )
    business_impact: BusinessImpact = strawberry.field(description="Perspective 3.")
    _members: strawberry.Private[list[api.ScorecardMember]]

    @strawberry.field(description="One line per mentee.")
    def members(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last edge already seen."),
        ] = None,
    ) -> Connection[ScorecardMember]:
        return from_list(
            self._members,
            lambda m: ScorecardMember(
                skill_growth=_skill(m.skill_growth),
                behavioural_change=BehaviouralChange.from_model(m.behaviour),
                _mentee_id=m.mentee_id,
            ),
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @classmethod
    def from_model(
        cls, m: api.CohortScorecard | api.ProgrammeScorecard
    ) -> GroupScorecard:
        sg = m.skill_growth
        cohort = m if isinstance(m, api.CohortScorecard) else None
        programme = m if isinstance(m, api.ProgrammeScorecard) else None
        return cls(
            scope=ScorecardScope(m.scope.value),
            cohort_id=m.id,
            as_of=datetime.fromisoformat(m.as_of),
            mentee_count=m.mentees,
            withdrawn=cohort.withdrawn if cohort else None,
            cohorts=programme.cohorts if programme else None,
            skill_growth=GroupSkillGrowth(
                mean_change=sg.mean_change,
                goals=sg.goals,
                goals_reached=sg.goals_reached,
                reassessed=sg.reassessed,
            ),
            behavioural_change=BehaviouralChange.from_model(m.behaviour),
            business_impact=BusinessImpact.from_model(m.impact),
            _members=list(m.members),
        )


# -- health ------------------------------------------------------------------------


@strawberry.type(description="A relationship's health and why.")
class RelationshipHealth:
    relationship_id: str = strawberry.field(
        description="The relationship.", deprecation_reason="Use `relationship { id }`."
    )

    @strawberry.field(description="The relationship.")
    async def relationship(self, info: Info) -> RelationshipRef | None:
        return await refs.relationship(info, self.relationship_id)

    cohort_id: str | None = strawberry.field(
        description="Its cohort.", deprecation_reason="Use `cohort { id }`."
    )

    @strawberry.field(description="Its cohort.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    state: HealthState = strawberry.field(description="The health.")
    reasons: list[str] = strawberry.field(
        description="Machine reason codes, e.g. no_session_for_42_days."
    )
    idle: bool = strawberry.field(description="No activity past the idle limit.")
    as_of: str | None = strawberry.field(description="When it was assessed.")
    days_since_session: int | None = strawberry.field(
        description="Days since the last session held (since the start when none)."
    )
    cancellation_streak: int | None = strawberry.field(
        description="Cancelled or missed sessions in a row since the last held one, "
        "in the order the sessions were planned."
    )
    _mentor_id: strawberry.Private[str | None]
    _mentee_id: strawberry.Private[str | None]

    @strawberry.field(
        description="The mentor when a person of the organisation (null for an "
        "external advisor: read `mentorParty`)."
    )
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @strawberry.field(description="The mentor, whoever they are.")
    async def mentor_party(self, info: Info) -> Mentor | None:
        return await refs.mentor(info, self._mentor_id, None)

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentee_id)

    @classmethod
    def from_model(cls, m: api.RelationshipHealth) -> RelationshipHealth:
        return cls(
            relationship_id=m.relationship_id,
            cohort_id=m.cohort_id,
            state=HealthState(m.state.value),
            reasons=list(m.reasons),
            idle=m.idle,
            as_of=m.as_of or None,
            _mentor_id=m.mentor_id,
            _mentee_id=m.mentee_id,
            days_since_session=m.days_since_session,
            cancellation_streak=m.cancellation_streak,
        )


@strawberry.enum(description="How far apart the points of a health history are.")
class HealthInterval(enum.Enum):
    WEEK = strawberry.enum_value("week", description="Every 7 days back from `to`.")
    MONTH = strawberry.enum_value(
        "month",
        description="Every calendar month back from `to` (the day clamped to the "
        "month's length).",
    )


@strawberry.type(
    description="How many relationships stood in each health state at the end of "
    "one day, judged from what was known by then. Relationships not yet started "
    "that day are not counted."
)
class HealthCountsAt:
    day: date = strawberry.field(name="date", description="The day (its end, UTC).")
    on_track: int = strawberry.field(description="Relationships on track.")
    needs_check_in: int = strawberry.field(
        description="Relationships that needed a check-in."
    )
    at_risk: int = strawberry.field(description="Relationships at risk.")
    too_early: int = strawberry.field(
        description="Relationships started fewer than 28 days before."
    )
    concluded: int = strawberry.field(description="Relationships concluded by then.")
    total: int = strawberry.field(description="Relationships started by then.")

    @classmethod
    def from_model(cls, m: api.HealthCountsAt) -> HealthCountsAt:
        counts = m.counts
        return cls(
            day=date.fromisoformat(m.date),
            on_track=counts.on_track,
            needs_check_in=counts.needs_check_in,
            at_risk=counts.at_risk,
            too_early=counts.too_early,
            concluded=counts.concluded,
            total=m.total,
        )


# -- reports -----------------------------------------------------------------------


@strawberry.enum(description="Whether a mentor took part, as of a report's last day.")
class MentorStatus(enum.Enum):
    ACTIVE = strawberry.enum_value("active", description="Taking part.")
    DEACTIVATED = strawberry.enum_value(
        "deactivated",
        description="Deactivated or deprovisioned (not reactivated since).",
    )
    DEPARTED = strawberry.enum_value(
        "departed", description="Left the organisation (an HRIS departure)."
    )
    ERASED = strawberry.enum_value(
        "erased", description="Erased at their request: nothing of theirs is shown."
    )


@strawberry.type(description="A mentor's quarter.")
class MentorImpactReport:
    quarter: str = strawberry.field(description="e.g. 2027Q1.")
    sessions_held: int = strawberry.field(description="Sessions held.")
    sessions_expected: int = strawberry.field(
        description="Sessions the agreed cadences called for: per relationship, "
        "over the days it was active in the quarter (up to today), 1 ÷ the cadence "
        "agreed that day, summed and rounded down."
    )
    mentor_status: MentorStatus = strawberry.field(
        default=MentorStatus.ACTIVE,
        description="An inactive mentor is marked, not left out: the days they were "
        "away expect no session.",
    )
    active_days: int = strawberry.field(
        default=0, description="Days any of the mentor's relationships was active."
    )
    milestones_achieved: int = strawberry.field(description="Mentees' milestones.")
    mean_rating: float | None = strawberry.field(description="Mean feedback rating.")
    ratings: int = strawberry.field(description="Ratings received.")
    recognitions: int = strawberry.field(description="Recognitions received.")
    _mentor_id: strawberry.Private[str]
    _mentees: strawberry.Private[list[str]]

    @strawberry.field(description="The mentor.")
    async def mentor(self, info: Info) -> PersonRef | None:
        return await load_person(info, self._mentor_id)

    @strawberry.field(description="The mentor's mentees in the quarter.")
    async def mentees(self, info: Info) -> list[PersonRef]:
        from gateway.matching.types import load_people

        return await load_people(info, self._mentees)

    @classmethod
    def from_model(cls, m: api.MentorImpact) -> MentorImpactReport:
        return cls(
            quarter=m.quarter,
            sessions_held=m.sessions_held,
            sessions_expected=m.sessions_expected,
            milestones_achieved=m.milestones_achieved,
            mean_rating=m.mean_rating,
            ratings=m.ratings,
            recognitions=m.recognitions,
            mentor_status=MentorStatus(m.mentor_status.value),
            active_days=m.active_days,
            _mentor_id=m.mentor_id,
            _mentees=list(m.mentees),
        )


@strawberry.type(description="A Wilson confidence interval.")
class Interval:
    low: float = strawberry.field(description="Lower bound.")
    high: float = strawberry.field(description="Upper bound.")


@strawberry.enum(
    description="What an equity report concludes of a group's rate against the "
    "best group's."
)
class ImpactVerdict(enum.Enum):
    ADVERSE_IMPACT = strawberry.enum_value(
        "adverse_impact",
        description="Impact ratio below 0.8 AND the difference significant "
        "(Fisher's exact test against the best group, p below the significance "
        "level).",
    )
    TOO_FEW_TO_TELL = strawberry.enum_value(
        "too_few_to_tell",
        description="Impact ratio below 0.8 but not significant: this sample cannot "
        "tell the difference from chance.",
    )
    NO_ADVERSE_IMPACT = strawberry.enum_value(
        "no_adverse_impact",
        description="Impact ratio 0.8 or more (the best group itself included).",
    )


def _verdict(value: str | None) -> ImpactVerdict | None:
    return ImpactVerdict(value) if value is not None else None


def _interval(value: tuple[float, float] | None) -> Interval | None:
    return Interval(low=value[0], high=value[1]) if value else None


@strawberry.type(
    description="One group's participation, matching and outcomes. A suppressed "
    "group (fewer people than the anonymity threshold) has `suppressed: true` and "
    "every number null, never 0."
)
class EquityGroup:
    group: str = strawberry.field(description="The group, e.g. a business unit.")
    suppressed: bool = strawberry.field(description="Too small to report.")
    registered: int | None = strawberry.field(description="People registered.")
    participants: int | None = strawberry.field(description="People taking part.")
    participation_rate: float | None = strawberry.field(
        description="Participants ÷ registered."
    )
    matched: int | None = strawberry.field(description="Participants matched.")
    match_rate: float | None = strawberry.field(description="Matched ÷ participants.")
    match_rate_impact: float | None = strawberry.field(
        description="Adverse-impact ratio: match rate ÷ the best group's."
    )
    match_rate_flagged: bool | None = strawberry.field(
        description="The verdict is ADVERSE_IMPACT: below the four-fifths rule AND "
        "the difference significant (a ratio below 0.8 alone is not flagged: read "
        "`matchRateVerdict`)."
    )
    median_days_to_match: float | None = strawberry.field(
        description="Median days from joining to a match."
    )
    mean_match_score: float | None = strawberry.field(description="Mean match score.")
    promoted: int | None = strawberry.field(description="Participants promoted.")
    promotion_rate: float | None = strawberry.field(
        description="Promoted ÷ participants."
    )
    promotion_rate_impact: float | None = strawberry.field(
        description="Adverse-impact ratio: promotion rate ÷ the best group's."
    )
    promotion_rate_flagged: bool | None = strawberry.field(
        description="The verdict is ADVERSE_IMPACT, as for `matchRateFlagged`."
    )
    departed: int | None = strawberry.field(description="Participants who left.")
    match_rate_interval: Interval | None = strawberry.field(
        default=None,
        description="95% Wilson interval of the match rate, from the published "
        "counts (null without a rate, and for a suppressed group or the total).",
    )
    match_rate_p_value: float | None = strawberry.field(
        default=None,
        description="Fisher's exact test (two-sided) of the match rate against the "
        "best group's, from the published counts (null for the best group itself).",
    )
    match_rate_verdict: ImpactVerdict | None = strawberry.field(
        default=None, description="What the match rate's comparison concludes."
    )
    promotion_rate_interval: Interval | None = strawberry.field(
        default=None,
        description="95% Wilson interval of the promotion rate (as for the match "
        "rate).",
    )
    promotion_rate_p_value: float | None = strawberry.field(
        default=None,
        description="Fisher's exact test of the promotion rate against the best "
        "group's.",
    )
    promotion_rate_verdict: ImpactVerdict | None = strawberry.field(
        default=None, description="What the promotion rate's comparison concludes."
    )

    @classmethod
    def suppressed_group(cls, group: str) -> EquityGroup:
        """A withheld group (or total): every number null, never 0."""
        return cls(
            group=group,
            suppressed=True,
            registered=None,
            participants=None,
            participation_rate=None,
            matched=None,
            match_rate=None,
            match_rate_impact=None,
            match_rate_flagged=None,
            median_days_to_match=None,
            mean_match_score=None,
            promoted=None,
            promotion_rate=None,
            promotion_rate_impact=None,
            promotion_rate_flagged=None,
            departed=None,
        )

    @classmethod
    def from_model(
        cls, m: api.EquityGroup | api.SuppressedGroup | api.EquityTotal
    ) -> EquityGroup:
        if isinstance(m, api.SuppressedGroup):
            return cls.suppressed_group(m.group)
        shown = m if isinstance(m, api.EquityGroup) else None
        return cls(
            group=shown.group if shown else "total",
            suppressed=False,
            registered=m.registered,
            participants=m.participants,
            participation_rate=m.participation_rate,
            matched=m.matched,
            match_rate=m.match_rate,
            match_rate_impact=shown.match_rate_impact if shown else None,
            match_rate_flagged=shown.match_rate_flagged if shown else None,
            median_days_to_match=m.median_days_to_match,
            mean_match_score=m.mean_match_score,
            promoted=m.promoted,
            promotion_rate=m.promotion_rate,
            promotion_rate_impact=shown.promotion_rate_impact if shown else None,
            promotion_rate_flagged=shown.promotion_rate_flagged if shown else None,
            departed=m.departed,
            match_rate_interval=_interval(shown.match_rate_interval) if shown else None,
            match_rate_p_value=shown.match_rate_p_value if shown else None,
            match_rate_verdict=_verdict(shown.match_rate_verdict) if shown else None,
            promotion_rate_interval=_interval(shown.promotion_rate_interval)
            if shown
            else None,
            promotion_rate_p_value=shown.promotion_rate_p_value if shown else None,
            promotion_rate_verdict=_verdict(shown.promotion_rate_verdict)
            if shown
            else None,
        )


@strawberry.type(description="Equity of the programme along one dimension.")
class EquityReport:
    dimension: str = strawberry.field(description="How people were grouped.")
    cohort_id: str | None = strawberry.field(
        description="Only this cohort.", deprecation_reason="Use `cohort { id }`."
    )

    @strawberry.field(description="Only this cohort.")
    async def cohort(self, info: Info) -> CohortRef | None:
        return await refs.cohort(info, self.cohort_id)

    k: int = strawberry.field(description="The anonymity threshold.")
    as_of: date | None = strawberry.field(
        default=None,
        description="The day whose end it describes (null: now).",
    )
    significance: float = strawberry.field(
        description="The significance level of the groups' tests (a setting, 0.05 "
        "by default)."
    )
    groups: list[EquityGroup] = strawberry.field(description="Each group.")
    total: EquityGroup = strawberry.field(
        description="Everyone (suppressed when it would reveal a small group)."
    )
    suppressed_groups: int | None = strawberry.field(
        description="How many groups were withheld; null for demographic dimensions, "
        "where even the count could give a person away."
    )

    @classmethod
    def from_model(cls, m: api.EquityReport) -> EquityReport:
        total = m.total
        return cls(
            dimension=m.dimension,
            cohort_id=m.cohort_id,
            k=m.k,
            as_of=date.fromisoformat(m.as_of) if m.as_of else None,
            significance=m.alpha,
            groups=[EquityGroup.from_model(g) for g in m.groups],
            total=EquityGroup.suppressed_group("total")
            if isinstance(total, api.SuppressedTotal)
            else EquityGroup.from_model(total),
            suppressed_groups=m.suppressed_groups,
        )


@strawberry.type(description="How often an outcome happened.")
class PatternOutcome:
    count: int = strawberry.field(description="Pairings with the outcome.")
    rate: float | None = strawberry.field(description="Count ÷ pairings.")
    interval: Interval | None = strawberry.field(
        description="95% Wilson interval of the rate."
    )


@strawberry.type(description="One value of a pairing characteristic.")
class PatternValue:
    characteristic: str = strawberry.field(
        description="function, direction, source or style."
    )
    value: str = strawberry.field(description="e.g. cross_function.")
    pairings: int = strawberry.field(description="Pairings with this value.")
    progressed: PatternOutcome = strawberry.field(
        description="Mentee promoted or role expanded."
    )
    completed: PatternOutcome = strawberry.field(description="Concluded as planned.")


@strawberry.type(description="One side of a weight suggestion's comparison.")
class EvidenceSide:
    label: str = strawberry.field(description="e.g. cross_function.")
    pairings: int = strawberry.field(description="Confirmed pairings on this side.")
    healthy: int = strawberry.field(
        description="Of them, concluded as planned or the mentee progressed."
    )
    rate: float | None = strawberry.field(description="Healthy ÷ pairings.")
    interval: Interval | None = strawberry.field(
        description="95% Wilson interval of the rate."
    )

    @classmethod
    def from_model(cls, m: api.EvidenceSide) -> EvidenceSide:
        i = m.interval
        return cls(
            label=m.label,
            pairings=m.pairings,
            healthy=m.healthy,
            rate=m.rate,
            interval=Interval(low=i[0], high=i[1]) if i else None,
        )


@strawberry.type(
    description="What a weight suggestion rests on: healthy relationships "
    "(concluded as planned, or the mentee progressed) on each side."
)
class WeightEvidence:
    characteristic: str = strawberry.field(description="The characteristic compared.")
    favoured: EvidenceSide = strawberry.field(
        description="The side the criterion favours."
    )
    other: EvidenceSide = strawberry.field(description="The side it is compared with.")
    p_value: float | None = strawberry.field(
        description="Fisher's exact test, two-sided; null with a side empty."
    )
    alpha: float = strawberry.field(description="The significance a change needs.")


@strawberry.type(description="A weight change the evidence suggests to matching.")
class WeightSuggestion:
    criterion: str = strawberry.field(description="The matching criterion.")
    change: float = strawberry.field(description="Suggested change of its weight.")
    basis: str = strawberry.field(description="What was compared.")
    reason: str = strawberry.field(description="Why (or why not).")
    evidence: WeightEvidence = strawberry.field(
        description="Pairings, healthy rates, intervals and the test."
    )


def _outcome(m: api.PatternOutcome) -> PatternOutcome:
    interval = m.interval
    return PatternOutcome(
        count=m.count,
        rate=m.rate,
        interval=Interval(low=interval[0], high=interval[1]) if interval else None,
    )


@strawberry.type(description="Outcome rates by pairing characteristic.")
class PairingPatterns:
    pairings: int = strawberry.field(description="Confirmed pairings observed.")
    confidence: float = strawberry.field(description="Confidence of the intervals.")
    characteristics: list[PatternValue] = strawberry.field(
        description="Each characteristic's values."
    )
    suggested_weights: list[WeightSuggestion] = strawberry.field(
        description="Weight changes for matching."
    )

    @classmethod
    def from_model(cls, m: api.PairingPatterns) -> PairingPatterns:
        return cls(
            pairings=m.pairings,
            confidence=m.confidence,
            characteristics=[
                PatternValue(
                    characteristic=trait,
                    value=item.value,
                    pairings=item.pairings,
                    progressed=_outcome(item.progressed),
                    completed=_outcome(item.completed),
                )
                for trait, items in m.characteristics.items()
                for item in items
            ],
            suggested_weights=[
                WeightSuggestion(
                    criterion=w.criterion.value,
                    change=w.change,
                    basis=w.basis,
                    reason=w.reason,
                    evidence=WeightEvidence(
                        characteristic=w.evidence.characteristic,
                        favoured=EvidenceSide.from_model(w.evidence.favoured),
                        other=EvidenceSide.from_model(w.evidence.other),
                        p_value=w.evidence.p_value,
                        alpha=w.evidence.alpha,
                    ),
                )
                for w in m.suggested_weights
            ],
        )


@strawberry.type(description="Participation against eligibility.")
class Participation:
    eligible: int = strawberry.field(description="People registered.")
    participants: int = strawberry.field(description="People taking part.")
    rate: float | None = strawberry.field(description="Participants ÷ eligible.")
    cohorts: JSON | None = strawberry.field(
        description="Per cohort: admitted, capacity, fill rate."
    )


@strawberry.type(description="How the programme runs.")
class ProgrammeOperations:
    as_of: str = strawberry.field(description="The day described.")
    participation: Participation = strawberry.field(description="Participation.")
    waiting_list: JSON | None = strawberry.field(description="The waiting list.")
    mentor_utilisation: JSON | None = strawberry.field(
        description="Mentors' seats used."
    )
    advisor_hours: JSON | None = strawberry.field(
        description="External advisors' hours used against agreements."
    )
    pulse_surveys: JSON | None = strawberry.field(description="Pulse survey results.")

    @classmethod
    def from_model(cls, m: api.ProgrammeOperations) -> ProgrammeOperations:
        p = m.participation
        return cls(
            as_of=m.as_of,
            participation=Participation(
                eligible=p.eligible,
                participants=p.participants,
                rate=p.rate,
                cohorts=_json(p.cohorts),
            ),
            waiting_list=_json(m.waiting_list),
            mentor_utilisation=_json(m.mentor_utilisation),
            advisor_hours=_json(m.advisor_hours),
            pulse_surveys=_json(m.pulse_surveys),
        )


def _json(value: BaseModel | list[Any]) -> Any:
    """A model (or a list of them) as the JSON the service answered."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return [_json(v) if isinstance(v, BaseModel) else v for v in value]
