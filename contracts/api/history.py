"""Programme history imports (issue 20): the documents and the job answers.

One document (``tandem.programme-history/1``) is split by owning service: profiles
takes ``cohorts`` and ``outcomes`` (people referred to by employee id), matching takes
``pairings`` with ids already resolved. Each service answers the same job shape: a
job, its counts per section, and a page of per-record outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from chassis.inputs import Items, Level, Name, Positive, Ref, RequestBody
from chassis.inputs import SaneDate as Day
from contracts.matching import ReasonCode
from contracts.profiles import OutcomeKind, ProgrammeRole, ProgrammeType

if TYPE_CHECKING:
    from chassis.history_jobs import JobState, RecordResult

FORMAT: Literal["tandem.programme-history/1"] = "tandem.programme-history/1"
MAX_RECORDS = 5_000  # per section of one import (a body is at most 1 MiB)


class HistoryJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class HistoryOutcome(StrEnum):
    """What happened to one record (``would_create``: a dry run's ``created``)."""

    CREATED = "created"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    WOULD_CREATE = "would_create"


# -- answers -----------------------------------------------------------------------------


class HistorySectionCounts(BaseModel):
    created: int
    unchanged: int
    failed: int
    would_create: int = Field(0, description="Dry run: records that would be created")


class HistoryImportJob(BaseModel):
    """A history import job and how many records of each section had each outcome."""

    job_id: str
    status: HistoryJobStatus
    dry_run: bool
    counts: dict[str, HistorySectionCounts] = Field(
        description="Per section of the service (every section, zeros included)"
    )
    total: int = Field(description="Records processed so far")
    error: str | None = Field(None, description="Why the job as a whole failed")
    created_at: str
    finished_at: str | None = None
    replayed: bool = Field(
        False, description="True when an Idempotency-Key replayed an earlier job"
    )

    @classmethod
    def of(cls, state: JobState, *, replayed: bool = False) -> HistoryImportJob:
        """A job as ``chassis.history_jobs`` keeps it."""
        return cls(
            job_id=state.job_id,
            status=HistoryJobStatus(state.status),
            dry_run=state.dry_run,
            counts={
                s: HistorySectionCounts.model_validate(c)
                for s, c in state.counts.items()
            },
            total=state.total,
            error=state.error,
            created_at=state.created_at,
            finished_at=state.finished_at,
            replayed=replayed,
        )


class HistoryRecordError(BaseModel):
    code: str = Field(
        description="Stable snake_case name: invalid, unknown_person, unknown_cohort, "
        "conflict, not_eligible, capacity_exceeded, …"
    )
    field: str | None = Field(description="Dotted path of the field in the record")
    message: str


class HistoryRecordResult(BaseModel):
    section: str
    key: str = Field(description="The record's key in the document")
    outcome: HistoryOutcome
    error: HistoryRecordError | None
    id: str | None = Field(
        description="The id of what the record created (or created earlier, when "
        "unchanged); null when it failed and in a dry run"
    )


class HistoryRecordPage(BaseModel):
    items: list[HistoryRecordResult]
    next: int | None = Field(description="Cursor of the next page (`after`), if any")

    @classmethod
    def of(cls, items: Sequence[RecordResult], cursor: int | None) -> HistoryRecordPage:
        """A page as ``chassis.history_jobs`` reads it."""
        return cls(
            items=[
                HistoryRecordResult(
                    section=r.section,
                    key=r.key,
                    outcome=HistoryOutcome(r.outcome),
                    error=HistoryRecordError(
                        code=r.error.code, field=r.error.field, message=r.error.message
                    )
                    if r.error
                    else None,
                    id=r.entity_id,
                )
                for r in items
            ],
            next=cursor,
        )


# -- profiles: cohorts and outcomes ------------------------------------------------------


class HistoryMember(RequestBody):
    employee_id: Ref
    role: Literal[ProgrammeRole.MENTEE, ProgrammeRole.MENTOR]
    admitted_on: Day


class HistoryCohort(RequestBody):
    """A past (or running) cohort: created with its dates, its members admitted on
    the day they joined. ``starts_on``..``ends_on`` is its development phase (the
    relationships' cycle)."""

    key: Ref
    name: Name
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    starts_on: Day
    ends_on: Day
    capacity: Positive | None = Field(
        None, description="Mentee seats; default: the number of mentees listed"
    )
    members: Items[HistoryMember] = Field(default_factory=list)


class HistoryCareerOutcome(RequestBody):
    """A career outcome of a person, as ``POST /people/{id}/outcomes`` records it."""

    key: Ref
    employee_id: Ref
    kind: OutcomeKind
    effective_on: Day
    to_level: Level | None = None
    detail: Name | None = Field(None, description="The new title (e.g. Director)")


class ProfilesHistoryIn(RequestBody):
    """The profiles sections of a programme history document."""

    format: Literal["tandem.programme-history/1"] = FORMAT
    cohorts: list[HistoryCohort] = Field(default_factory=list, max_length=MAX_RECORDS)
    outcomes: list[HistoryCareerOutcome] = Field(
        default_factory=list, max_length=MAX_RECORDS
    )


# -- matching: pairings ------------------------------------------------------------------


class HistoryPairing(RequestBody):
    """A past (or running) pairing, with the ids profiles gave its cohort and people."""

    key: Ref
    cohort_id: Ref
    mentor_id: Ref
    mentee_id: Ref
    programme_type: ProgrammeType = ProgrammeType.STANDARD
    approved_on: Day
    starts_on: Day
    ended_on: Day | None = None
    end_reason: ReasonCode | None = Field(
        None, description="Why it ended (default concluded); only with ended_on"
    )


class MatchingHistoryIn(RequestBody):
    """The matching section of a programme history document."""

    format: Literal["tandem.programme-history/1"] = FORMAT
    pairings: list[HistoryPairing] = Field(default_factory=list, max_length=MAX_RECORDS)


__all__ = [
    "FORMAT",
    "HistoryCareerOutcome",
    "HistoryCohort",
    "HistoryImportJob",
    "HistoryJobStatus",
    "HistoryMember",
    "HistoryOutcome",
    "HistoryPairing",
    "HistoryRecordError",
    "HistoryRecordPage",
    "HistoryRecordResult",
    "HistorySectionCounts",
    "MatchingHistoryIn",
    "ProfilesHistoryIn",
]
