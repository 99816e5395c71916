"""The answers of the matching service's HTTP API (``services/matching/api``).

Rounds (``/rounds``), pairings (``/pairings``, ``/forbidden-pairs``) and one mentee's
planning (``/mentees/{id}/suggestions``, ``/rotation``, ``/pairings/{id}/repair``).
People appear by their pseudonymous person id only. The closed sets are the enums of
``contracts.matching`` (shared with the events); ``RoundStatus`` and ``NoteAction``
exist only in these answers.

Some fields of a round are present only in some states (``error`` once it failed,
``proposed`` … ``not_proposed`` once it completed), and a fairness group shows only
the figures that may be disclosed: an absent field is not sent as ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contracts.matching import (
    Criterion,
    Mode,
    NotProposed,
    PairingState,
    ProgrammeType,
    ReasonCode,
    RotationCycle,
    WeightBasis,
    WeightsSource,
)

__all__ = [
    "CircleView",
    "CohortWeightsView",
    "CriterionWeight",
    "FairnessGroup",
    "FairnessIteration",
    "FairnessReport",
    "NoFairness",
    "NoteAction",
    "PairRuledOut",
    "PairingBatch",
    "PairingNote",
    "PairingView",
    "PinnedPair",
    "RotationPlanView",
    "RoundBatch",
    "RoundProgress",
    "RoundStatus",
    "RoundView",
    "ScorePartView",
    "SharedGoal",
    "Suggestion",
    "Suggestions",
    "WeightsChange",
    "WeightsPreview",
    "WeightsPreviewPair",
    "WeightsPreviewSide",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- pairings ---------------------------------------------------------------------------


class NoteAction(StrEnum):
    """The step a private note was typed with (the event it accompanied)."""

    PROPOSED = "PairingProposed"  # the text of a re-pairing request, on the proposal
    DECLINED = "PairingDeclined"
    WITHDRAWN = "PairingWithdrawn"
    ENDED = "PairingEnded"
    FORBIDDEN = "PairForbidden"
    REPAIRING_REQUESTED = "RepairingRequested"


class ScorePartView(_Answer):
    """One criterion's share of a pair's score, with the sentence explaining it."""

    criterion: str = Field(
        description="What was compared: a `Criterion` (a string, as recorded in the "
        "proposal's event)"
    )
    weight: float = Field(ge=0, le=1, description="The criterion's weight (0 to 1)")
    value: float = Field(ge=0, le=1, description="How well the pair meets it (0 to 1)")
    contribution: float = Field(ge=0, le=1, description="weight times value")
    reason: str = Field(
        description="Why, in words a coordinator can check (quotes the two profiles; "
        "once those texts are erased, the numbers in words)"
    )


class PairingNote(_Answer):
    """The reason given with a step of the pairing, kept privately: read by
    coordinators, admins and its author only."""

    action: NoteAction
    code: ReasonCode | None = Field(description="The code the step's event carries")
    author_id: str = Field(description="Person id of who gave it")
    text: str = Field(
        description="The words typed with it (empty when given as a code only)"
    )
    written_at: str = Field(description="ISO 8601 time it was written")


class PairingView(_Answer):
    """A proposed or agreed mentor-mentee pair, with its explained score."""

    pairing_id: str
    round_id: str | None = Field(description="The round that proposed it, if any")
    cohort_id: str | None = Field(description="The cohort paired in")
    mentor_id: str = Field(description="Person id (or advisor id) of the mentor")
    mentee_id: str
    programme_type: ProgrammeType
    state: PairingState
    score: float = Field(ge=0, le=1, description="Overall match score (0 to 1)")
    parts: list[ScorePartView] = Field(
        description="The score criterion by criterion; contributions add up to it"
    )
    accepted_by: list[str] = Field(
        description="Person ids of those of the two who have accepted so far"
    )
    replaces: str | None = Field(description="The pairing this one re-pairs")
    reason: str | None = Field(
        description="Why it was proposed outside a round: for coordinators and the "
        "author, the text typed with it; for the others `reason_code`"
    )
    reason_code: ReasonCode | None = Field(
        description="Why it was proposed outside a round (re-pairing, next best)"
    )
    expires_at: str = Field(description="ISO 8601 time an open proposal expires")
    starts_on: date | None = Field(
        None,
        description="The relationship's start as the coordinator set it on approval "
        "(null: it starts when both have accepted)",
    )
    notes: list[PairingNote] = Field(
        description="The private notes the caller may read"
    )


class PairingBatch(_Answer):
    """Several pairings (those the caller may not see left out)."""

    items: list[PairingView]


class PairRuledOut(_Answer):
    """A pair ruled out."""

    withdrawn: list[str] = Field(
        description="Ids of the open proposals of that pair, now withdrawn"
    )


# -- rounds -----------------------------------------------------------------------------


class RoundStatus(StrEnum):
    """Where a matching round is."""

    RUNNING = "running"  # the optimiser is at work (see ``progress``)
    COMPLETED = "completed"  # its proposals are recorded
    FAILED = "failed"  # it stopped without proposing anything (see ``error``)
    INTERRUPTED = "interrupted"  # the service restarted while it ran; start another


class RoundProgress(_Answer):
    """How far a round has come."""

    phase: str = Field(description="queued, encode, score, rules, solve, fairness …")
    done: int = Field(description="Steps done in this phase")
    total: int = Field(description="Steps in this phase")


class PinnedPair(_Answer):
    """A pair the coordinator fixed for the round."""

    mentee_id: str
    mentor_id: str


class FairnessGroup(_Answer):
    """One mentee group's match quality, as it may be disclosed: counts perturbed and
    rounded to 5, figures rounded; a figure withheld is absent."""

    group: str = Field(description="The group, e.g. a business unit")
    size: int = Field(description="Mentees in the group (perturbed, rounded to 5)")
    suppressed: bool = Field(description="True when the group's figures are withheld")
    matched: int | None = Field(None, description="Mentees matched (absent: withheld)")
    match_rate: float | None = Field(None, description="Share matched")
    mean: float | None = Field(None, description="Mean match quality")
    p10: float | None = Field(None, description="10th percentile of match quality")
    p50: float | None = Field(None, description="Median match quality")
    p90: float | None = Field(None, description="90th percentile of match quality")


class FairnessIteration(_Answer):
    """One re-balancing attempt (only the shown groups' boosts and means)."""

    iteration: int
    boosts: dict[str, float] = Field(description="group → score boost applied")
    means: dict[str, float] = Field(description="group → mean match quality")
    worst_ratio: float = Field(description="Lowest group mean / best group mean")
    total_score: float
    matched: int


class FairnessReport(_Answer):
    """A round's fairness check across mentee groups, fit for a coordinator
    (docs/privacy.md): small groups are never named nor sized."""

    group_by: str | None = Field(None, description="How mentees were grouped")
    min_ratio: float | None = Field(
        None, description="Lowest allowed group mean as a share of the best group's"
    )
    min_group_size: int | None = Field(
        None,
        description="The smallest group reported: the requested size, never below "
        "the organisation's k",
    )
    satisfied: bool | None = Field(None, description="Whether the bar was met")
    chosen_iteration: int | None = Field(
        None, description="Which re-balancing iteration was kept"
    )
    groups: list[FairnessGroup] = Field(description="The groups large enough to show")
    suppressed_groups: int = Field(description="How many groups were withheld")
    iterations: list[FairnessIteration]


class NoFairness(_Answer):
    """An empty object: the round was run without a fairness check."""


class SharedGoal(_Answer):
    """A competency two or more members of a circle want to grow."""

    competency_id: str
    name: str = Field(description="The competency's name (its id if it has none)")
    members: int = Field(ge=2, description="How many of the circle's mentees want it")


class CircleView(_Answer):
    """A circle of a group round: a mentor and the mentees still placed with them
    (declined, expired and withdrawn proposals left out), with what they share."""

    mentor_id: str
    mentee_ids: list[str] = Field(description="In the order proposed")
    shared_goals: list[SharedGoal] = Field(
        description="The goals two or more members share, the most shared first"
    )
    affinity: float = Field(
        ge=0,
        le=1,
        description="How much the members' goal sets overlap (mean pairwise Jaccard)",
    )


class RoundView(_Answer):
    """A matching round: status, live progress and, once completed, its outcome."""

    round_id: str
    cohort_id: str
    mode: Mode
    programme_type: ProgrammeType
    mentees: int = Field(description="Mentees waiting when it started")
    mentors: int = Field(description="Mentors with a profile when it started")
    status: RoundStatus
    progress: RoundProgress
    pinned: list[PinnedPair]
    error: str | None = Field(
        None, description="What stopped it (present only when it failed)"
    )
    proposed: int | None = Field(
        None, description="Pairings proposed (present once completed)"
    )
    unmatched: list[str] | None = Field(
        None, description="Mentee ids left unmatched (present once completed)"
    )
    total_score: float | None = Field(None, description="Present once completed")
    fairness: FairnessReport | NoFairness | None = Field(
        None,
        description="Present once completed: the fairness report, or `{}` when "
        "the round had no fairness check",
    )
    not_proposed: list[NotProposed] | None = Field(
        None,
        description="Chosen pairs left out when recorded (present once completed)",
    )
    circles: list[CircleView] | None = Field(
        None,
        description="A group programme's circles: each mentor with two or more "
        "mentees still in (present once a group round completed)",
    )


class RoundBatch(_Answer):
    """Several rounds (unknown ids and other organisations' rounds left out)."""

    items: list[RoundView]


# -- planning ---------------------------------------------------------------------------


class Suggestion(_Answer):
    """A mentor suggested to a mentee, explained."""

    rank: int = Field(ge=1, description="1 is the best")
    mentor_id: str
    score: float = Field(ge=0, le=1)
    summary: str = Field(description="The two criteria that weigh most, in words")
    parts: list[ScorePartView]


class Suggestions(_Answer):
    """A mentee's top mentors (dismissed and already-had mentors left out)."""

    mentee_id: str
    cohort_id: str
    suggestions: list[Suggestion]


class RotationPlanView(_Answer):
    """A mentee's rotation through distinct mentors, one per cycle."""

    plan_id: str
    mentee_id: str
    cohort_id: str | None
    planned_at: str = Field(description="ISO 8601 time the plan was made")
    cycles: list[RotationCycle]


# -- a cohort's weights ------------------------------------------------------------------


class CriterionWeight(_Answer):
    """One criterion's weight."""

    criterion: Criterion
    weight: float = Field(ge=0)


class WeightsChange(_Answer):
    """One change of a cohort's weights: who, when, from what and on which evidence."""

    version: int = Field(ge=1, description="The change's place in the history")
    applied_at: datetime
    applied_by: str | None = Field(description="The coordinator's subject")
    source: WeightsSource
    suggested_on: date | None = Field(
        description="The day the applied suggestions were read"
    )
    weights: list[CriterionWeight]
    previous: list[CriterionWeight] = Field(description="Empty: the programme's preset")
    basis: list[WeightBasis] = Field(
        description="The evidence of each suggested change applied"
    )


class CohortWeightsView(_Answer):
    """The criterion weights a cohort's rounds use, and how they came to be."""

    cohort_id: str
    programme_type: ProgrammeType
    preset: bool = Field(description="True: the programme's preset, never changed")
    weights: list[CriterionWeight] = Field(description="As set (the preset's if none)")
    history: list[WeightsChange] = Field(description="Oldest first")


class WeightsPreviewSide(_Answer):
    """One weighting's round of the cohort, as it would be made now."""

    weights: list[CriterionWeight] = Field(description="Normalised to sum to 1")
    paired: int
    unmatched: int
    total_score: float
    mean_score: float | None = Field(description="Null when nobody is paired")


class WeightsPreviewPair(_Answer):
    """A mentee's mentor under each weighting (null: left unmatched)."""

    mentee_id: str
    current_mentor_id: str | None
    current_score: float | None
    proposed_mentor_id: str | None
    proposed_score: float | None
    differs: bool


class WeightsPreview(_Answer):
    """The cohort's next round with its current weights and with proposed ones,
    side by side; nothing is recorded."""

    cohort_id: str
    current: WeightsPreviewSide
    proposed: WeightsPreviewSide
    differing: int = Field(description="Mentees the two rounds pair differently")
    pairs: list[WeightsPreviewPair] = Field(description="Every mentee, by id")
