"""Request and response models of the insights service's routes.

The reports are computed by ``services/insights/domain`` (as typed dicts) and answered
through these models, field for field. A number a report withholds (a group below the
anonymity threshold, a rate without a denominator) is ``null``, never 0. Moments are
ISO 8601 text as the service computes them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.insights import (
    HealthInterval,
    HealthState,
    ImpactVerdict,
    MentorStatus,
    ScorecardScope,
)

Rate = float | None
Number = int | float


class ExportFormat(StrEnum):
    """How a scorecard is answered: JSON, or CSV in the one long export format."""

    JSON = "json"
    CSV = "csv"


class RebuildStatus(StrEnum):
    """Where a rebuild of the read models stands."""

    IDLE = "idle"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LagScope(StrEnum):
    """Whose figures a lag report holds: the caller's organisation, or every one."""

    TENANT = "tenant"
    ALL_TENANTS = "all_tenants"


class WeightCriterion(StrEnum):
    """A matching criterion whose weight the pairing patterns may suggest changing."""

    PERSPECTIVE = "perspective"
    STYLE = "style"


# -- batch answers ---------------------------------------------------------------------


class ItemError(BaseModel):
    """Why one item of a batch is not answered."""

    code: str = Field(description="The error's code, e.g. `Forbidden`, `NotFound`")
    message: str


class Refused(BaseModel):
    """An item of a batch the caller may not read, or that does not exist."""

    id: str
    error: ItemError


# -- health ----------------------------------------------------------------------------


class RelationshipHealth(BaseModel):
    """A relationship's health and the reasons that decided it."""

    relationship_id: str
    mentor_id: str | None
    mentee_id: str | None
    cohort_id: str | None
    state: HealthState
    reasons: list[str] = Field(
        description="Machine reason codes with numbers, e.g. `no_session_for_42_days`"
    )
    idle: bool = Field(description="No session held for the configured idle limit")
    days_since_session: int | None = Field(
        description="Days since the last held session (since the start when none); "
        "in a list too (each item is assessed now, as one alone is)"
    )
    cancellation_streak: int | None = Field(
        description="Cancelled or missed sessions since the last held one, in the "
        "order the sessions were planned; in a list too"
    )
    as_of: str | None = Field(description="When it was assessed (date or moment)")


class HealthList(BaseModel):
    """Every relationship's health (overseers)."""

    items: list[RelationshipHealth]


class HealthFound(BaseModel):
    """A relationship's health in a batch answer."""

    id: str
    health: RelationshipHealth


class HealthBatch(BaseModel):
    """Several relationships' health, in the order asked; a refusal in its place."""

    items: list[HealthFound | Refused]


class HealthCounts(BaseModel):
    """Relationships in each health state."""

    on_track: int
    needs_check_in: int
    at_risk: int
    too_early: int
    concluded: int


class HealthCountsAt(BaseModel):
    """Relationships by state at the end of one day."""

    date: str = Field(description="YYYY-MM-DD")
    counts: HealthCounts
    total: int


class HealthHistory(BaseModel):
    """Relationships by health state at each point of a range, oldest first."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", description="YYYY-MM-DD")
    to: str = Field(description="YYYY-MM-DD")
    every: HealthInterval
    cohort_id: str | None
    states: list[HealthState]
    points: list[HealthCountsAt]


# -- mentor impact ---------------------------------------------------------------------


class MentorImpact(BaseModel):
    """A mentor's quarter."""

    mentor_id: str
    quarter: str = Field(description="e.g. `2027Q1`")
    mentees: list[str]
    sessions_held: int
    sessions_expected: int = Field(
        description="Per relationship, the sum over the days it was active in the "
        "quarter (started, not concluded, not paused, the mentor not away; up to "
        "today in the current quarter) of 1 ÷ the cadence agreed that day, rounded "
        "down; the mentor's total is the sum"
    )
    milestones_achieved: int
    mean_rating: float | None = Field(description="Mean of the mentees' ratings")
    ratings: int
    recognitions: int = Field(description="Milestones the mentees achieved")
    mentor_status: MentorStatus = Field(
        MentorStatus.ACTIVE,
        description="The mentor as of the report's last day: an inactive mentor "
        "(deactivated or deprovisioned, departed, erased) is marked, not left out; "
        "the days they were away expect no session; an erased mentor's report is "
        "empty",
    )
    active_days: int = Field(
        0, description="Days any of the mentor's relationships was active"
    )


# -- scorecards ------------------------------------------------------------------------


class GoalProgress(BaseModel):
    """One development goal of a mentee."""

    competency_id: str
    baseline: int = Field(description="First assessed level")
    latest: int = Field(description="Latest assessed level")
    target: int
    change: int = Field(description="Latest minus baseline")
    reached: bool = Field(description="Latest is at or above target")


class SkillGrowth(BaseModel):
    """Skill growth of one mentee (perspective 1)."""

    goals: list[GoalProgress]
    mean_change: Rate = Field(description="Mean change over the goals")
    goals_reached: int
    reassessed: bool = Field(description="Assessed at least twice")


class GroupSkillGrowth(BaseModel):
    """Skill growth of a group of mentees (perspective 1)."""

    mean_change: Rate = Field(description="Mean of the mentees' mean changes")
    goals: int
    goals_reached: int
    reassessed: int = Field(description="Mentees assessed at least twice")


class Milestones(BaseModel):
    """Milestones set, due, achieved and missed."""

    set: int
    due: int = Field(description="Due by the date, or already achieved or missed")
    achieved: int
    on_time: int
    missed: int = Field(
        description="Due and not achieved by the date of the figure, marked missed "
        "or not (due = achieved + missed; one achieved late counts as achieved)"
    )
    completion_rate: Rate = Field(description="Achieved ÷ due")
    on_time_rate: Rate = Field(description="On time ÷ achieved")


class Feedback(BaseModel):
    """Feedback ratings."""

    count: int
    mean: Rate
    trend: Rate = Field(
        description="Least-squares slope in rating points per feedback (a group: "
        "the mean of its mentees' trends)"
    )


class Behaviour(BaseModel):
    """Behavioural change (perspective 2)."""

    milestones: Milestones
    feedback: Feedback
    reflections: int = Field(description="Journals and after-action reviews kept")
    rotations: int
    debriefs: int


class OutcomeRates(BaseModel):
    """Career outcomes of a set of people since they started."""

    people: int
    promoted: int
    role_expanded: int
    departed: int
    promotion_rate: Rate
    role_expansion_rate: Rate
    retention_rate: Rate


class Lift(BaseModel):
    """The participants' rates minus the comparison group's, in rate points."""

    promotion_rate: Rate
    role_expansion_rate: Rate
    retention_rate: Rate


class BusinessImpact(OutcomeRates):
    """Business impact (perspective 3): the participants' outcomes, against
    comparable non-participants when there are enough of them."""

    comparison: OutcomeRates | None = Field(
        description="Comparable non-participants; null when too few"
    )
    lift: Lift | None
    comparison_note: str | None = Field(description="Why there is no comparison")


class _Card(BaseModel):
    scope: ScorecardScope
    as_of: str = Field(description="The moment the scorecard describes")


class MenteeScorecard(_Card):
    """One mentee's balanced scorecard."""

    id: str = Field(description="The mentee")
    relationships: list[str] = Field(description="The mentee's relationships")
    skill_growth: SkillGrowth
    behaviour: Behaviour
    impact: BusinessImpact


class RelationshipScorecard(_Card):
    """One relationship's balanced scorecard."""

    id: str = Field(description="The relationship")
    mentee_id: str
    mentor_id: str
    cohort_id: str | None
    skill_growth: SkillGrowth
    behaviour: Behaviour
    impact: BusinessImpact


class ScorecardMember(BaseModel):
    """One mentee's line in a cohort's or the programme's scorecard."""

    mentee_id: str
    skill_growth: SkillGrowth
    behaviour: Behaviour


class _GroupScorecard(_Card):
    mentees: int
    skill_growth: GroupSkillGrowth
    behaviour: Behaviour
    impact: BusinessImpact
    members: list[ScorecardMember]


class CohortScorecard(_GroupScorecard):
    """A cohort's balanced scorecard, with one line per mentee."""

    id: str = Field(description="The cohort")
    withdrawn: int = Field(description="Mentees who withdrew from the cohort")


class ProgrammeScorecard(_GroupScorecard):
    """The whole programme's balanced scorecard."""

    id: None = Field(description="Always null: the programme has no id")
    cohorts: int


class MenteeScorecardFound(BaseModel):
    """A mentee's scorecard in a batch answer."""

    id: str
    card: MenteeScorecard


class MenteeScorecardBatch(BaseModel):
    """Several mentees' scorecards, in the order asked; a refusal in its place."""

    items: list[MenteeScorecardFound | Refused]


# -- equity ----------------------------------------------------------------------------


class _EquityFigures(BaseModel):
    registered: int | None
    participants: int | None
    participation_rate: Rate
    matched: int | None
    match_rate: Rate
    median_days_to_match: int | None = Field(
        description="Never shown for demographic dimensions"
    )
    mean_match_score: Rate = Field(description="Never shown for demographic dimensions")
    promoted: int | None
    promotion_rate: Rate
    departed: int | None


Interval = tuple[float, float] | None
INTERVAL = (
    "Wilson 95% interval (low, high) of the rate, from the published counts; null "
    "without a rate"
)
P_VALUE = (
    "Fisher's exact test (two-sided) of the group's published counts against the "
    "best group's; null for the best group itself and without a ratio"
)
VERDICT = (
    "adverse_impact: ratio below 0.8 AND p below the significance level; "
    "too_few_to_tell: ratio below 0.8, not significant; no_adverse_impact: ratio "
    "0.8 or more; null without a ratio"
)


class EquityGroup(_EquityFigures):
    """A shown group: counts rounded to 5, a withheld cell null. Intervals, tests
    and verdicts are computed from the published counts only."""

    group: str
    suppressed: Literal[False]
    match_rate_interval: Interval = Field(None, description=INTERVAL)
    match_rate_impact: Rate = Field(
        description="The group's match rate ÷ the best shown group's"
    )
    match_rate_p_value: Rate = Field(None, description=P_VALUE)
    match_rate_verdict: ImpactVerdict | None = Field(None, description=VERDICT)
    match_rate_flagged: bool = Field(
        description="The verdict is adverse_impact (impact ratio below 0.8 and the "
        "difference significant); a ratio below 0.8 alone is not flagged"
    )
    promotion_rate_interval: Interval = Field(None, description=INTERVAL)
    promotion_rate_impact: Rate
    promotion_rate_p_value: Rate = Field(None, description=P_VALUE)
    promotion_rate_verdict: ImpactVerdict | None = Field(None, description=VERDICT)
    promotion_rate_flagged: bool = Field(
        description="The verdict is adverse_impact, as for match_rate_flagged"
    )


class SuppressedGroup(BaseModel):
    """A withheld organisational group (a withheld demographic group is not listed)."""

    group: str
    suppressed: Literal[True]


class EquityTotal(_EquityFigures):
    """The total over every group, under the same threshold."""

    suppressed: Literal[False]


class SuppressedTotal(BaseModel):
    """A total too small to publish."""

    suppressed: Literal[True]


class EquityReport(BaseModel):
    """Participation, matching and outcomes per group of one dimension."""

    dimension: str = Field(
        description="business_unit | level_band | tenure_band | geography | "
        "demographics.<attribute>"
    )
    cohort_id: str | None
    as_of: str | None = Field(
        None, description="The day (YYYY-MM-DD) whose end it describes; null: now"
    )
    k: int = Field(description="The anonymity threshold")
    alpha: float = Field(
        0.05, description="The significance level of the tests (a setting)"
    )
    groups: list[EquityGroup | SuppressedGroup]
    suppressed_groups: int | None = Field(
        description="Groups withheld; null for demographic dimensions"
    )
    total: EquityTotal | SuppressedTotal


# -- pairing patterns ------------------------------------------------------------------


class PatternOutcome(BaseModel):
    """One outcome's count, rate and Wilson 95% interval."""

    count: int
    rate: Rate
    interval: tuple[float, float] | None = Field(
        description="Wilson 95% interval (low, high); null with no pairings"
    )


class PatternValue(BaseModel):
    """Outcomes of the pairings with one value of a characteristic."""

    value: str
    pairings: int
    progressed: PatternOutcome = Field(
        description="The mentee was promoted or changed role on or after the "
        "confirmation"
    )
    completed: PatternOutcome = Field(description="The pairing ended concluded")


class EvidenceSide(BaseModel):
    """One side of a weight suggestion's comparison."""

    label: str = Field(description="e.g. `cross_function`")
    pairings: int
    healthy: int = Field(
        description="Pairings concluded as planned or whose mentee progressed"
    )
    rate: Rate
    interval: tuple[float, float] | None = Field(
        description="Wilson 95% interval of the healthy rate; null with no pairings"
    )


class WeightEvidence(BaseModel):
    """What a weight suggestion rests on: the side the criterion favours against
    the other, and Fisher's exact test of their healthy rates."""

    outcome: str = Field(description="`healthy`")
    characteristic: str = Field(description="The pairing characteristic compared")
    favoured: EvidenceSide
    other: EvidenceSide
    p_value: float | None = Field(description="Two-sided; null with a side empty")
    alpha: float = Field(description="The significance level a change needs")


class WeightSuggestion(BaseModel):
    """A suggested change of one matching criterion's weight."""

    criterion: WeightCriterion
    change: float = Field(description="±0.05 where the evidence is significant, else 0")
    basis: str
    reason: str
    evidence: WeightEvidence


class PairingPatterns(BaseModel):
    """Outcome rates per pairing characteristic, and suggested matching weights."""

    pairings: int
    confidence: float = Field(description="Of the intervals (0.95)")
    characteristics: dict[str, list[PatternValue]] = Field(
        description="Per characteristic (`function`, `direction`, `source`, "
        "`style`), one entry per value"
    )
    suggested_weights: list[WeightSuggestion]


# -- operations ------------------------------------------------------------------------


class CohortFill(BaseModel):
    """Admitted mentees against a cohort's seats."""

    cohort_id: str
    admitted: int
    capacity: int | None
    fill_rate: Rate


class Participation(BaseModel):
    """Registered people (the eligible population) against those taking part."""

    eligible: int
    participants: int
    rate: Rate
    cohorts: list[CohortFill]


class WaitingList(BaseModel):
    """People waitlisted and neither admitted nor withdrawn since."""

    length: int
    mean_age_days: Rate
    oldest_age_days: int | None


class MentorUtilisation(BaseModel):
    """Active pairings as mentor against declared capacity."""

    mentors: int
    capacity: int
    active_pairings: int
    rate: Rate
    over_capacity: int


class AdvisorHours(BaseModel):
    """Hours logged on one agreement against the hours it contracts so far."""

    agreement_id: str
    advisor_id: str
    hours_logged: float
    hours_contracted: Number
    usage: Rate


class PulseSurveyResult(BaseModel):
    """A closed pulse survey's published aggregates (the ``PulseSurveyClosed`` event's
    data as sessions published it: an open object; ``respondents`` and
    ``aggregates`` only when at least k people answered)."""

    model_config = ConfigDict(extra="allow")

    survey_id: str
    suppressed: bool


class ProgrammeOperations(BaseModel):
    """How the programme runs."""

    as_of: str = Field(description="YYYY-MM-DD")
    participation: Participation
    waiting_list: WaitingList
    mentor_utilisation: MentorUtilisation
    advisor_hours: list[AdvisorHours]
    pulse_surveys: list[PulseSurveyResult]


# -- operating insights ----------------------------------------------------------------


class RebuildProgress(BaseModel):
    """Progress of the current (or last) rebuild of read models."""

    status: RebuildStatus
    phase: str | None = Field(description="What the rebuild is doing now")
    processed: int = Field(description="Facts replayed so far")
    total: int = Field(description="Facts to replay")
    started_at: str | None
    finished_at: str | None
    error: str | None


class ProjectionLag(BaseModel):
    """Projection lag in ms over the last events applied."""

    window: int = Field(description="Events the figures are over")
    last: float | None
    p50: float | None
    p99: float | None
    max: float | None


class Lag(BaseModel):
    """How far behind insights is."""

    scope: LagScope
    consumer: str = Field(description="The consumer group")
    consumer_lag_messages: int | None = Field(
        description="Messages behind the high watermarks (operators only)"
    )
    consumer_lag_sampled_at: str | None
    projection_lag_ms: ProjectionLag
    applied_since_start: int
    sample_ms: int = Field(description="How long sampling the broker took")


class ErasureConfirmation(BaseModel):
    """When insights finished forgetting a person, and in which stores."""

    person_id: str
    service: str
    confirmed_at: str
    erased_at: str
    stores: list[str]
