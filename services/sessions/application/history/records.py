"""The records of a programme history, section by section: their shape, their
content digest (what makes a re-import "unchanged") and how a refusal is reported.

A record's shape is checked here; its dates and references are checked by the domain
(``writer.py``), so a history import refuses exactly what a live write would.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from chassis.errors import TandemError, ValidationFailed
from chassis.inputs import (
    MAX_REF,
    REF_PATTERN,
    FewItems,
    Index,
    Name,
    OptionalName,
    Ref,
    RequestBody,
    SaneDate,
    SaneDateTime,
    Text,
)
from contracts.api.sessions import HistoryRecordError, HistorySection
from contracts.sessions.development import CheckInKind
from contracts.sessions.meetings import CancellationReason
from contracts.sessions.notes import FeedbackAbout, PartyRole

SECTIONS = tuple(HistorySection)  # the order a job applies them in


class ContractRecord(RequestBody):
    """A learning contract both sides signed on ``signed_on``."""

    key: Ref
    relationship_id: Ref = Field(description="the relationship (= pairing) id")
    every_days: int = Field(ge=1, le=90, description="the cadence: a session every N")
    minutes: int = Field(ge=15, le=480, description="a session's planned length")
    objectives: Annotated[list[Text], Field(min_length=1, max_length=20)]
    signed_on: SaneDate
    hours_per_month: int | None = Field(
        None, ge=0, le=100, description="default: what the cadence plans"
    )
    terms: Text | None = None


class SessionRecord(RequestBody):
    """A session that was held, cancelled or missed (a no-show)."""

    key: Ref
    relationship_id: Ref
    starts_at: SaneDateTime
    minutes: int = Field(ge=15, le=480)
    status: Literal["held", "cancelled", "missed"]
    absent: Literal["mentor", "mentee", "both"] = Field(
        "both", description="missed only: who did not come"
    )
    reason_code: CancellationReason = Field(
        CancellationReason.OTHER, description="cancelled only: why"
    )


class MilestoneRecord(RequestBody):
    """A milestone set on ``set_on``, due on ``due_on``, achieved on
    ``achieved_on`` (if it was)."""

    key: Ref
    relationship_id: Ref
    objective_index: Index = Field(description="which objective of the contract")
    label: Name
    set_on: SaneDate
    due_on: SaneDate
    achieved_on: SaneDate | None = None
    criteria: Annotated[FewItems[OptionalName], Field(max_length=20)] | None = Field(
        None, description="success criteria; default: the label"
    )
    evidence: Text | None = Field(
        None, description="achieved only; default: a note that it was imported"
    )


class FeedbackRecord(RequestBody):
    """A rating one side gave a session (``session``: the sessions section's key)
    or a milestone (``milestone``: the milestones section's key)."""

    key: Ref
    relationship_id: Ref
    from_role: PartyRole = Field(alias="from")
    about: FeedbackAbout
    session: Ref | None = None
    milestone: Ref | None = None
    rating: int = Field(ge=1, le=5)
    given_at: SaneDateTime

    @model_validator(mode="after")
    def _names_its_subject(self) -> FeedbackRecord:
        if getattr(self, self.about.value) is None:
            raise ValueError(f"feedback about a {self.about} names its {self.about}")
        return self


class CheckInRecord(RequestBody):
    """A monthly alignment check or a quarterly review (with its sponsor)."""

    key: Ref
    relationship_id: Ref
    kind: CheckInKind
    held_on: SaneDate
    alignment: int = Field(ge=1, le=5)
    sponsor_id: Ref | None = None


Record = (
    ContractRecord | SessionRecord | MilestoneRecord | FeedbackRecord | CheckInRecord
)
RECORD_TYPES = (
    ContractRecord,
    SessionRecord,
    MilestoneRecord,
    FeedbackRecord,
    CheckInRecord,
)
MODELS: dict[HistorySection, type[BaseModel]] = {
    HistorySection.CONTRACTS: ContractRecord,
    HistorySection.SESSIONS: SessionRecord,
    HistorySection.MILESTONES: MilestoneRecord,
    HistorySection.FEEDBACK: FeedbackRecord,
    HistorySection.CHECK_INS: CheckInRecord,
}


def digest(record: BaseModel) -> str:
    """The record's content, normalised (``Z`` and ``+00:00`` alike)."""
    doc = json.dumps(
        record.model_dump(mode="json", by_alias=True), sort_keys=True, default=str
    )
    return hashlib.sha256(doc.encode()).hexdigest()


def key_of(raw: object) -> str | None:
    """The record's key as reported (one the input policy refuses is not kept)."""
    key = raw.get("key") if isinstance(raw, dict) else None
    if isinstance(key, str) and len(key) <= MAX_REF and _REF.fullmatch(key):
        return key
    return None


_REF = re.compile(REF_PATTERN)


# The input a domain error is about, when the error does not say.
FIELD_OF = {
    "AlignmentOutOfRange": "alignment",
    "ContractNotInForce": "relationship_id",
    "CriteriaRequired": "criteria",
    "EvidenceRequired": "evidence",
    "FeedbackAlreadyGiven": "key",
    "InvalidRating": "rating",
    "InvalidTransition": "relationship_id",
    "SessionNotHeld": "session",
    "SponsorRequired": "sponsor_id",
    "UnknownObjective": "objective_index",
}
# Per section, for errors raised by a shared rule without naming its input.
SECTION_FIELD_OF = {
    (HistorySection.MILESTONES, "BeforeRelationshipStarted"): "due_on",
}


def failure(code: str, message: str, field: str | None) -> HistoryRecordError:
    return HistoryRecordError(code=code, field=field, message=message)


def refusal(section: HistorySection, error: TandemError) -> HistoryRecordError:
    """A domain (or shape) refusal as the record's error, naming its field."""
    if isinstance(error, ValidationFailed) and error.errors:
        first = error.errors[0]
        return failure(error.code, error.detail, first.path)
    field = error.extra.get("field")
    if not isinstance(field, str):
        field = SECTION_FIELD_OF.get((section, error.code)) or FIELD_OF.get(error.code)
    return failure(error.code, error.detail, field)


def malformed(section: HistorySection, error: ValidationError) -> HistoryRecordError:
    """A record of the wrong shape: its first bad field (the message lists all)."""
    problems = error.errors()
    paths = [".".join(str(p) for p in e["loc"]) or "record" for e in problems]
    message = "; ".join(
        f"{path}: {e['msg']}" for path, e in zip(paths, problems, strict=True)
    )
    return failure("ValidationError", message, paths[0] if paths else None)


def parse(section: HistorySection, raw: object) -> Record | HistoryRecordError:
    try:
        model = MODELS[section].model_validate(raw)
    except ValidationError as exc:
        return malformed(section, exc)
    assert isinstance(model, RECORD_TYPES)
    return model
