"""Integration events of the matching service (topic ``tandem.matching.v1``).

The pairing lifecycle: a round proposes pairs, each explained criterion by criterion;
a coordinator approves, pins or forbids; both people accept (or one declines); the pair
is confirmed (sessions starts a relationship) and later ends. Matching holds no
personal data: people appear by their pseudonymous person id only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from chassis.events import ContractValue, EventPayload, EventRegistry

registry = EventRegistry()

ProgrammeType = Literal["standard", "reverse", "external", "group"]
Mode = Literal["quality", "coverage"]


class ScorePart(ContractValue):
    """One criterion's share of a pair's score, in words a coordinator can check."""

    criterion: str
    weight: float = Field(ge=0, le=1)
    value: float = Field(ge=0, le=1)
    contribution: float = Field(ge=0, le=1, description="weight times value")
    reason: str


@registry.register
class RoundStarted(EventPayload):
    round_id: str
    cohort_id: str
    mode: Mode = "quality"
    programme_type: ProgrammeType = "standard"
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
    programme_type: ProgrammeType = "standard"
    score: float = Field(ge=0, le=1)
    parts: list[ScorePart] = Field(default_factory=list)
    expires_at: datetime
    replaces: str | None = Field(None, description="pairing this one re-pairs")
    reason: str | None = Field(None, description="why it was proposed (re-pairing)")


@registry.register
class PairingApproved(EventPayload):
    pairing_id: str
    mentor_id: str
    mentee_id: str


@registry.register
class PairingAccepted(EventPayload):
    pairing_id: str
    person_id: str


@registry.register
class PairingDeclined(EventPayload):
    pairing_id: str
    person_id: str
    reason: str | None = None


@registry.register
class PairingExpired(EventPayload):
    pairing_id: str


@registry.register
class PairingWithdrawn(EventPayload):
    """A coordinator overrode a proposal (forbade the pair or re-ran the round)."""

    pairing_id: str
    reason: str


@registry.register
class PairingConfirmed(EventPayload):
    """Both people accepted: the relationship starts (sessions listens for this)."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    cohort_id: str | None = None
    programme_type: ProgrammeType = "standard"
    score: float | None = None


@registry.register
class PairingEnded(EventPayload):
    """A confirmed pairing is over; the mentor's seat is free again."""

    pairing_id: str
    mentor_id: str
    mentee_id: str
    reason: str = "concluded"


@registry.register
class PairForbidden(EventPayload):
    """A coordinator ruled this pair out (never proposed again in the cohort)."""

    cohort_id: str | None = None
    mentor_id: str
    mentee_id: str
    reason: str


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
    reason: str
    requested_by: Literal["insights", "coordinator", "mentee", "mentor"]


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
