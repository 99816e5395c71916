"""The sessions service's HTTP answers: relationships, sessions, notes, feedback,
pulse surveys, development items, calendar tokens and the gateway's batch reads.

Several answers show a field only to some readers (the contract's ``terms``, a
session's ``agenda``, a note's ``body``, a feedback ``comment``, a development item's
words): such a field is *absent* for the others, not null, so the routes render with
``response_model_exclude_unset`` and the application sets exactly the fields a reader
may see. Timestamps are RFC 3339 strings as stored; dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.sessions.development import (
    CheckInKind,
    ConfirmerRole,
    EscalationCategory,
    EscalationOutcome,
    MilestoneStatus,
    ProjectKind,
)
from contracts.sessions.meetings import CancellationReason, SessionFormat, SessionState
from contracts.sessions.notes import FeedbackAbout, NoteKind, PartyRole, Visibility
from contracts.sessions.relationships import (
    Cadence,
    RelationshipKind,
    RelationshipState,
)

# An RFC 3339 timestamp with its offset, as stored (``…+00:00`` or ``…Z``).
Stamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

ONLY_PAIR = "absent unless the caller is the mentor or the mentee"


class Answer(BaseModel):
    """Base of every answer of the service: every field it may carry is declared."""

    model_config = ConfigDict(extra="forbid")


# -- closed sets of the API only ------------------------------------------------------


class ConcludeReason(StrEnum):
    """Why a coordinator concludes a relationship (``erased`` is the platform's)."""

    COMPLETED = "completed"
    REMATCHED = "rematched"
    WITHDRAWN = "withdrawn"


class MilestoneReport(StrEnum):
    """Progress reported on a milestone, or ``missed`` once it is overdue."""

    IN_PROGRESS = "in_progress"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"
    MISSED = "missed"


class ItemKind(StrEnum):
    """The kinds of development item of a relationship."""

    MILESTONE = "milestone"
    CHECK_IN = "check_in"
    ROTATION = "rotation"
    ESCALATION = "escalation"


class BatchItemKind(StrEnum):
    """The development items the by-relationship batch read serves."""

    MILESTONE = "milestone"
    CHECK_IN = "check_in"
    ROTATION = "rotation"


class ItemState(StrEnum):
    """Where a development item stands. Milestones: open, achieved, missed;
    check-ins: recorded; rotations: assigned, debriefed, completed; escalations:
    open, resolved."""

    OPEN = "open"
    ACHIEVED = "achieved"
    MISSED = "missed"
    RECORDED = "recorded"
    ASSIGNED = "assigned"
    DEBRIEFED = "debriefed"
    COMPLETED = "completed"
    RESOLVED = "resolved"


class EscalationState(StrEnum):
    """An escalation is open until a coordinator resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


class JournalTheme(StrEnum):
    """What a guided journal prompt is about."""

    BIAS = "bias"
    DECISION_TIMELINE = "decision_timeline"
    VALUES = "values"
    GROWTH = "growth"


# -- relationships --------------------------------------------------------------------


class CadenceAdherence(Answer):
    """How well the pair keeps the contract's rhythm, as of a day."""

    as_of: date
    every_days: int = Field(description="A session is expected every N days")
    days_elapsed: int = Field(description="Days since the relationship started")
    expected: int = Field(
        description="Sessions expected: one per completed period of `every_days`"
    )
    held: int = Field(description="Sessions held on or before `as_of`")
    adherence: float | None = Field(
        description="min(1, held / expected), 3 decimals; null while none is expected"
    )
    on_track: bool = Field(description="held >= expected")
    days_since_last_held: int | None = Field(
        description="Days from the last held session to `as_of`; null if none"
    )


class LearningContract(Answer):
    """The learning contract's current version (all null before one is drafted)."""

    version: int | None = Field(description="Current version; sign this one")
    in_force: bool = Field(description="Both signed the current version")
    cadence: Cadence | None
    hours_per_month: int | None
    signed_by: list[str] = Field(
        description="Person ids who signed the current version"
    )
    terms: str | None = Field(
        None,
        description="Objectives and terms as written; " + ONLY_PAIR + " (and a "
        "contract drafted)",
    )


class Relationship(Answer):
    """A mentoring relationship and its learning contract."""

    relationship_id: str
    mentor_id: str
    mentee_id: str
    cohort_id: str | None
    kind: RelationshipKind
    state: RelationshipState
    starts_on: date
    planned_end_on: date
    contract: LearningContract
    cadence_adherence: CadenceAdherence | None = Field(
        None,
        description="Batch reads only: adherence once the contract is in force "
        "(else null)",
    )


class Relationships(Answer):
    """Several relationships (batch read): those the caller may see."""

    items: list[Relationship]


# -- sessions -------------------------------------------------------------------------


class Session(Answer):
    """A mentoring session of a relationship."""

    session_id: str
    relationship_id: str
    mentor_id: str
    mentee_id: str
    minutes: int = Field(description="Planned length")
    format: SessionFormat
    state: SessionState
    sequence: int = Field(description="Calendar SEQUENCE: up with every change")
    scheduled_by: str
    cancelled_by: str | None
    reason_code: CancellationReason | None = Field(
        description="Why it was cancelled (the explanation stays private)"
    )
    held_minutes: int | None = Field(description="How long it actually lasted")
    starts_at: Stamp = Field(description="Start, UTC")
    ends_at: Stamp = Field(description="End, UTC")
    held_at: Stamp | None = Field(
        description="When it took place (its effective time, UTC: may be long "
        "before it was recorded)"
    )
    absent_ids: list[str] = Field(description="Who did not come (a missed session)")
    agenda: str | None = Field(
        None, description="The agenda ('' when none); " + ONLY_PAIR + " (single reads)"
    )


class Sessions(Answer):
    """Several sessions (batch read): those the caller may see."""

    items: list[Session]


class Slot(Answer):
    """A free slot inside both people's windows."""

    starts_at: Stamp = Field(description="UTC")
    ends_at: Stamp = Field(description="UTC")
    local: dict[str, Stamp] = Field(
        description="Person id → the start in that person's time zone"
    )


class Slots(Answer):
    """The next free slots of a relationship."""

    minutes: int = Field(description="Length of each slot")
    time_zones: dict[str, str] = Field(description="Person id → IANA time zone")
    slots: list[Slot]


# -- calendar -------------------------------------------------------------------------


class CalendarToken(Answer):
    """The caller's secret calendar feed address (the previous one stops working)."""

    person_id: str
    token: str = Field(description="The feed's secret; shown once")
    feed_path: str = Field(description="Path of the feed, token included")


# -- notes and feedback ----------------------------------------------------------------


class JournalPrompt(Answer):
    """A guided prompt for journals."""

    prompt_id: str
    theme: JournalTheme
    prompt: str


class Note(Answer):
    """A note. Overseers (not of the pair) get its metadata only: the fields from
    ``author_id`` on are absent for them."""

    note_id: str
    relationship_id: str
    kind: NoteKind
    author_role: PartyRole
    visibility: Visibility
    created_at: Stamp
    edited_at: Stamp | None
    erased: bool = Field(description="Its author was erased (author and body gone)")
    author_id: str | None = Field(None, description=ONLY_PAIR)
    prompt_id: str | None = Field(None, description=ONLY_PAIR)
    prompt: str | None = Field(
        None, description="The journal prompt's text; " + ONLY_PAIR
    )
    session_id: str | None = Field(None, description=ONLY_PAIR)
    body: str | None = Field(
        None, description="The text (null once erased); " + ONLY_PAIR
    )


class Notes(Answer):
    """Notes of several relationships (batch read)."""

    items: list[Note]


class Feedback(Answer):
    """A rating of a session or milestone, 1 to 5."""

    feedback_id: str
    relationship_id: str | None = Field(
        None, description="Absent in a relationship's own list"
    )
    from_role: PartyRole
    about: FeedbackAbout
    subject_id: str = Field(description="The session's or milestone's id")
    rating: int = Field(ge=1, le=5)
    given_at: Stamp | None = Field(
        None,
        description="When it was given (its effective time: for feedback recorded "
        "after the fact, earlier than its recording)",
    )
    comment: str | None = Field(
        None, description="The private comment; absent for overseers (lists only)"
    )


class FeedbackItems(Answer):
    """Feedback of several relationships (batch read)."""

    items: list[Feedback]


# -- pulse surveys ---------------------------------------------------------------------


class PulseSurvey(Answer):
    """An anonymous pulse survey."""

    survey_id: str
    cohort_id: str | None = Field(description="null: the whole tenant")
    questions: list[str]
    closes_at: Stamp
    k: int = Field(description="Fewest respondents ever reported")
    closed: bool


class QuestionResult(Answer):
    """Aggregates of one question over every respondent."""

    question: int = Field(ge=0, description="Index in the survey")
    count: int
    mean: float
    distribution: dict[str, int] = Field(description="Rating '1'..'5' → answers")
    text: str = Field(description="The question")


class PulseResults(Answer):
    """A survey's aggregates: present only once closed over at least k respondents."""

    survey_id: str
    k: int
    closed: bool
    suppressed: bool
    respondents: int | str = Field(
        description="How many answered; while suppressed `until closed` or `<k`"
    )
    questions: list[QuestionResult] | None = Field(
        None, description="Absent while suppressed"
    )


# -- development items -----------------------------------------------------------------


class DevelopmentItem(Answer):
    """A milestone, check-in, rotation or escalation: its events' fields merged.

    A field is present once an event of the item carried it (e.g. ``achieved_on``
    after achievement). The words (``label``, ``criteria``, ``evidence``,
    ``project``, ``reflection``, ``correction``, ``detail``, ``note``) are present
    for the pair and coordinators (an escalation's for whoever raised it and
    coordinators). For a check-in, ``kind`` is the check-in's kind."""

    id: str
    # The two sets share no value, so trying them in order reads the same as
    # pydantic's "smart" union, without validating every value against both.
    kind: ItemKind | CheckInKind = Field(
        description="milestone, rotation, escalation; a check-in shows its own kind "
        "(monthly or quarterly)",
        union_mode="left_to_right",
    )
    state: ItemState
    relationship_id: str
    # milestones
    milestone_id: str | None = None
    mentee_id: str | None = None
    objective_index: int | None = Field(None, description="Which contract objective")
    due_on: date | None = None
    set_on: date | None = Field(
        None, description="The day the milestone was set (its effective date)"
    )
    criteria: list[str] | int | None = Field(
        None,
        description="The success criteria, one line each; for a reader who may not "
        "read them, how many there are",
        union_mode="left_to_right",
    )
    label: str | None = None
    status: MilestoneStatus | None = Field(None, description="Last reported progress")
    confirmed_by: str | None = None
    confirmer_role: ConfirmerRole | None = None
    achieved_on: date | None = Field(
        None, description="The day it was achieved (its effective date)"
    )
    on_time: bool | None = None
    evidence: str | None = None
    # check-ins
    check_in_id: str | None = None
    held_on: date | None = Field(
        None, description="The day the check-in took place (its effective date)"
    )
    sponsor_id: str | None = None
    alignment: int | None = Field(None, ge=1, le=5)
    correction_recorded: bool | None = None
    correction: str | None = None
    # rotations
    rotation_id: str | None = None
    function: str | None = None
    market: str | None = None
    host_id: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    project_kind: ProjectKind | None = None
    project: str | None = None
    goal_competency_ids: list[str] | None = None
    reflection: str | None = None
    completed_on: date | None = None
    # escalations
    escalation_id: str | None = None
    by_role: PartyRole | None = None
    category: EscalationCategory | None = None
    detail: str | None = None
    outcome: EscalationOutcome | None = None
    resolved_by: str | None = None
    note: str | None = None


class DevelopmentItems(Answer):
    """Development items of several ids or relationships (batch read)."""

    items: list[DevelopmentItem]


class Certificate(Answer):
    """The certificate-ready record of an achieved milestone (ids, no names)."""

    milestone_id: str
    relationship_id: str
    mentee_id: str
    mentor_id: str
    label: str | None = Field(description="null once its author was erased")
    objective_index: int
    criteria: int = Field(description="How many success criteria")
    due_on: date
    achieved_on: date
    on_time: bool
    confirmed_by: str
    confirmer_role: ConfirmerRole


# -- programme history imports (``/sessions/history-imports``) ------------------------


class HistorySection(StrEnum):
    """The sections of a programme's history the sessions service imports."""

    CONTRACTS = "contracts"
    SESSIONS = "sessions"
    MILESTONES = "milestones"
    FEEDBACK = "feedback"
    CHECK_INS = "check_ins"


class HistoryJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class HistoryOutcome(StrEnum):
    """What a record did: created, already there (``unchanged``), refused
    (``failed``), or in a dry run what it would do (``would_create``)."""

    CREATED = "created"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    WOULD_CREATE = "would_create"


class HistoryCounts(Answer):
    """How many records of a section had each outcome so far."""

    created: int
    unchanged: int
    failed: int
    would_create: int = Field(description="Dry runs only: records it would create")


class HistorySectionCounts(Answer):
    contracts: HistoryCounts
    sessions: HistoryCounts
    milestones: HistoryCounts
    feedback: HistoryCounts
    check_ins: HistoryCounts


class HistoryImportJob(Answer):
    """A history import job: where it stands and its counts per section."""

    job_id: str
    status: HistoryJobStatus
    dry_run: bool
    total: int = Field(description="Records in the document, every section")
    counts: HistorySectionCounts
    error: str | None = Field(description="Why the job as a whole failed")
    created_at: Stamp
    updated_at: Stamp
    finished_at: Stamp | None
    replayed: bool = Field(
        False, description="True when an Idempotency-Key replayed an earlier job"
    )


class HistoryRecordError(Answer):
    """Why a record was refused; ``field`` names the input at fault when one is."""

    code: str = Field(
        description="`unknown_relationship`, `conflict`, `ValidationError` or a "
        "domain rule's code (`BeforeRelationshipStarted`, `DateInFuture`, ...)"
    )
    field: str | None
    message: str


class HistoryRecord(Answer):
    section: HistorySection
    key: str | None = Field(description="The record's key in its section (the file's)")
    outcome: HistoryOutcome
    error: HistoryRecordError | None
    id: str | None = Field(
        description="The entity it created or found (session, milestone, feedback, "
        "check-in id; a contract's relationship id); null when failed or a dry run"
    )


class HistoryRecordPage(Answer):
    items: list[HistoryRecord]
    next: int | None = Field(description="Cursor of the next page (`after`), if any")


__all__ = [
    "BatchItemKind",
    "CadenceAdherence",
    "CalendarToken",
    "Certificate",
    "ConcludeReason",
    "DevelopmentItem",
    "DevelopmentItems",
    "EscalationState",
    "Feedback",
    "FeedbackItems",
    "HistoryCounts",
    "HistoryImportJob",
    "HistoryJobStatus",
    "HistoryOutcome",
    "HistoryRecord",
    "HistoryRecordError",
    "HistoryRecordPage",
    "HistorySection",
    "HistorySectionCounts",
    "ItemKind",
    "ItemState",
    "JournalPrompt",
    "JournalTheme",
    "LearningContract",
    "MilestoneReport",
    "Note",
    "Notes",
    "PulseResults",
    "PulseSurvey",
    "QuestionResult",
    "Relationship",
    "Relationships",
    "Session",
    "Sessions",
    "Slot",
    "Slots",
]
