"""Mutations of the sessions part: each answers its payload or a typed error.

A double booking is a ``Conflict`` with ``code: DoubleBooked``; signing a stale
contract version a ``ConcurrencyConflict``; a business rule (outside the windows,
not yet due, no contract in force …) a ``RuleViolation`` naming the rule.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from contracts.api import sessions as api
from gateway.answers import read
from gateway.context import ctx
from gateway.enums import (
    CancellationReason,
    CheckInKind,
    EscalationCategory,
    EscalationOutcome,
    MilestoneProgress,
    NoteKind,
    NoteVisibility,
    ProjectKind,
    SessionFormat,
)
from gateway.errors import COMMON, CommonErrors
from gateway.ids import local_id, parse_global_id
from gateway.mutations import run
from gateway.sessions.queries import PulseSurvey
from gateway.sessions.types import (
    CheckIn,
    Escalation,
    Feedback,
    Milestone,
    Note,
    Relationship,
    Rotation,
    Session,
    relationship_by_id,
)
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamError, upstream_path

S = "sessions"


def _rid(value: strawberry.ID) -> str:
    return local_id(value, "Relationship", "input.relationshipId")


def _sid(value: strawberry.ID) -> str:
    return local_id(value, "Session", "input.sessionId")


def _mid(value: strawberry.ID) -> str:
    return local_id(value, "Milestone", "input.milestoneId")


def _json(**values: Any) -> dict[str, Any]:
    """A request body: dates as ISO 8601, unset optional fields left out."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


# -- payloads ---------------------------------------------------------------------------


@strawberry.type(description="The relationship, as it is now.")
class RelationshipSuccess:
    relationship: Relationship | None = strawberry.field(
        description="The relationship after the change."
    )


@strawberry.type(description="The session, as it is now.")
class SessionSuccess:
    session: Session = strawberry.field(description="The session after the change.")


@strawberry.type(description="The milestone, as it is now.")
class MilestoneSuccess:
    milestone: Milestone = strawberry.field(
        description="The milestone after the change."
    )


@strawberry.type(description="The check-in was recorded.")
class CheckInSuccess:
    check_in: CheckIn = strawberry.field(description="The check-in.")


@strawberry.type(description="The note, as it is now.")
class NoteSuccess:
    note: Note = strawberry.field(description="The note after the change.")


@strawberry.type(description="The note and its text are gone.")
class DeleteNoteSuccess:
    deleted_note_id: strawberry.ID = strawberry.field(description="The note deleted.")


@strawberry.type(description="The feedback was recorded.")
class FeedbackSuccess:
    feedback: Feedback = strawberry.field(description="The feedback given.")


@strawberry.type(description="The rotation, as it is now.")
class RotationSuccess:
    rotation: Rotation = strawberry.field(description="The rotation after the change.")


@strawberry.type(description="The escalation, as it is now.")
class EscalationSuccess:
    escalation: Escalation = strawberry.field(
        description="The escalation after the change."
    )


@strawberry.type(description="The pulse survey, as it is now.")
class PulseSurveySuccess:
    survey: PulseSurvey = strawberry.field(description="The survey.")


@strawberry.type(description="Your answer was recorded, with no link to you.")
class PulseResponseSuccess:
    survey_id: strawberry.ID = strawberry.field(description="The survey answered.")


@strawberry.type(description="Your secret calendar feed (the token is the key).")
class CalendarFeedSuccess:
    url: str = strawberry.field(
        description="Absolute address of the iCalendar feed, with its token; "
        "subscribe to it from a calendar application."
    )
    token: str = strawberry.field(
        description="The feed's secret token (minting again revokes the old one)."
    )


RelationshipResult = Annotated[
    RelationshipSuccess | CommonErrors, strawberry.union("RelationshipResult")
]
SessionResult = Annotated[
    SessionSuccess | CommonErrors, strawberry.union("SessionResult")
]
MilestoneResult = Annotated[
    MilestoneSuccess | CommonErrors, strawberry.union("MilestoneResult")
]
CheckInResult = Annotated[
    CheckInSuccess | CommonErrors, strawberry.union("CheckInResult")
]
NoteResult = Annotated[NoteSuccess | CommonErrors, strawberry.union("NoteResult")]
DeleteNoteResult = Annotated[
    DeleteNoteSuccess | CommonErrors, strawberry.union("DeleteNoteResult")
]
FeedbackResult = Annotated[
    FeedbackSuccess | CommonErrors, strawberry.union("FeedbackResult")
]
RotationResult = Annotated[
    RotationSuccess | CommonErrors, strawberry.union("RotationResult")
]
EscalationResult = Annotated[
    EscalationSuccess | CommonErrors, strawberry.union("EscalationResult")
]
PulseSurveyResult = Annotated[
    PulseSurveySuccess | CommonErrors, strawberry.union("PulseSurveyResult")
]
PulseResponseResult = Annotated[
    PulseResponseSuccess | CommonErrors, strawberry.union("PulseResponseResult")
]
CalendarFeedResult = Annotated[
    CalendarFeedSuccess | CommonErrors, strawberry.union("CalendarFeedResult")
]


# -- inputs -----------------------------------------------------------------------------


@strawberry.input(description="A learning contract (or a change to it).")
class ProposeContractInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    every_days: int = strawberry.field(description="A session every N days.")
    minutes: int = strawberry.field(description="Length of a session in minutes.")
    hours_per_month: int = strawberry.field(description="Hours a month (0 to 100).")
    objectives: list[str] = strawberry.field(description="Objectives (1 to 20).")
    terms: str | None = strawberry.field(
        default=None,
        description="Mentor's role, confidentiality, feedback channels, escalation.",
    )


@strawberry.input(description="A signature on a version of the contract.")
class SignContractInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    version: int = strawberry.field(
        description="The version you read; a newer one gives ConcurrencyConflict."
    )


@strawberry.input(description="Pause a relationship (the pair or a coordinator).")
class PauseRelationshipInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    until: date | None = strawberry.field(
        default=None,
        description="The day it should resume (after today); absent: until resumed.",
    )
    paused_on: date | None = strawberry.field(
        default=None,
        description="The day the pause began, when told after the fact (default "
        "today, UTC); not in the future, not before the relationship started or "
        "last resumed.",
    )


@strawberry.input(description="Resume a paused relationship.")
class ResumeRelationshipInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    resumed_on: date | None = strawberry.field(
        default=None,
        description="The day meetings resumed, when told after the fact (default "
        "today, UTC); not in the future, not before the pause began.",
    )


@strawberry.input(description="A new session.")
class ScheduleSessionInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    starts_at: datetime = strawberry.field(description="Start, with a time zone.")
    minutes: int = strawberry.field(default=60, description="Length (15 to 480).")
    format: SessionFormat = strawberry.field(
        default=SessionFormat.ONE_TO_ONE, description="How it takes place."
    )
    agenda: str | None = strawberry.field(default=None, description="The agenda.")
    outside_availability: bool = strawberry.field(
        default=False, description="Both agreed to meet outside their windows."
    )


@strawberry.input(description="A new time for a session.")
class RescheduleSessionInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    starts_at: datetime = strawberry.field(description="New start, with a time zone.")
    minutes: int | None = strawberry.field(
        default=None, description="New length (unchanged if omitted)."
    )
    outside_availability: bool = strawberry.field(
        default=False, description="Both agreed to meet outside their windows."
    )


@strawberry.input(description="Cancel a session.")
class CancelSessionInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    reason_code: CancellationReason = strawberry.field(
        description="Why (a code; the explanation stays private)."
    )
    reason: str | None = strawberry.field(
        default=None, description="An explanation, kept private."
    )


@strawberry.input(description="A session took place.")
class MarkSessionHeldInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    held_at: datetime | None = strawberry.field(
        default=None,
        description="When it took place (default: its planned start); not in the "
        "future, not before the relationship started.",
    )
    minutes: int | None = strawberry.field(
        default=None, description="How long (default: as planned)."
    )


@strawberry.input(description="A no-show.")
class MarkSessionMissedInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    absent_ids: list[strawberry.ID] = strawberry.field(
        description="Who did not come (the mentor and/or the mentee)."
    )


@strawberry.input(description="The agenda of a session.")
class SetAgendaInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    agenda: str = strawberry.field(description="The agenda (the pair only).")


@strawberry.input(description="A milestone on an objective of the contract.")
class SetMilestoneInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    objective_index: int = strawberry.field(
        description="Which objective of the contract (0-based)."
    )
    label: str = strawberry.field(description="What is to be achieved.")
    due_on: date = strawberry.field(
        description="Due date: today or later (UTC), or on or after `setOn`."
    )
    criteria: list[str] = strawberry.field(description="Success criteria (1 to 20).")
    set_on: date | None = strawberry.field(
        default=None,
        description="The day it was agreed, when recording history (default today, "
        "UTC); not in the future, not before the relationship started.",
    )


@strawberry.input(description="Progress on a milestone.")
class UpdateMilestoneStatusInput:
    milestone_id: strawberry.ID = strawberry.field(description="The milestone.")
    status: MilestoneProgress = strawberry.field(
        description="The progress (missed only once overdue)."
    )


@strawberry.input(description="Confirm a milestone achieved.")
class AchieveMilestoneInput:
    milestone_id: strawberry.ID = strawberry.field(description="The milestone.")
    evidence: str = strawberry.field(description="Evidence of achievement.")
    achieved_on: date | None = strawberry.field(
        default=None,
        description="The day it was achieved (default today, UTC); not in the "
        "future, not before it was set.",
    )


@strawberry.input(description="A monthly check-in or quarterly review.")
class RecordCheckInInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    kind: CheckInKind = strawberry.field(
        description="A monthly check or a quarterly review."
    )
    alignment: int = strawberry.field(description="Alignment, 1 to 5.")
    sponsor_id: strawberry.ID | None = strawberry.field(
        default=None, description="The sponsor (required for a quarterly review)."
    )
    held_on: date | None = strawberry.field(
        default=None,
        description="When (default today, UTC); not in the future, not before the "
        "relationship started.",
    )
    correction: str | None = strawberry.field(
        default=None, description="A course correction agreed."
    )


@strawberry.input(description="A note, journal entry or after-action review.")
class WriteNoteInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    kind: NoteKind = strawberry.field(description="What kind of note.")
    body: str = strawberry.field(description="The text.")
    visibility: NoteVisibility = strawberry.field(
        default=NoteVisibility.PRIVATE,
        description="Who may read it (default: you alone).",
    )
    prompt_id: str | None = strawberry.field(
        default=None, description="A journal prompt answered."
    )
    session_id: strawberry.ID | None = strawberry.field(
        default=None, description="The session it is about."
    )


@strawberry.input(description="A change to your note.")
class EditNoteInput:
    note_id: strawberry.ID = strawberry.field(description="The note.")
    body: str | None = strawberry.field(default=None, description="New text.")
    visibility: NoteVisibility | None = strawberry.field(
        default=None, description="New visibility."
    )


@strawberry.input(description="Delete your note.")
class DeleteNoteInput:
    note_id: strawberry.ID = strawberry.field(description="The note.")


@strawberry.input(description="A rating of a session or milestone.")
class GiveFeedbackInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    subject_id: strawberry.ID = strawberry.field(
        description="The Session or Milestone rated."
    )
    rating: int = strawberry.field(description="1 to 5.")
    comment: str | None = strawberry.field(
        default=None, description="A private comment (the pair reads it)."
    )
    given_at: datetime | None = strawberry.field(
        default=None,
        description="When it was given, when recording history (default now); not "
        "in the future, not before the session was held or the milestone set.",
    )


@strawberry.input(description="A rotation of the mentee.")
class AssignRotationInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    host_id: strawberry.ID = strawberry.field(description="The host (a Person).")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day (two to four weeks on).")
    project_kind: ProjectKind = strawberry.field(description="Kind of project.")
    function: str | None = strawberry.field(default=None, description="Function.")
    market: str | None = strawberry.field(default=None, description="Market.")
    project: str | None = strawberry.field(default=None, description="The project.")


@strawberry.input(description="The leader's debrief of a rotation.")
class DebriefRotationInput:
    rotation_id: strawberry.ID = strawberry.field(description="The rotation.")
    reflection: str = strawberry.field(description="The reflection.")
    goal_competency_ids: list[str] = strawberry.field(
        description="Goals it relates to."
    )


@strawberry.input(description="Complete a debriefed rotation.")
class CompleteRotationInput:
    rotation_id: strawberry.ID = strawberry.field(description="The rotation.")


@strawberry.input(description="A concern for the coordinator.")
class RaiseEscalationInput:
    relationship_id: strawberry.ID = strawberry.field(description="The relationship.")
    category: EscalationCategory = strawberry.field(description="What it is about.")
    detail: str | None = strawberry.field(default=None, description="The concern.")


@strawberry.input(description="The resolution of an escalation.")
class ResolveEscalationInput:
    escalation_id: strawberry.ID = strawberry.field(description="The escalation.")
    outcome: EscalationOutcome = strawberry.field(description="How it was resolved.")
    note: str | None = strawberry.field(default=None, description="A note.")


@strawberry.input(description="An anonymous pulse survey.")
class CreatePulseSurveyInput:
    questions: list[str] = strawberry.field(description="Questions (1 to 20).")
    closes_at: datetime = strawberry.field(description="Deadline.")
    cohort_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The cohort (a Cohort; omit for the whole organisation).",
    )
    k: int = strawberry.field(
        default=5, description="Fewest respondents ever reported (3 to 100)."
    )


@strawberry.input(description="Your answers to a pulse survey.")
class RespondToPulseSurveyInput:
    survey_id: strawberry.ID = strawberry.field(description="The survey.")
    answers: list[int] = strawberry.field(description="One rating 1-5 per question.")


@strawberry.input(description="Close a pulse survey.")
class ClosePulseSurveyInput:
    survey_id: strawberry.ID = strawberry.field(description="The survey.")


# -- mutations --------------------------------------------------------------------------


@strawberry.type
class SessionsMutation:
    @strawberry.mutation(
        description="Propose the learning contract (or a change): a new version both "
        "must sign."
    )
    async def propose_contract(
        self, info: Info, input: ProposeContractInput
    ) -> RelationshipResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.put(
                S,
                upstream_path(
                    "/relationships/{relationship}/contract",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    cadence={"every_days": input.every_days, "minutes": input.minutes},
                    hours_per_month=input.hours_per_month,
                    objectives=input.objectives,
                    terms=input.terms,
                ),
            )

        return await run(call, lambda d: _relationship(info, d), COMMON)

    @strawberry.mutation(
        description="Sign the current version of the contract; with both signatures "
        "it is in force. A stale version gives ConcurrencyConflict."
    )
    async def sign_contract(
        self, info: Info, input: SignContractInput
    ) -> RelationshipResult:
        c = ctx(info)

        async def call() -> object:
            rid = _rid(input.relationship_id)
            try:
                return await c.caller.post(
                    S,
                    upstream_path("/relationships/{rid}/contract/signatures", rid=rid),
                    {"version": input.version},
                )
            except UpstreamError as exc:
                # The service refuses a stale version as InvalidTransition; tell the
                # client it read an old version (reload and sign again).
                if exc.code != "InvalidTransition":
                    raise
                current = read(
                    api.Relationship,
                    await c.caller.get(
                        S, upstream_path("/relationships/{rid}", rid=rid)
                    ),
                    S,
                ).contract.version
                if current in (None, input.version):
                    raise
                raise UpstreamError(
                    S,
                    409,
                    "ConcurrencyConflict",
                    f"version {input.version} of the contract is no longer current "
                    f"(now {current}); reload it and sign again",
                ) from None

        return await run(call, lambda d: _relationship(info, d), COMMON)

    @strawberry.mutation(
        description="Pause the relationship (the pair or a coordinator), now or since "
        "`pausedOn`. One not running gives RuleViolation (InvalidTransition); an "
        "impossible day a RuleViolation naming `pausedOn` or `until`."
    )
    async def pause_relationship(
        self, info: Info, input: PauseRelationshipInput
    ) -> RelationshipResult:
        c = ctx(info)

        async def call() -> None:
            await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{rid}/pause", rid=_rid(input.relationship_id)
                ),
                _json(until=input.until, paused_on=input.paused_on),
            )

        return await run(
            call, lambda _: _reread(info, _rid(input.relationship_id)), COMMON
        )

    @strawberry.mutation(
        description="Resume a paused relationship (the pair or a coordinator), now or "
        "since `resumedOn`. One not paused gives RuleViolation (InvalidTransition); "
        "an impossible day a RuleViolation naming `resumedOn`."
    )
    async def resume_relationship(
        self, info: Info, input: ResumeRelationshipInput
    ) -> RelationshipResult:
        c = ctx(info)

        async def call() -> None:
            await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{rid}/resume", rid=_rid(input.relationship_id)
                ),
                _json(resumed_on=input.resumed_on),
            )

        return await run(
            call, lambda _: _reread(info, _rid(input.relationship_id)), COMMON
        )

    @strawberry.mutation(
        description="Schedule a session (contract in force, both free, inside their "
        "windows). A double booking gives Conflict (code DoubleBooked)."
    )
    async def schedule_session(
        self, info: Info, input: ScheduleSessionInput
    ) -> SessionResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/sessions",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    starts_at=input.starts_at,
                    minutes=input.minutes,
                    format=input.format,
                    agenda=input.agenda,
                    outside_availability=input.outside_availability,
                ),
            )

        return await run(call, _session, COMMON)

    @strawberry.mutation(description="Move a session (its calendar entry follows).")
    async def reschedule_session(
        self, info: Info, input: RescheduleSessionInput
    ) -> SessionResult:
        return await _session_change(
            info,
            input.session_id,
            "reschedule",
            _json(
                starts_at=input.starts_at,
                minutes=input.minutes,
                outside_availability=input.outside_availability,
            ),
        )

    @strawberry.mutation(description="Cancel a session, with a reason code.")
    async def cancel_session(
        self, info: Info, input: CancelSessionInput
    ) -> SessionResult:
        return await _session_change(
            info,
            input.session_id,
            "cancel",
            _json(reason_code=input.reason_code, reason=input.reason),
        )

    @strawberry.mutation(description="Record that a session took place.")
    async def mark_session_held(
        self, info: Info, input: MarkSessionHeldInput
    ) -> SessionResult:
        return await _session_change(
            info,
            input.session_id,
            "held",
            _json(held_at=input.held_at, minutes=input.minutes),
        )

    @strawberry.mutation(description="Record a no-show (who did not come).")
    async def mark_session_missed(
        self, info: Info, input: MarkSessionMissedInput
    ) -> SessionResult:
        async def body() -> dict[str, Any]:
            return {
                "absent_ids": [
                    local_id(p, "Person", f"input.absentIds.{i}")
                    for i, p in enumerate(input.absent_ids)
                ]
            }

        return await _session_change(info, input.session_id, "missed", body)

    @strawberry.mutation(description="Set a session's agenda (the pair only).")
    async def set_agenda(self, info: Info, input: SetAgendaInput) -> SessionResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.put(
                S,
                upstream_path(
                    "/sessions/{session}/agenda", session=_sid(input.session_id)
                ),
                {"agenda": input.agenda},
            )

        return await run(call, _session, COMMON)

    @strawberry.mutation(
        description="Set a milestone with success criteria on an objective."
    )
    async def set_milestone(
        self, info: Info, input: SetMilestoneInput
    ) -> MilestoneResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/milestones",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    objective_index=input.objective_index,
                    label=input.label,
                    due_on=input.due_on,
                    criteria=input.criteria,
                    set_on=input.set_on,
                ),
            )

        return await run(call, _milestone, COMMON)

    @strawberry.mutation(description="Report progress on a milestone.")
    async def update_milestone_status(
        self, info: Info, input: UpdateMilestoneStatusInput
    ) -> MilestoneResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/milestones/{milestone}/status", milestone=_mid(input.milestone_id)
                ),
                {"status": input.status.value},
            )

        return await run(call, _milestone, COMMON)

    @strawberry.mutation(
        description="Confirm a milestone achieved, with evidence (the mentor or a "
        "coordinator)."
    )
    async def achieve_milestone(
        self, info: Info, input: AchieveMilestoneInput
    ) -> MilestoneResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/milestones/{milestone}/achieve",
                    milestone=_mid(input.milestone_id),
                ),
                _json(evidence=input.evidence, achieved_on=input.achieved_on),
            )

        return await run(call, _milestone, COMMON)

    @strawberry.mutation(description="Record a monthly check-in or quarterly review.")
    async def record_check_in(
        self, info: Info, input: RecordCheckInInput
    ) -> CheckInResult:
        c = ctx(info)

        async def call() -> object:
            sponsor = (
                local_id(input.sponsor_id, "Person", "input.sponsorId")
                if input.sponsor_id
                else None
            )
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/check-ins",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    kind=input.kind,
                    alignment=input.alignment,
                    sponsor_id=sponsor,
                    held_on=input.held_on,
                    correction=input.correction,
                ),
            )

        return await run(
            call,
            lambda d: CheckInSuccess(
                check_in=CheckIn.from_model(read(api.DevelopmentItem, d, S))
            ),
            COMMON,
        )

    @strawberry.mutation(
        description="Write a note (the pair only); private by default."
    )
    async def write_note(self, info: Info, input: WriteNoteInput) -> NoteResult:
        c = ctx(info)

        async def call() -> object:
            session = _sid(input.session_id) if input.session_id else None
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/notes",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    kind=input.kind,
                    visibility=input.visibility,
                    body=input.body,
                    prompt_id=input.prompt_id,
                    session_id=session,
                ),
            )

        return await run(call, _note, COMMON)

    @strawberry.mutation(description="Change your note's text or visibility.")
    async def edit_note(self, info: Info, input: EditNoteInput) -> NoteResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.patch(
                S,
                upstream_path(
                    "/notes/{note}",
                    note=local_id(input.note_id, "Note", "input.noteId"),
                ),
                _json(body=input.body, visibility=input.visibility),
            )

        return await run(call, _note, COMMON)

    @strawberry.mutation(description="Delete your note and its text.")
    async def delete_note(self, info: Info, input: DeleteNoteInput) -> DeleteNoteResult:
        c = ctx(info)

        async def call() -> None:
            await c.caller.delete(
                S,
                upstream_path(
                    "/notes/{note}",
                    note=local_id(input.note_id, "Note", "input.noteId"),
                ),
            )

        return await run(
            call, lambda _d: DeleteNoteSuccess(deleted_note_id=input.note_id), COMMON
        )

    @strawberry.mutation(
        description="Rate a session or milestone (each side once), with a private "
        "comment."
    )
    async def give_feedback(
        self, info: Info, input: GiveFeedbackInput
    ) -> FeedbackResult:
        c = ctx(info)

        async def call() -> object:
            subject = parse_global_id(
                input.subject_id, "input.subjectId", "Session or Milestone"
            )
            if subject.type_name == "Milestone":
                about = "milestone"
                sid = local_id(subject, "Milestone", "input.subjectId")
            else:
                about = "session"
                sid = local_id(subject, "Session", "input.subjectId")
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/feedback",
                    relationship=_rid(input.relationship_id),
                ),
                _json(
                    about=about,
                    subject_id=sid,
                    rating=input.rating,
                    comment=input.comment,
                    given_at=input.given_at,
                ),
            )

        return await run(
            call,
            lambda d: FeedbackSuccess(
                feedback=Feedback.from_model(read(api.Feedback, d, S))
            ),
            COMMON,
        )

    @strawberry.mutation(description="Assign a rotation to the mentee.")
    async def assign_rotation(
        self, info: Info, input: AssignRotationInput
    ) -> RotationResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                "/rotations",
                _json(
                    relationship_id=_rid(input.relationship_id),
                    host_id=local_id(input.host_id, "Person", "input.hostId"),
                    starts_on=input.starts_on,
                    ends_on=input.ends_on,
                    project_kind=input.project_kind,
                    function=input.function,
                    market=input.market,
                    project=input.project,
                ),
            )

        return await run(call, _rotation, COMMON)

    @strawberry.mutation(description="Record the leader's debrief of a rotation.")
    async def debrief_rotation(
        self, info: Info, input: DebriefRotationInput
    ) -> RotationResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/rotations/{rotation}/debrief",
                    rotation=local_id(
                        input.rotation_id, "Rotation", "input.rotationId"
                    ),
                ),
                {
                    "reflection": input.reflection,
                    "goal_competency_ids": input.goal_competency_ids,
                },
            )

        return await run(call, _rotation, COMMON)

    @strawberry.mutation(description="Complete a debriefed rotation.")
    async def complete_rotation(
        self, info: Info, input: CompleteRotationInput
    ) -> RotationResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/rotations/{rotation}/complete",
                    rotation=local_id(
                        input.rotation_id, "Rotation", "input.rotationId"
                    ),
                ),
            )

        return await run(call, _rotation, COMMON)

    @strawberry.mutation(description="Raise a concern to the coordinator.")
    async def raise_escalation(
        self, info: Info, input: RaiseEscalationInput
    ) -> EscalationResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/relationships/{relationship}/escalations",
                    relationship=_rid(input.relationship_id),
                ),
                _json(category=input.category, detail=input.detail),
            )

        return await run(call, _escalation, COMMON)

    @strawberry.mutation(description="Resolve an escalation (coordinators).")
    async def resolve_escalation(
        self, info: Info, input: ResolveEscalationInput
    ) -> EscalationResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                upstream_path(
                    "/escalations/{escalation}/resolve",
                    escalation=local_id(
                        input.escalation_id, "Escalation", "input.escalationId"
                    ),
                ),
                _json(outcome=input.outcome, note=input.note),
            )

        return await run(call, _escalation, COMMON)

    @strawberry.mutation(description="Open an anonymous pulse survey (coordinators).")
    async def create_pulse_survey(
        self, info: Info, input: CreatePulseSurveyInput
    ) -> PulseSurveyResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(
                S,
                "/pulse-surveys",
                _json(
                    questions=input.questions,
                    closes_at=input.closes_at,
                    cohort_id=local_id(input.cohort_id, "Cohort", "input.cohortId")
                    if input.cohort_id
                    else None,
                    k=input.k,
                ),
            )

        return await run(call, _survey, COMMON)

    @strawberry.mutation(description="Answer a pulse survey (once, anonymously).")
    async def respond_to_pulse_survey(
        self, info: Info, input: RespondToPulseSurveyInput
    ) -> PulseResponseResult:
        c = ctx(info)

        async def call() -> None:
            await c.caller.post(
                S,
                upstream_path(
                    "/pulse-surveys/{pulse_survey}/responses",
                    pulse_survey=local_id(
                        input.survey_id, "PulseSurvey", "input.surveyId"
                    ),
                ),
                {"answers": input.answers},
            )

        return await run(
            call, lambda _d: PulseResponseSuccess(survey_id=input.survey_id), COMMON
        )

    @strawberry.mutation(description="Close a pulse survey (coordinators).")
    async def close_pulse_survey(
        self, info: Info, input: ClosePulseSurveyInput
    ) -> PulseSurveyResult:
        c = ctx(info)

        async def call() -> object:
            await c.caller.post(
                S,
                upstream_path(
                    "/pulse-surveys/{pulse_survey}/close",
                    pulse_survey=local_id(
                        input.survey_id, "PulseSurvey", "input.surveyId"
                    ),
                ),
            )
            return await c.caller.get(
                S,
                upstream_path(
                    "/pulse-surveys/{pulse_survey}",
                    pulse_survey=local_id(
                        input.survey_id, "PulseSurvey", "input.surveyId"
                    ),
                ),
            )

        return await run(call, _survey, COMMON)

    @strawberry.mutation(
        description="Mint (or rotate) your secret calendar feed address."
    )
    async def create_calendar_feed(self, info: Info) -> CalendarFeedResult:
        c = ctx(info)

        async def call() -> object:
            return await c.caller.post(S, "/calendar/token")

        def feed(data: object) -> CalendarFeedSuccess:
            minted = read(api.CalendarToken, data, S)
            return CalendarFeedSuccess(
                url=public_url(info, c.settings, minted.feed_path), token=minted.token
            )

        return await run(call, feed, COMMON)


def public_url(info: Info, settings: GatewaySettings, path: str) -> str:
    """``path`` on the sessions service as a client reaches it: under
    ``sessions_public_url``, which may be a path on the host the client called
    (scheme, host and root path of this request, as the proxy forwarded them)."""
    base = settings.sessions_public_url or settings.sessions_url
    if base.startswith("/"):
        request = info.context.request
        base = str(request.base_url).rstrip("/") + base
    return base.rstrip("/") + "/" + path.lstrip("/")


# The payloads of the service's answers, each read through its response model.


async def _reread(info: Info, rid: str) -> RelationshipSuccess:
    """The relationship after a change the service answered with no body (its id
    was read before the call)."""
    return RelationshipSuccess(relationship=await relationship_by_id(info, rid))


async def _relationship(info: Info, data: object) -> RelationshipSuccess:
    written = read(api.Relationship, data, S)
    # The write answers the relationship without its cadence; read it in full.
    return RelationshipSuccess(
        relationship=await relationship_by_id(info, written.relationship_id)
        or Relationship.from_model(written)
    )


def _session(data: object) -> SessionSuccess:
    return SessionSuccess(session=Session.from_model(read(api.Session, data, S)))


def _milestone(data: object) -> MilestoneSuccess:
    return MilestoneSuccess(
        milestone=Milestone.from_model(read(api.DevelopmentItem, data, S))
    )


def _rotation(data: object) -> RotationSuccess:
    return RotationSuccess(
        rotation=Rotation.from_model(read(api.DevelopmentItem, data, S))
    )


def _escalation(data: object) -> EscalationSuccess:
    return EscalationSuccess(
        escalation=Escalation.from_model(read(api.DevelopmentItem, data, S))
    )


def _note(data: object) -> NoteSuccess:
    return NoteSuccess(note=Note.from_model(read(api.Note, data, S)))


def _survey(data: object) -> PulseSurveySuccess:
    return PulseSurveySuccess(
        survey=PulseSurvey.from_model(read(api.PulseSurvey, data, S))
    )


async def _session_change(
    info: Info,
    session_id: strawberry.ID,
    action: str,
    body: dict[str, Any] | Callable[[], Awaitable[dict[str, Any]]],
) -> Any:
    c = ctx(info)

    async def call() -> object:
        payload = await body() if callable(body) else body
        return await c.caller.post(
            S,
            upstream_path(
                "/sessions/{session}/{action}", session=_sid(session_id), action=action
            ),
            payload,
        )

    return await run(call, _session, COMMON)
