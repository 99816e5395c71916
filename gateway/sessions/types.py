"""The mentoring relationship as GraphQL types: relationship, learning contract,
sessions, milestones, check-ins, rotations, notes, feedback, escalations.

Nested lists go through the by-relationship loaders, so a page of relationships with
their sessions and milestones costs one upstream call per kind, whatever its length.
Every answer is read through its response model (``contracts.api.sessions``) and the
types are built from the model's attributes (``from_model``); an answer that does not
fit is the service's failure (``InternalError``), never a silent null.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from contracts.api import sessions as api
from contracts.sessions import meetings as api_meetings
from gateway import refs
from gateway.answers import read, read_list
from gateway.connections import Connection, from_list
from gateway.context import ctx
from gateway.enums import (
    CancellationReason,
    CheckInKind,
    ConfirmerRole,
    EscalationCategory,
    EscalationOutcome,
    EscalationState,
    FeedbackAbout,
    MilestoneProgress,
    MilestoneState,
    NoteKind,
    NoteVisibility,
    PartyRole,
    ProgrammeType,
    ProjectKind,
    RelationshipStatus,
    RotationState,
    SessionFormat,
    SessionState,
)
from gateway.mentors import Mentor
from gateway.nodes import BatchedNode, get_each
from gateway.sessions import loaders
from gateway.upstream import UpstreamError, upstream_path

if TYPE_CHECKING:
    from gateway.matching.types import Circle
    from gateway.people.types import Cohort, Person

PersonRef = Annotated["Person", strawberry.lazy("gateway.people.types")]
CohortRef = Annotated["Cohort", strawberry.lazy("gateway.people.types")]
CircleRef = Annotated["Circle", strawberry.lazy("gateway.matching.types")]
First = Annotated[
    int | None, strawberry.argument(description="Page size (default 20).")
]
After = Annotated[
    str | None,
    strawberry.argument(description="Cursor of the last edge already seen."),
]


E = TypeVar("E", bound=Enum)
log = logging.getLogger(__name__)


def _malformed(value: str, what: str) -> UpstreamError:
    """A value of the answer this field cannot take: the service's malformed
    answer, reported as :func:`gateway.answers.read` reports one."""
    log.error("sessions answered %r for a %s", value, what)
    return UpstreamError(
        "sessions",
        502,
        "InternalError",
        f"the sessions service answered a malformed {what}",
    )


def _stamp(value: str) -> datetime:
    """An RFC 3339 stamp of the service (UTC when it carries no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _malformed(value, "timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _datetime(value: str | None) -> datetime | None:
    return _stamp(value) if value else None


def as_json(m: BaseModel) -> Any:
    """A model as the JSON the service answered (fields it left out stay out)."""
    return m.model_dump(mode="json", exclude_unset=True)


def _enum(cls: type[E], value: StrEnum) -> E:
    """The GraphQL member of a contract's member (the same wire value); one this
    field cannot take (a check-in's state for a milestone) is malformed."""
    member = cls._value2member_map_.get(value.value)  # what ``cls(value)`` finds
    if member is not None:
        return member  # type: ignore[return-value]
    try:
        return cls(value.value)
    except ValueError:
        raise _malformed(value.value, cls.__name__) from None


def _maybe(cls: type[E], value: StrEnum | None) -> E | None:
    return None if value is None else _enum(cls, value)


async def _person(info: Info, person_id: str | None) -> Person | None:
    from gateway.people.types import person_by_id

    return await person_by_id(info, person_id)


def _max(info: Info) -> int:
    return ctx(info).settings.max_page_size


@strawberry.type(description="How often the pair meets, as agreed in the contract.")
class Cadence:
    every_days: int = strawberry.field(description="A session every N days.")
    minutes: int = strawberry.field(description="Length of a session in minutes.")


@strawberry.type(
    description="The learning contract: objectives, cadence, hours and the terms, "
    "versioned; in force once the mentor and the mentee have both signed its "
    "current version."
)
class LearningContract:
    version: int = strawberry.field(
        description="Current version; sign this one (a stale version is refused)."
    )
    in_force: bool = strawberry.field(
        description="True once both signed the current version."
    )
    cadence: Cadence | None = strawberry.field(description="Agreed meeting rhythm.")
    hours_per_month: int | None = strawberry.field(description="Hours a month.")
    signed_by_ids: list[str] = strawberry.field(
        description="Ids of the people who signed the current version.",
        deprecation_reason="Use `signatories` (people with global ids).",
    )
    terms: str | None = strawberry.field(
        description="Objectives and terms as written (the pair only; null for others)."
    )

    @strawberry.field(description="The people who signed the current version.")
    async def signatories(self, info: Info) -> list[PersonRef | None]:
        return [await _person(info, p) for p in self.signed_by_ids]

    @classmethod
    def from_model(cls, m: api.LearningContract) -> LearningContract | None:
        """The contract, or ``None`` before a first version is drafted."""
        if m.version is None:
            return None
        return cls(
            version=m.version,
            in_force=m.in_force,
            cadence=Cadence(every_days=m.cadence.every_days, minutes=m.cadence.minutes)
            if m.cadence
            else None,
            hours_per_month=m.hours_per_month,
            signed_by_ids=list(m.signed_by),
            terms=m.terms,
        )


@strawberry.type(description="A mentoring session of a relationship.")
class Session(BatchedNode, relay.Node):
    session_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the session."
    )
    relationship_id: str = strawberry.field(
        description="Its relationship's service id.",
        deprecation_reason="Use `relationship { id }`.",
    )
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime = strawberry.field(description="End (UTC).")
    minutes: int = strawberry.field(description="Planned length in minutes.")
    format: SessionFormat = strawberry.field(description="How it takes place.")
    state: SessionState = strawberry.field(description="Where the session stands.")
    sequence: int = strawberry.field(
        description="Calendar SEQUENCE: goes up with every change."
    )
    agenda: str | None = strawberry.field(
        description="The agenda (the pair only; null for others)."
    )
    held_at: datetime | None = strawberry.field(
        description="When it took place (its effective time: may be long before it "
        "was recorded)."
    )
    held_minutes: int | None = strawberry.field(description="How long it took.")
    reason_code: CancellationReason | None = strawberry.field(
        description="Why it was cancelled (a code; the explanation stays private)."
    )
    absent_ids: list[str] = strawberry.field(
        description="Who did not come (a missed session), as service ids.",
        deprecation_reason="Use `absent` (people with global ids).",
    )
    upcoming: bool = strawberry.field(
        description="Still to come: scheduled and not yet started."
    )

    @strawberry.field(description="The relationship the session belongs to.")
    async def relationship(self, info: Info) -> Relationship | None:
        return await relationship_by_id(info, self.relationship_id)

    @strawberry.field(description="Who did not come (a missed session).")
    async def absent(self, info: Info) -> list[PersonRef]:
        people = [await _person(info, p) for p in self.absent_ids]
        return [p for p in people if p is not None]

    @classmethod
    def from_model(cls, m: api.Session) -> Session:
        starts_at = _stamp(m.starts_at)
        return cls(
            session_id=m.session_id,
            relationship_id=m.relationship_id,
            starts_at=starts_at,
            ends_at=_stamp(m.ends_at),
            minutes=m.minutes,
            format=_enum(SessionFormat, m.format),
            state=_enum(SessionState, m.state),
            sequence=m.sequence,
            agenda=m.agenda,
            held_at=_datetime(m.held_at),
            held_minutes=m.held_minutes,
            reason_code=_maybe(CancellationReason, m.reason_code),
            absent_ids=list(m.absent_ids),
            upcoming=_upcoming(m),
        )

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Session | None]:
        rows = await loaders.sessions(info).load_many(node_ids)
        return [cls.from_model(r) if r else None for r in rows]


@strawberry.type(
    description="The certificate-ready record of an achieved milestone: who, what, "
    "when and who confirmed it."
)
class MilestoneCertificate:
    label: str | None = strawberry.field(
        description="What was achieved (null once its author was erased)."
    )
    objective_index: int = strawberry.field(
        description="Which objective of the contract (0-based)."
    )
    criteria_count: int = strawberry.field(description="How many success criteria.")
    due_on: date = strawberry.field(description="Its due date.")
    achieved_on: date = strawberry.field(description="When it was achieved.")
    on_time: bool = strawberry.field(description="Achieved by its due date.")
    confirmer_role: ConfirmerRole = strawberry.field(
        description="Who confirmed it: the mentor or a coordinator."
    )
    _mentee_id: strawberry.Private[str]
    _mentor_id: strawberry.Private[str]
    _confirmed_by: strawberry.Private[str]
    _relationship_id: strawberry.Private[str]

    @strawberry.field(description="The mentee who achieved it.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await _person(info, self._mentee_id)

    @strawberry.field(description="The mentor, whoever they are.")
    async def mentor(self, info: Info) -> Mentor | None:
        return await refs.mentor(info, self._mentor_id, None)

    @strawberry.field(description="Who confirmed the achievement.")
    async def confirmed_by(self, info: Info) -> PersonRef | None:
        return await _person(info, self._confirmed_by)

    @strawberry.field(description="The relationship.")
    async def relationship(self, info: Info) -> Relationship | None:
        return await relationship_by_id(info, self._relationship_id)

    @classmethod
    def from_model(cls, m: api.Certificate) -> MilestoneCertificate:
        return cls(
            label=m.label,
            objective_index=m.objective_index,
            criteria_count=m.criteria,
            due_on=m.due_on,
            achieved_on=m.achieved_on,
            on_time=m.on_time,
            confirmer_role=_enum(ConfirmerRole, m.confirmer_role),
            _mentee_id=m.mentee_id,
            _mentor_id=m.mentor_id,
            _confirmed_by=m.confirmed_by,
            _relationship_id=m.relationship_id,
        )


@strawberry.type(description="A time in one person's own time zone.")
class LocalTime:
    time_zone: str | None = strawberry.field(description="Their IANA time zone.")
    starts_at: datetime = strawberry.field(
        description="The slot's start in that time zone (with its offset)."
    )
    _person_id: strawberry.Private[str]

    @strawberry.field(description="Whose time it is.")
    async def person(self, info: Info) -> PersonRef | None:
        return await _person(info, self._person_id)


@strawberry.type(description="A free slot inside both people's windows.")
class OpenSlot:
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime = strawberry.field(description="End (UTC).")
    local: list[LocalTime] = strawberry.field(
        description="The start in each person's time zone."
    )


@strawberry.type(
    description="The next free slots of a relationship: times inside the mentor's "
    "and the mentee's windows, clear of their sessions."
)
class OpenSlots:
    minutes: int = strawberry.field(description="Length of each slot.")
    slots: list[OpenSlot] = strawberry.field(description="The slots, soonest first.")

    @classmethod
    def from_model(cls, m: api.Slots) -> OpenSlots:
        return cls(
            minutes=m.minutes,
            slots=[
                OpenSlot(
                    starts_at=_stamp(s.starts_at),
                    ends_at=_stamp(s.ends_at),
                    local=[
                        LocalTime(
                            time_zone=m.time_zones.get(person),
                            starts_at=_stamp(at),
                            _person_id=person,
                        )
                        for person, at in s.local.items()
                    ],
                )
                for s in m.slots
            ],
        )


@strawberry.type(
    description="A milestone on an objective of the contract, with its success "
    "criteria; achieved when the mentor (or a coordinator) confirms it with evidence."
)
class Milestone(BatchedNode, relay.Node):
    milestone_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the milestone."
    )
    relationship_id: str = strawberry.field(
        description="Its relationship's service id.",
        deprecation_reason="Use `relationship { id }`.",
    )
    objective_index: int | None = strawberry.field(
        description="Which objective of the contract (0-based)."
    )
    label: str | None = strawberry.field(
        description="What is to be achieved (the pair and coordinators)."
    )
    criteria: list[str] = strawberry.field(
        description="Success criteria (the pair and coordinators)."
    )
    due_on: date | None = strawberry.field(description="Due date.")
    set_on: date | None = strawberry.field(
        default=None,
        description="The day it was set (its effective date: earlier than its "
        "recording for history).",
    )
    state: MilestoneState = strawberry.field(description="Where the milestone stands.")
    progress: MilestoneProgress | None = strawberry.field(
        description="Last reported progress."
    )
    evidence: str | None = strawberry.field(
        description="Evidence given on achievement (the pair and coordinators)."
    )
    achieved_on: date | None = strawberry.field(
        description="When it was achieved (its effective date)."
    )
    on_time: bool | None = strawberry.field(
        description="Whether it was achieved by its due date."
    )
    confirmed_by_id: str | None = strawberry.field(
        description="Who confirmed the achievement (service id).",
        deprecation_reason="Use `confirmedBy`.",
    )

    @strawberry.field(description="The relationship the milestone belongs to.")
    async def relationship(self, info: Info) -> Relationship | None:
        return await relationship_by_id(info, self.relationship_id)

    @strawberry.field(description="Who confirmed the achievement.")
    async def confirmed_by(self, info: Info) -> PersonRef | None:
        return await _person(info, self.confirmed_by_id)

    @strawberry.field(
        description="The certificate-ready record once achieved (null before, or "
        "when you may not read it)."
    )
    async def certificate(self, info: Info) -> MilestoneCertificate | None:
        if self.state is not MilestoneState.ACHIEVED:
            return None
        path = upstream_path("/milestones/{m}/certificate", m=self.milestone_id)
        try:
            data = await ctx(info).caller.get("sessions", path)
        except UpstreamError as exc:
            if exc.status in (403, 404, 409, 410):
                return None
            raise
        return MilestoneCertificate.from_model(read(api.Certificate, data, "sessions"))

    @classmethod
    def from_model(cls, m: api.DevelopmentItem) -> Milestone:
        """A milestone item (``criteria`` is a count for a reader who may not read
        them: no criteria then)."""
        return cls(
            milestone_id=m.id,
            relationship_id=m.relationship_id,
            objective_index=m.objective_index,
            label=m.label,
            criteria=[c for c in m.criteria if c]
            if isinstance(m.criteria, list)
            else [],
            due_on=m.due_on,
            set_on=m.set_on,
            state=_enum(MilestoneState, m.state),
            progress=_maybe(MilestoneProgress, m.status),
            evidence=m.evidence,
            achieved_on=m.achieved_on,
            on_time=m.on_time,
            confirmed_by_id=m.confirmed_by,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Milestone | None]:
        rows = await loaders.milestones(info).load_many(node_ids)
        return [cls.from_model(r) if r else None for r in rows]


@strawberry.type(
    description="A monthly alignment check or a quarterly review (read through its "
    "relationship: `node(id:)` answers null for it)."
)
class CheckIn(BatchedNode, relay.Node):
    check_in_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the check-in."
    )
    kind: CheckInKind = strawberry.field(
        description="A monthly check or a quarterly review."
    )
    held_on: date | None = strawberry.field(
        description="When it was held (its effective date)."
    )
    alignment: int | None = strawberry.field(
        description="Alignment with the objectives, 1 to 5."
    )
    sponsor_id: str | None = strawberry.field(
        description="The sponsor present (quarterly review), as a service id.",
        deprecation_reason="Use `sponsor`.",
    )
    correction: str | None = strawberry.field(
        description="The course correction agreed (the pair and coordinators)."
    )

    @classmethod
    def from_model(cls, m: api.DevelopmentItem) -> CheckIn:
        """A check-in item (its ``kind`` is the check-in's own: monthly or
        quarterly)."""
        return cls(
            check_in_id=m.id,
            kind=_enum(CheckInKind, m.kind),
            held_on=m.held_on,
            alignment=m.alignment,
            sponsor_id=m.sponsor_id,
            correction=m.correction,
        )

    @strawberry.field(description="The sponsor present (quarterly review).")
    async def sponsor(self, info: Info) -> PersonRef | None:
        return await _person(info, self.sponsor_id)

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[CheckIn | None]:
        # No read of one check-in upstream: read them through their relationship.
        return [None for _ in node_ids]


@strawberry.type(
    description="Two to four weeks for the mentee in another function or market."
)
class Rotation(BatchedNode, relay.Node):
    rotation_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the rotation."
    )
    state: RotationState = strawberry.field(description="Where the rotation stands.")
    function: str | None = strawberry.field(description="Host function.")
    market: str | None = strawberry.field(description="Host market.")
    host_id: str | None = strawberry.field(
        description="The host (service id).", deprecation_reason="Use `host`."
    )
    starts_on: date | None = strawberry.field(description="First day.")
    ends_on: date | None = strawberry.field(description="Last day.")
    project_kind: ProjectKind | None = strawberry.field(description="Kind of project.")
    project: str | None = strawberry.field(description="The project, as written.")
    reflection: str | None = strawberry.field(description="The leader's debrief.")
    goal_competency_ids: list[str] = strawberry.field(
        description="Goals the debrief links to."
    )

    @classmethod
    def from_model(cls, m: api.DevelopmentItem) -> Rotation:
        return cls(
            rotation_id=m.id,
            state=_enum(RotationState, m.state),
            function=m.function,
            market=m.market,
            host_id=m.host_id,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            project_kind=_maybe(ProjectKind, m.project_kind),
            project=m.project,
            reflection=m.reflection,
            goal_competency_ids=list(m.goal_competency_ids or []),
        )

    @strawberry.field(description="The host.")
    async def host(self, info: Info) -> PersonRef | None:
        return await _person(info, self.host_id)

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Rotation | None]:
        rows = await get_each(info, "sessions", "/rotations/{id}", node_ids)
        return [
            cls.from_model(read(api.DevelopmentItem, r, "sessions")) if r else None
            for r in rows
        ]


@strawberry.type(description="A concern raised to the coordinator.")
class Escalation(BatchedNode, relay.Node):
    escalation_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the escalation."
    )
    relationship_id: str = strawberry.field(
        description="Its relationship's service id.",
        deprecation_reason="Use `relationship { id }`.",
    )
    state: EscalationState = strawberry.field(
        description="Where the escalation stands."
    )
    category: EscalationCategory | None = strawberry.field(
        description="What the concern is about."
    )
    by_role: PartyRole | None = strawberry.field(description="Which side of the pair.")
    detail: str | None = strawberry.field(description="The concern, as written.")
    outcome: EscalationOutcome | None = strawberry.field(
        description="How it was resolved."
    )
    note: str | None = strawberry.field(description="The resolution note.")

    @classmethod
    def from_model(cls, m: api.DevelopmentItem) -> Escalation:
        return cls(
            escalation_id=m.id,
            relationship_id=m.relationship_id,
            state=_enum(EscalationState, m.state),
            category=_maybe(EscalationCategory, m.category),
            by_role=_maybe(PartyRole, m.by_role),
            detail=m.detail,
            outcome=_maybe(EscalationOutcome, m.outcome),
            note=m.note,
        )

    @strawberry.field(description="The relationship the concern is about.")
    async def relationship(self, info: Info) -> Relationship | None:
        return await relationship_by_id(info, self.relationship_id)

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Escalation | None]:
        rows = read_list(
            api.DevelopmentItem,
            await ctx(info).caller.get("sessions", "/escalations"),
            "sessions",
        )
        by_id = {r.id: r for r in rows}
        return [cls.from_model(by_id[i]) if i in by_id else None for i in node_ids]


@strawberry.type(
    description="A session note, journal entry or after-action review. Private "
    "notes are read by their author alone, shared ones by the pair; a coordinator "
    "sees that a note exists (kind, visibility, dates), never its text."
)
class Note(BatchedNode, relay.Node):
    note_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the note."
    )
    kind: NoteKind = strawberry.field(description="What kind of note.")
    visibility: NoteVisibility = strawberry.field(description="Who may read it.")
    author_role: PartyRole | None = strawberry.field(
        description="Which side of the pair."
    )
    created_at: datetime | None = strawberry.field(description="When it was written.")
    edited_at: datetime | None = strawberry.field(description="Last edit.")
    erased: bool = strawberry.field(description="Its author was erased.")
    readable: bool = strawberry.field(
        description="Whether you may read it (false: you see only that it exists)."
    )
    body: str | None = strawberry.field(
        description="The text (null unless you may read it)."
    )
    prompt: str | None = strawberry.field(description="The journal prompt answered.")
    session_id: str | None = strawberry.field(
        description="The session it is about (service id).",
        deprecation_reason="Use `session { id }`.",
    )

    @classmethod
    def from_model(cls, m: api.Note) -> Note:
        """A note; readable when the answer carries its ``body`` (absent for a
        reader who sees only that it exists)."""
        return cls(
            note_id=m.note_id,
            kind=_enum(NoteKind, m.kind),
            visibility=_enum(NoteVisibility, m.visibility),
            author_role=_enum(PartyRole, m.author_role),
            created_at=_stamp(m.created_at),
            edited_at=_datetime(m.edited_at),
            erased=m.erased,
            readable="body" in m.model_fields_set,
            body=m.body,
            prompt=m.prompt,
            session_id=m.session_id,
        )

    @strawberry.field(description="The session it is about.")
    async def session(self, info: Info) -> Session | None:
        return await session_by_id(info, self.session_id) if self.session_id else None

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Note | None]:
        rows = await get_each(info, "sessions", "/notes/{id}", node_ids)
        return [
            cls.from_model(read(api.Note, r, "sessions")) if r else None for r in rows
        ]


@strawberry.type(
    description="A rating of a session or milestone, 1 to 5 (read through its "
    "relationship: `node(id:)` answers null for it)."
)
class Feedback(BatchedNode, relay.Node):
    feedback_id: relay.NodeID[str] = strawberry.field(
        description="The sessions service's id of the feedback."
    )
    from_role: PartyRole = strawberry.field(description="Which side gave it.")
    about: FeedbackAbout = strawberry.field(description="What is rated.")
    subject_id: str = strawberry.field(
        description="The session's or milestone's service id.",
        deprecation_reason="Use `session` or `milestone`.",
    )
    rating: int = strawberry.field(description="1 to 5.")
    given_at: datetime | None = strawberry.field(
        description="When it was given (its effective time)."
    )
    comment: str | None = strawberry.field(
        description="The private comment (the pair only)."
    )

    @classmethod
    def from_model(cls, m: api.Feedback) -> Feedback:
        return cls(
            feedback_id=m.feedback_id,
            from_role=_enum(PartyRole, m.from_role),
            about=_enum(FeedbackAbout, m.about),
            subject_id=m.subject_id,
            rating=m.rating,
            given_at=_datetime(m.given_at),
            comment=m.comment,
        )

    @strawberry.field(description="The session rated (null for a milestone).")
    async def session(self, info: Info) -> Session | None:
        if self.about is not FeedbackAbout.SESSION:
            return None
        return await session_by_id(info, self.subject_id)

    @strawberry.field(description="The milestone rated (null for a session).")
    async def milestone(self, info: Info) -> Milestone | None:
        if self.about is not FeedbackAbout.MILESTONE:
            return None
        return await milestone_by_id(info, self.subject_id)

    @classmethod
    async def load_nodes(cls, info: Info, node_ids: list[str]) -> list[Feedback | None]:
        # No read of one feedback upstream: read it through its relationship.
        return [None for _ in node_ids]


def _upcoming(s: api.Session, now: datetime | None = None) -> bool:
    """Still to come: scheduled and not yet started."""
    return s.state is api_meetings.SessionState.SCHEDULED and _stamp(s.starts_at) > (
        now or datetime.now(UTC)
    )


def _upcoming_first(items: list[api.Session]) -> list[api.Session]:
    now = datetime.now(UTC)
    coming = sorted(
        (s for s in items if _upcoming(s, now)), key=lambda s: _stamp(s.starts_at)
    )
    past = sorted(
        (s for s in items if not _upcoming(s, now)),
        key=lambda s: _stamp(s.starts_at),
        reverse=True,
    )
    return coming + past


@strawberry.type(
    description="A mentoring relationship between a mentor and a mentee, started "
    "when their pairing is confirmed and run to the end of its programme cycle."
)
class Relationship(BatchedNode, relay.Node):
    relationship_id: relay.NodeID[str] = strawberry.field(
        description="The relationship's id (the id of the pairing it came from)."
    )
    kind: ProgrammeType = strawberry.field(description="The kind of programme.")
    status: RelationshipStatus = strawberry.field(
        description="Where the relationship stands."
    )
    cohort_id: str | None = strawberry.field(
        description="Its cohort's service id, if any.",
        deprecation_reason="Use `cohort { id }`.",
    )
    starts_on: date | None = strawberry.field(description="First day.")
    planned_end_on: date | None = strawberry.field(
        description="Planned last day (the end of the cohort's development phase)."
    )
    mentor_id: str = strawberry.field(
        description="The mentor's service id.",
        deprecation_reason="Use `mentor { id }`.",
    )
    mentee_id: str = strawberry.field(
        description="The mentee's service id.",
        deprecation_reason="Use `mentee { id }`.",
    )
    contract: LearningContract | None = strawberry.field(
        description="The learning contract (null until one is proposed)."
    )
    cadence_adherence: JSON | None = strawberry.field(
        description="How well the pair keeps the contract's rhythm today: expected "
        "and held sessions, adherence ratio, on track (null before the contract is "
        "in force)."
    )

    @strawberry.field(
        description="The mentor when a person of the organisation (null for an "
        "external advisor: read `mentorParty`)."
    )
    async def mentor(self, info: Info) -> PersonRef | None:
        return await _person(info, self.mentor_id)

    @strawberry.field(
        description="The mentor, whoever they are: a `Person`, or an `Advisor` in "
        "an external programme."
    )
    async def mentor_party(self, info: Info) -> Mentor | None:
        return await refs.mentor(info, self.mentor_id, self.kind)

    @strawberry.field(description="The mentee.")
    async def mentee(self, info: Info) -> PersonRef | None:
        return await _person(info, self.mentee_id)

    @strawberry.field(
        description="The group circle the relationship is part of (a group "
        "programme; null otherwise), with the members you may see."
    )
    async def circle(self, info: Info) -> CircleRef | None:
        from gateway.matching.types import circle_of_pairing

        if self.kind is not ProgrammeType.GROUP:
            return None
        return await circle_of_pairing(info, self.relationship_id)

    @strawberry.field(description="Its cohort, if any.")
    async def cohort(self, info: Info) -> CohortRef | None:
        from gateway.people.types import cohort_by_id

        return await cohort_by_id(info, self.cohort_id)

    @strawberry.field(
        description="Sessions: upcoming ones first (soonest first), then the rest "
        "(latest first)."
    )
    async def sessions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        upcoming: Annotated[
            bool | None,
            strawberry.argument(
                description="true: only sessions still to come; false: only the rest."
            ),
        ] = None,
    ) -> Connection[Session]:
        items = _upcoming_first(
            await loaders.sessions_of(info).load(self.relationship_id)
        )
        if upcoming is not None:
            items = [s for s in items if _upcoming(s) == upcoming]
        return from_list(items, Session.from_model, first, after, _max(info))

    @strawberry.field(
        description="The next free slots inside the mentor's and the mentee's "
        "windows, clear of their sessions (looking 4 weeks ahead)."
    )
    async def open_slots(
        self,
        info: Info,
        count: Annotated[
            int, strawberry.argument(description="How many (1 to 20).")
        ] = 3,
        after: Annotated[
            datetime | None,
            strawberry.argument(description="Not before this time (default: now)."),
        ] = None,
        minutes: Annotated[
            int | None,
            strawberry.argument(
                description="Length of a slot (default: the contract's session "
                "length, else 60)."
            ),
        ] = None,
    ) -> OpenSlots:
        path = upstream_path("/relationships/{r}/slots", r=self.relationship_id)
        data = await ctx(info).caller.get(
            "sessions",
            path,
            count=count,
            minutes=minutes,
            **{"from": after.isoformat() if after else None},
        )
        return OpenSlots.from_model(read(api.Slots, data, "sessions"))

    @strawberry.field(description="Milestones, in the order they were set.")
    async def milestones(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Milestone]:
        items = await loaders.items_of(info, api.BatchItemKind.MILESTONE).load(
            self.relationship_id
        )
        return from_list(items, Milestone.from_model, first, after, _max(info))

    @strawberry.field(description="Check-ins and quarterly reviews, oldest first.")
    async def check_ins(self, info: Info) -> list[CheckIn]:
        items = await loaders.items_of(info, api.BatchItemKind.CHECK_IN).load(
            self.relationship_id
        )
        return [CheckIn.from_model(i) for i in items]

    @strawberry.field(description="Rotations of the mentee, oldest first.")
    async def rotations(self, info: Info) -> list[Rotation]:
        items = await loaders.items_of(info, api.BatchItemKind.ROTATION).load(
            self.relationship_id
        )
        return [Rotation.from_model(i) for i in items]

    @strawberry.field(
        description="Notes you may know of: your own and shared ones in full; as a "
        "coordinator, every note as metadata only."
    )
    async def notes(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Note]:
        items = await loaders.notes_of(info).load(self.relationship_id)
        return from_list(items, Note.from_model, first, after, _max(info))

    @strawberry.field(description="Feedback given in this relationship.")
    async def feedback(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Feedback]:
        items = await loaders.feedback_of(info).load(self.relationship_id)
        return from_list(items, Feedback.from_model, first, after, _max(info))

    @classmethod
    def from_model(cls, m: api.Relationship) -> Relationship:
        return cls(
            relationship_id=m.relationship_id,
            kind=_enum(ProgrammeType, m.kind),
            status=_enum(RelationshipStatus, m.state),
            cohort_id=m.cohort_id,
            starts_on=m.starts_on,
            planned_end_on=m.planned_end_on,
            mentor_id=m.mentor_id,
            mentee_id=m.mentee_id,
            contract=LearningContract.from_model(m.contract),
            cadence_adherence=as_json(m.cadence_adherence)
            if m.cadence_adherence
            else None,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[Relationship | None]:
        rows = await loaders.relationships(info).load_many(node_ids)
        return [cls.from_model(r) if r else None for r in rows]


async def relationship_by_id(
    info: Info, relationship_id: str | None
) -> Relationship | None:
    if not relationship_id:
        return None
    found = await loaders.relationships(info).load(relationship_id)
    return Relationship.from_model(found) if found else None


async def session_by_id(info: Info, session_id: str | None) -> Session | None:
    if not session_id:
        return None
    found = await loaders.sessions(info).load(session_id)
    return Session.from_model(found) if found else None


async def milestone_by_id(info: Info, milestone_id: str | None) -> Milestone | None:
    if not milestone_id:
        return None
    found = await loaders.milestones(info).load(milestone_id)
    return Milestone.from_model(found) if found else None
