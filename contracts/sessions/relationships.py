"""The relationship and its learning contract."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from chassis.events import ContractValue, EventPayload, EventRegistry

registry = EventRegistry()


class RelationshipKind(StrEnum):
    """The programme type the relationship came from."""

    STANDARD = "standard"
    REVERSE = "reverse"
    EXTERNAL = "external"
    GROUP = "group"


class ConclusionReason(StrEnum):
    """Why a relationship concluded."""

    COMPLETED = "completed"
    REMATCHED = "rematched"
    WITHDRAWN = "withdrawn"
    ERASED = "erased"
    # Closed by notifications: quiet past its warning and notice period
    # (``RelationshipInactivityClosed``, matching's ``PairingEnded`` reason ``inactive``).
    INACTIVE = "inactive"


class RelationshipState(StrEnum):
    """Where a relationship stands: active, paused or concluded."""

    ACTIVE = "active"
    PAUSED = "paused"
    CONCLUDED = "concluded"


@registry.register
class RelationshipStarted(EventPayload):
    """A confirmed pairing became a relationship (one per pairing, exactly once)."""

    relationship_id: str
    pairing_id: str
    mentor_id: str
    mentee_id: str
    cohort_id: str | None = None
    kind: RelationshipKind = RelationshipKind.STANDARD
    starts_on: date
    planned_end_on: date


class Cadence(ContractValue):
    every_days: int = Field(ge=1, le=90, description="e.g. 14 for every two weeks")
    minutes: int = Field(ge=15, le=480)


@registry.register
class ContractDrafted(EventPayload):
    """A new version of the learning contract; both sides must sign it again."""

    relationship_id: str
    version: int = Field(ge=1)
    cadence: Cadence
    hours_per_month: int = Field(ge=0, le=100)
    objectives: int = Field(
        ge=0, description="how many objectives (their text stays private)"
    )


@registry.register
class ContractSigned(EventPayload):
    relationship_id: str
    version: int
    person_id: str


@registry.register
class ContractInForce(EventPayload):
    """Both sides signed this version: sessions can be held under it."""

    relationship_id: str
    version: int
    signed_on: date | None = Field(
        None,
        description="the day the last side signed (effective date, when the contract "
        "was recorded afterwards, as a programme's history); absent: the day the "
        "event was recorded",
    )


@registry.register
class RelationshipPaused(EventPayload):
    relationship_id: str
    until: date | None = None
    paused_on: date | None = Field(
        None,
        description="the day the pause began (effective date: a pause told after "
        "the fact); absent: the day the event was recorded",
    )


@registry.register
class RelationshipResumed(EventPayload):
    relationship_id: str
    resumed_on: date | None = Field(
        None,
        description="the day meetings resumed (effective date); absent: the day the "
        "event was recorded",
    )


@registry.register
class RelationshipConcluded(EventPayload):
    relationship_id: str
    reason: ConclusionReason
    concluded_on: date | None = Field(
        None,
        description="the day it really ended (effective date: a pairing that ended "
        "in the programme's history); absent: the day the event was recorded",
    )
