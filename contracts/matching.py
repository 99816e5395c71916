"""Integration events of the matching service (topic ``tandem.matching.v1``).

The pairing lifecycle: a round proposes pairs, each explained criterion by criterion;
a coordinator approves, pins or forbids; both people accept (or one declines); the pair
is confirmed (sessions starts a relationship) and later ends. Matching holds no
personal data: people appear by their pseudonymous person id only.

No text a person typed and no sentence quoting a profile is an event here: a reason is
a closed ``ReasonCode`` (the free text typed with it stays in matching's private
``pairing_notes``, readable by coordinators and its author, deleted on erasure), and a
score part carries numbers only (the sentence explaining it is kept beside the pairing
in matching and wiped when either person is erased). Version 1 of the events that
carried text is upcast on read (``upcast_v1_v2`` below); its old bytes stay in the
store until an operator rewrites them (the upcaster only keeps them from being read).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from chassis.events import ContractValue, EventPayload, EventRegistry
from contracts import not_personal

# The cohort's programme type is profiles' (matching reads cohorts from it).
from contracts.profiles import ProgrammeType

registry = EventRegistry()


class Mode(StrEnum):
    """What a matching round optimises."""

    QUALITY = "quality"  # the best total match quality
    COVERAGE = "coverage"  # the most people matched


class ReasonCode(StrEnum):
    """Why a pairing was proposed, declined, withdrawn, ended or re-paired: the closed
    code its events carry (the words typed with it stay private in matching)."""

    CONCLUDED = "concluded"  # a confirmed pairing ran its course
    REMATCHED = "rematched"  # its re-pairing was confirmed
    ERASED = "erased"  # one of the two people was erased
    # one of the two people was deactivated, or the relationship went quiet past its
    # warning and notice period (notifications' RelationshipInactivityClosed)
    INACTIVE = "inactive"
    ROUND_RERUN = "round_rerun"  # a coordinator re-ran the round
    PAIR_FORBIDDEN = "pair_forbidden"  # a coordinator ruled the pair out
    CAPACITY_LOWERED = "capacity_lowered"  # the mentor's seats went down
    NEXT_BEST_AFTER_DECLINE = "next_best_after_decline"
    NEXT_BEST_AFTER_EXPIRY = "next_best_after_expiry"
    REPAIRING = "repairing"  # proposed to replace a pairing that is not working
    EARLY_WARNING = "early_warning"  # insights saw the relationship stall
    DECLINED_SCHEDULE = "declined_schedule"  # no time or no shared availability
    DECLINED_FIT = "declined_fit"  # the person does not see the fit
    NOT_WORKING = "not_working"  # the relationship is not working
    CONFLICT_OF_INTEREST = "conflict_of_interest"  # e.g. a reporting line, same team
    OTHER = "other"  # see the note, where one was written


class Criterion(StrEnum):
    """What a pair's score is made of, one part each (summed in this order)."""

    SKILLS = "skills"  # the mentor is strong where the mentee wants to grow
    EXPERIENCE = "experience"  # the mentor has what the mentee lacks
    PERSPECTIVE = "perspective"  # a different vantage point (unit, geography …)
    STYLE = "style"  # leadership style suits learning style
    FORMATS = "formats"  # shared formats (one to one, shadowing …)
    AVAILABILITY = "availability"  # shared weekly hours
    GOALS = "goals"  # the mentee's goals meet the mentor's strengths


class PairingState(StrEnum):
    """Where a pairing is in its life: proposed → approved → confirmed → ended, or
    closed early (declined, withdrawn, expired)."""

    PROPOSED = "proposed"  # waiting for the coordinator's approval
    APPROVED = "approved"  # approved; waiting for both people to accept
    CONFIRMED = "confirmed"  # both accepted: the relationship runs
    DECLINED = "declined"  # one of the two said no
    WITHDRAWN = "withdrawn"  # a coordinator (or the system) withdrew the proposal
    EXPIRED = "expired"  # not answered in time
    ENDED = "ended"  # a confirmed pairing is over


class RequestedBy(StrEnum):
    """Who asked for a new mentor (``RepairingRequested``)."""

    INSIGHTS = "insights"  # an early warning of a stalled relationship
    COORDINATOR = "coordinator"
    MENTEE = "mentee"
    MENTOR = "mentor"


REASON_CODES: frozenset[str] = frozenset(ReasonCode)
CODE = "a closed reason code"

# The reason sentences of version 1, and the code each now is.
_LEGACY_PREFIXES = (
    ("round re-run", ReasonCode.ROUND_RERUN),
    ("pair forbidden", ReasonCode.PAIR_FORBIDDEN),
    ("the mentor's seats went down", ReasonCode.CAPACITY_LOWERED),
    ("next best after a decline", ReasonCode.NEXT_BEST_AFTER_DECLINE),
    ("next best after an expiry", ReasonCode.NEXT_BEST_AFTER_EXPIRY),
    ("insights early warning", ReasonCode.EARLY_WARNING),
)


def legacy_code(reason: object) -> ReasonCode | None:
    """The code of a version-1 ``reason`` (free text becomes ``other``)."""
    if reason is None:
        return None
    text = str(reason)
    if text in REASON_CODES:
        return ReasonCode(text)
    for prefix, code in _LEGACY_PREFIXES:
        if text.startswith(prefix):
            return code
    return ReasonCode.OTHER


class ScorePart(ContractValue):
    """One criterion's share of a pair's score, in numbers. The sentence a
    coordinator reads is rendered by matching on read, never published: it quotes
    the two people's profiles."""

    criterion: str = Field(
        description="a ``Criterion`` (a string here: events are kept forever, and "
        "one recorded under another name must still be read)"
    )
    weight: float = Field(ge=0, le=1)
    value: float = Field(ge=0, le=1)
    contribution: float = Field(ge=0, le=1, description="weight times value")


@registry.register
class RoundStarted(EventPayload):
    round_id: str
    cohort_id: str
    mode: Mode = Mode.QUALITY
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    mentees: int
    mentors: int


@registry.register
class RoundProgressed(EventPayload):
    round_id: str
    phase: str
    done: int
    total: int


class NotProposed(ContractValue):
    """A pair the optimiser chose that was not proposed after all: by the time the
    round recorded it, the mentor's last seat or the mentee had been taken."""

    mentee_id: str
    mentor_id: str
    reason: str


@not_personal(
    fairness="the disclosed fairness report (services/matching/domain/fairness.py "
    "``disclose``): groups under the keyed threshold are never named nor sized, "
    "sizes perturbed and rounded; no member lists"
)
@registry.register
class RoundCompleted(EventPayload):
    round_id: str
    cohort_id: str
    proposed: int
    unmatched: list[str] = Field(default_factory=list, description="mentee ids")
    total_score: float
    fairness: dict[str, object] = Field(default_factory=dict)
    not_proposed: list[NotProposed] = Field(
        default_factory=list,
        description="chosen pairs left out when recorded (their mentees are unmatched)",
    )


@registry.register
class RoundFailed(EventPayload):
    """The round stopped without proposing anything; a coordinator may start another."""

    round_id: str
    cohort_id: str
    error: str = Field(description="what stopped it, for the coordinator")


@registry.register
class PairingProposed(EventPayload):
    pairing_id: str
    round_id: str | None = None
    cohort_id: str | None = None
    mentor_id: str
    mentee_id: str
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    score: float | None = Field(
        ge=0,
        le=1,
        description="The pair's match score; null: a pairing recorded from the "
        "programme's history, never scored",
    )
    parts: list[ScorePart] = Field(default_factory=list)
    expires_at: datetime
    replaces: str | None = Field(None, description="pairing this one re-pairs")
    reason: ReasonCode | None = Field(
        None, description="why it was proposed outside a round"
    )
    schema_version: ClassVar[int] = 2


@registry.register
class PairingApproved(EventPayload):
    pairing_id: str
    mentor_id: str
    mentee_id: str
    starts_on: date | None = Field(
        None,
        description="The day the relationship starts (or started), as the "
        "coordinator set it on approval; null: it starts when confirmed",
    )


@registry.register
class PairingAccepted(EventPayload):
    pairing_id: str
    person_id: str


@registry.register
class PairingDeclined(EventPayload):
    pairing_id: str
    person_id: str
    reason: ReasonCode | None = None
    schema_version: ClassVar[int] = 2


@registry.register
class PairingExpired(EventPayload):
    pairing_id: str


@registry.register
class PairingWithdrawn(EventPayload):
    """A coordinator overrode a proposal (forbade the pair or re-ran the round)."""

    pairing_id: str
    reason: ReasonCode
    schema_version: ClassVar[int] = 2


@registry.register
class PairingConfirmed(EventPayload):
    """Both people accepted: the relationship starts (sessions listens for this).

    ``starts_on`` is the effective start the coordinator set on approval (it may be
    in the past, for a programme's history); null (and every event recorded before
    the field existed) means the relationship starts the day of this event."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    cohort_id: str | None = None
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    score: float | None = None
    starts_on: date | None = Field(
        None, description="The relationship's effective start; null: this day"
    )


@registry.register
class PairingEnded(EventPayload):
    """A confirmed pairing is over; the mentor's seat is free again.

    ``ended_on`` is the day it really ended, when that is not the day of this event (a
    pairing recorded from the programme's history); null (and every event recorded
    before the field existed) means it ended the day of this event."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    reason: ReasonCode = ReasonCode.CONCLUDED
    ended_on: date | None = Field(
        None, description="The day the pairing ended; null: this day"
    )
    schema_version: ClassVar[int] = 2


@registry.register
class PairForbidden(EventPayload):
    """A coordinator ruled this pair out (never proposed again in the cohort)."""

    cohort_id: str | None = None
    mentor_id: str
    mentee_id: str
    reason: ReasonCode
    schema_version: ClassVar[int] = 2


@registry.register
class PairPinned(EventPayload):
    """A coordinator fixed this pair for a re-run of the round."""

    round_id: str
    mentor_id: str
    mentee_id: str


@registry.register
class SuggestionDismissed(EventPayload):
    mentee_id: str
    mentor_id: str


@registry.register
class RepairingRequested(EventPayload):
    """A stalled relationship (insights) or a coordinator asks for a new mentor."""

    pairing_id: str
    mentee_id: str
    reason: ReasonCode
    requested_by: RequestedBy
    schema_version: ClassVar[int] = 2


class RotationCycle(ContractValue):
    cycle: int = Field(ge=1)
    mentor_id: str
    starts_on: date
    ends_on: date


@registry.register
class RotationPlanned(EventPayload):
    """A mentee moves through several mentors over cycles, never repeating one."""

    plan_id: str
    mentee_id: str
    cohort_id: str | None = None
    cycles: list[RotationCycle]


# -- a cohort's matching weights ------------------------------------------------------


class WeightsSource(StrEnum):
    """Where a cohort's new weights came from."""

    PAIRING_PATTERNS = "pairing_patterns"  # insights' suggestions from the history
    COORDINATOR = "coordinator"  # set by hand


@not_personal(
    characteristic="a code of insights' pairing patterns (`function`, `style`)"
)
class WeightBasis(ContractValue):
    """The evidence one criterion's change rests on (insights' pairing patterns):
    counts and a p-value only, so it tells nothing about any one person."""

    criterion: Criterion
    change: float = Field(ge=-1, le=1)
    characteristic: str = Field(max_length=40, pattern=r"^[a-z_]*$")
    favoured_pairings: int = Field(ge=0, le=1_000_000)
    favoured_healthy: int = Field(ge=0, le=1_000_000)
    other_pairings: int = Field(ge=0, le=1_000_000)
    other_healthy: int = Field(ge=0, le=1_000_000)
    p_value: float | None = Field(None, ge=0, le=1)


@not_personal(cohort_id="the cohort's id, a programme's, not a person's")
@registry.register
class MatchingWeightsApplied(EventPayload):
    """A coordinator set the criterion weights a cohort's rounds use (who and when
    travel in the envelope: ``actor``, ``time``)."""

    cohort_id: str
    weights: dict[Criterion, float]
    previous: dict[Criterion, float] = Field(
        default_factory=dict, description="empty: the programme's preset"
    )
    source: WeightsSource = WeightsSource.COORDINATOR
    suggested_on: date | None = Field(
        None, description="the day the suggestions applied were read"
    )
    basis: list[WeightBasis] = Field(default_factory=list)


# -- upcasters: version 1 carried free text -----------------------------------------


def _coded(data: dict[str, Any]) -> dict[str, Any]:
    code = legacy_code(data.get("reason"))
    if code is None:
        data.pop("reason", None)
    else:
        data["reason"] = code
    return data


for _type in (
    "PairingDeclined",
    "PairingWithdrawn",
    "PairingEnded",
    "PairForbidden",
    "RepairingRequested",
):
    registry.upcaster(_type, 1)(_coded)


@registry.upcaster("PairingProposed", 1)
def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 quoted the two people's profiles in each part's ``reason`` and
    carried a re-pairing's free-text ``reason``: both are dropped on read (the
    reason becomes its code). The stored bytes keep the old text until an operator
    rewrites the events (not done by the service: the store is append-only)."""
    data["parts"] = [
        {k: v for k, v in part.items() if k != "reason"}
        for part in data.get("parts") or []
    ]
    return _coded(data)
