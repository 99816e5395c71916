"""One chunk of a history import decided and saved in one transaction.

Every record goes through the aggregate a live write uses - ``Relationship`` for a
contract, ``Session``, ``Milestone``, ``Feedback``, ``CheckIn`` - with the same
effective-date rules, so the events (and the projections and consumers that follow
them) are those of the live commands, dated when things happened. What the chunk's
records recorded is then appended in one statement for all their streams
(``chassis.eventstore.batch.append_streams``) and projected in the same transaction,
with the ledger of imported keys and the records' outcomes.

A record is looked up by its (tenant, section, key) first (the chassis's ledger,
``chassis.history_jobs.taken``, and the job's memory): the same content again is
``unchanged``, other content under that key a ``conflict``. A record the domain
refuses is a failed outcome naming its field; the others go ahead. The job
(``chassis.history_jobs``) records the keys taken, the outcomes and the counts in the
chunk's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.auth.principal import Principal
from chassis.errors import TandemError
from chassis.events import NewEvent, RecordedEvent, encode
from chassis.eventstore.batch import StreamAppend, append_streams
from chassis.history_jobs import (
    Chunk,
    Entry,
    RecordProblem,
    RecordResult,
    Taken,
)
from chassis.history_jobs import taken as taken_before
from chassis.repository import Repository
from contracts.api.sessions import HistoryOutcome, HistoryRecordError, HistorySection
from contracts.sessions.meetings import SessionState
from contracts.sessions.notes import FeedbackAbout
from contracts.sessions.relationships import Cadence
from services.sessions.application.development import Development
from services.sessions.application.feedback import Feedbacks
from services.sessions.application.history.records import (
    CheckInRecord,
    ContractRecord,
    FeedbackRecord,
    MilestoneRecord,
    Record,
    SessionRecord,
    digest,
    failure,
    refusal,
)
from services.sessions.application.meetings import Meetings
from services.sessions.application.relationships import Relationships
from services.sessions.domain.checkin import CheckIn
from services.sessions.domain.meeting import Session
from services.sessions.domain.milestone import Milestone
from services.sessions.domain.notes import (
    Feedback,
    FeedbackAlreadyGiven,
    Subject,
    UnknownSubject,
)
from services.sessions.domain.relationship import (
    Relationship,
    require_not_after_end,
)
from services.sessions.projections.feedback import find_subject
from services.sessions.projections.tables import HISTORY_TABLES

CONTRACTS, SESSIONS, MILESTONES, FEEDBACK, CHECK_INS = tuple(HistorySection)
DRY_TEXT = "dry-run"  # a text id a dry run's decisions carry (nothing is stored)
EVIDENCE = "Recorded from the programme's history"
Key = tuple[HistorySection, str]


@dataclass
class Memory:
    """What a job knows across its chunks, of what committed: the keys it imported
    (``entity_id`` None in a dry run), the sessions and milestones feedback may rate,
    the feedback given, and (dry run only, where nothing is saved) the relationships
    as the job's contracts left them."""

    ledger: dict[Key, tuple[str, str | None]] = field(default_factory=dict)
    subjects: dict[Key, Subject] = field(default_factory=dict)
    feedback_ids: set[str] = field(default_factory=set)
    relationships: dict[str, Relationship] = field(default_factory=dict)


LEGACY = "legacy:"  # a key taken before the chassis's ledger: its plain digest


def _result(
    seq: int,
    section: HistorySection,
    key: str,
    outcome: HistoryOutcome,
    entity_id: str | None = None,
    error: HistoryRecordError | None = None,
) -> RecordResult:
    problem = RecordProblem(error.code, error.field, error.message) if error else None
    return RecordResult(seq, section.value, key, outcome.value, problem, entity_id)


class _Texts:
    """Sealed texts a record stores (none in a dry run), forgotten if it fails."""

    def __init__(
        self,
        writer: HistoryWriter,
        conn: AsyncConnection,
        principal: Principal,
        dry: bool,
    ) -> None:
        self.writer, self.conn, self.principal, self.dry = writer, conn, principal, dry
        self.written: list[str] = []

    async def put(self, words: str) -> str:
        if self.dry:
            return DRY_TEXT
        text_id = await self.writer.texts.put(
            self.conn, self.principal.tenant, self.principal.subject, words
        )
        self.written.append(text_id)
        return text_id

    async def forget(self) -> None:
        for text_id in self.written:
            await self.writer.texts.forget(self.conn, text_id)
        self.written = []


class HistoryWriter:
    """Applies chunks of history records for the sessions service's applications."""

    def __init__(
        self,
        relationships: Relationships,
        meetings: Meetings,
        development: Development,
        feedbacks: Feedbacks,
    ) -> None:
        self.relationships = relationships
        self.store = relationships.runtime.store
        self.texts = relationships.texts
        self.repos: dict[HistorySection, Repository[Any]] = {
            CONTRACTS: relationships.repo,
            SESSIONS: meetings.repo,
            MILESTONES: development.repos[Milestone],
            FEEDBACK: feedbacks.feedback,
            CHECK_INS: development.repos[CheckIn],
        }

    async def apply(
        self,
        conn: AsyncConnection,
        principal: Principal,
        items: Sequence[tuple[int, Entry, str]],
        memory: Memory,
        *,
        job_id: str,
        dry_run: bool,
    ) -> Chunk:
        """Decide a chunk of one section's records (``(seq, entry, fingerprint)``,
        each read) and save what they recorded; ``memory`` learns once it commits."""
        tenant = principal.tenant
        now = datetime.now(UTC)
        section = HistorySection(items[0][1].section)
        parsed = [(no, _record_of(entry), sum_) for no, entry, sum_ in items]
        records = [r for _no, r, _sum in parsed]
        rels = await self._relationships(
            conn, tenant, {r.relationship_id for r in records}, memory
        )
        context = _Context(self, conn, principal, memory, rels, now, dry_run)
        if section == FEEDBACK:
            await context.prepare_feedback(
                [r for r in records if isinstance(r, FeedbackRecord)]
            )
        # The streams first, the keys after: a concurrent import of the same keys
        # that commits in between is then seen in the keys ("unchanged"), and one
        # that commits later makes this chunk's append (or key) fail and be retried.
        stored = await taken_before(
            conn, HISTORY_TABLES.ledger, tenant, section.value, [r.key for r in records]
        )
        learned = Memory()
        outcomes: list[RecordResult] = []
        saving: dict[str, Aggregate] = {}
        for no, record, sum_ in parsed:
            seen: tuple[str, str | None] | None = (
                learned.ledger.get((section, record.key))
                or memory.ledger.get((section, record.key))
                or stored.get(record.key)
            )
            if seen is not None:
                if seen[0] in (sum_, LEGACY + digest(record)):
                    outcomes.append(
                        _result(
                            no, section, record.key, HistoryOutcome.UNCHANGED, seen[1]
                        )
                    )
                else:
                    error = failure(
                        "conflict",
                        f"{section} {record.key} was imported before with other "
                        "content; history is not edited by re-import",
                        "key",
                    )
                    outcomes.append(
                        _result(
                            no, section, record.key, HistoryOutcome.FAILED, error=error
                        )
                    )
                continue
            rel = rels.get(record.relationship_id)
            if rel is None:
                error = failure(
                    "unknown_relationship",
                    f"relationship {record.relationship_id} does not exist (yet)",
                    "relationship_id",
                )
                outcomes.append(
                    _result(no, section, record.key, HistoryOutcome.FAILED, error=error)
                )
                continue
            texts = _Texts(self, conn, principal, dry_run)
            try:
                aggregate = await context.decide(section, record, rel, texts, learned)
            except TandemError as exc:
                await texts.forget()
                outcomes.append(
                    _result(
                        no,
                        section,
                        record.key,
                        HistoryOutcome.FAILED,
                        error=refusal(section, exc),
                    )
                )
                continue
            saving[aggregate.id] = aggregate
            learned.ledger[(section, record.key)] = (
                sum_,
                None if dry_run else aggregate.id,
            )
            outcomes.append(
                _result(
                    no,
                    section,
                    record.key,
                    HistoryOutcome.WOULD_CREATE if dry_run else HistoryOutcome.CREATED,
                    None if dry_run else aggregate.id,
                )
            )

        def committed() -> None:
            memory.ledger.update(learned.ledger)
            memory.subjects.update(learned.subjects)
            memory.feedback_ids.update(learned.feedback_ids)
            memory.relationships.update(learned.relationships)

        if dry_run:
            learned.relationships.update(rels)
            return Chunk(outcomes, committed=committed)
        if saving:
            await self._save(conn, principal, section, list(saving.values()))
        if section == FEEDBACK:
            await context.link_authors(saving.values())
        taken = [
            Taken(sec.value, key, fingerprint, entity)
            for (sec, key), (fingerprint, entity) in learned.ledger.items()
            if entity is not None
        ]
        return Chunk(outcomes, taken, committed)

    async def _relationships(
        self,
        conn: AsyncConnection,
        tenant: str,
        ids: set[str],
        memory: Memory,
    ) -> dict[str, Relationship]:
        """The tenant's relationships of these ids (another tenant's are unknown):
        one statement. A dry run keeps them as its own contracts left them."""
        found = {i: memory.relationships[i] for i in ids if i in memory.relationships}
        missing = sorted(ids - set(found))
        if missing:
            found |= await self.relationships.repo.find_many(
                missing, tenant, connection=conn
            )
        return found

    async def _save(
        self,
        conn: AsyncConnection,
        principal: Principal,
        section: HistorySection,
        aggregates: Sequence[Aggregate],
    ) -> list[RecordedEvent]:
        """Every stream's pending events appended together, then projected."""
        repo = self.repos[section]
        metadata = self.relationships.metadata_for(principal)
        if section == FEEDBACK:  # who gave feedback is not an attribute of its event
            metadata = replace(metadata, actor=None)
        appends, pending = [], []
        for aggregate in aggregates:
            expected = aggregate.stored_version
            payloads = aggregate.collect_pending()
            pending.append(payloads)
            appends.append(
                StreamAppend(
                    aggregate.id,
                    aggregate.stream_type,
                    expected,
                    [
                        NewEvent(
                            event_type=p.event_type,
                            data=encode(p),
                            schema_version=p.schema_version,
                        )
                        for p in payloads
                    ],
                )
            )
        recorded = await append_streams(self.store, appends, metadata, connection=conn)
        pairs = [
            pair
            for events, payloads in zip(recorded, pending, strict=True)
            for pair in zip(events, payloads, strict=True)
        ]
        for projection in repo.projections:
            await projection.apply(pairs, conn)
        return [r for r, _ in pairs]


class _Context:
    """One chunk's deciding: the records through the domain, one by one."""

    def __init__(
        self,
        writer: HistoryWriter,
        conn: AsyncConnection,
        principal: Principal,
        memory: Memory,
        rels: dict[str, Relationship],
        now: datetime,
        dry_run: bool,
    ) -> None:
        self.writer, self.conn, self.principal = writer, conn, principal
        self.memory, self.rels, self.now, self.dry_run = memory, rels, now, dry_run
        self.today: date = now.date()
        self.subjects: dict[Key, Subject] = {}
        self.feedback: dict[str, Feedback] = {}
        self.authors: dict[str, str] = {}

    async def decide(
        self,
        section: HistorySection,
        rec: Record,
        rel: Relationship,
        texts: _Texts,
        learned: Memory,
    ) -> Aggregate:
        if isinstance(rec, ContractRecord):
            return await self._contract(rec, rel, texts)
        if isinstance(rec, SessionRecord):
            return self._session(rec, rel, learned)
        if isinstance(rec, MilestoneRecord):
            return await self._milestone(rec, rel, texts, learned)
        if isinstance(rec, FeedbackRecord):
            return self._feedback(rec, rel, learned)
        return self._check_in(rec, rel)

    async def _contract(
        self, rec: ContractRecord, rel: Relationship, texts: _Texts
    ) -> Relationship:
        hours = rec.hours_per_month
        if hours is None:
            hours = min(100, round(rec.minutes * 30 / rec.every_days / 60))
        body = "\n".join(["Objectives:", *rec.objectives, "", rec.terms or ""])
        rel.record_contract(
            self.principal.subject,
            cadence=Cadence(every_days=rec.every_days, minutes=rec.minutes),
            hours_per_month=hours,
            objectives=len(rec.objectives),
            terms_text_id=await texts.put(body.strip()),
            signed_on=rec.signed_on,
            today=self.today,
        )
        return rel

    def _session(
        self, rec: SessionRecord, rel: Relationship, learned: Memory
    ) -> Session:
        require_not_after_end(
            rec.starts_at.astimezone(UTC).date(), rel.ended_on, "a session", "starts_at"
        )
        absent = {
            "mentor": [rel.mentor_id],
            "mentee": [rel.mentee_id],
            "both": [rel.mentor_id, rel.mentee_id],
        }[rec.absent]
        session = Session.record_past(
            rel,
            session_id=str(uuid.uuid4()),
            by=self.principal.subject,
            starts_at=rec.starts_at,
            minutes=rec.minutes,
            outcome=SessionState(rec.status),
            now=self.now,
            absent_ids=absent,
            reason_code=rec.reason_code,
        )
        held = rec.status == "held"
        learned.subjects[(SESSIONS, rec.key)] = Subject(
            FeedbackAbout.SESSION,
            session.id,
            rel.id,
            rec.status,
            session.starts_at if held else None,
        )
        return session

    async def _milestone(
        self, rec: MilestoneRecord, rel: Relationship, texts: _Texts, learned: Memory
    ) -> Milestone:
        rel.require_contract()
        assert rel.contract is not None
        require_not_after_end(rec.set_on, rel.ended_on, "a milestone set", "set_on")
        if rec.achieved_on is not None:
            require_not_after_end(
                rec.achieved_on, rel.ended_on, "a milestone achieved", "achieved_on"
            )
        criteria = rec.criteria if rec.criteria is not None else [rec.label]
        listed = "\n".join(c.strip() for c in criteria if c.strip())
        milestone = Milestone.set(
            str(uuid.uuid4()),
            self.principal.tenant,
            relationship_id=rel.id,
            mentee_id=rel.mentee_id,
            objective_index=rec.objective_index,
            objectives=rel.contract.objectives,
            due_on=rec.due_on,
            criteria=list(criteria),
            label_text_id=await texts.put(rec.label),
            criteria_text_id=await texts.put(listed) if listed else "",
            today=self.today,
            started_on=rel.starts_on,
            set_on=rec.set_on,
        )
        if rec.achieved_on is not None:
            milestone.achieve(
                self.principal.subject,
                mentor_id=rel.mentor_id,
                is_coordinator=True,
                evidence_text_id=await texts.put(rec.evidence or EVIDENCE),
                achieved_on=rec.achieved_on,
                today=self.today,
                started_on=rel.starts_on,
            )
        learned.subjects[(MILESTONES, rec.key)] = Subject(
            FeedbackAbout.MILESTONE,
            milestone.id,
            rel.id,
            milestone.state,
            datetime(rec.set_on.year, rec.set_on.month, rec.set_on.day, tzinfo=UTC),
        )
        return milestone

    async def prepare_feedback(self, records: Sequence[FeedbackRecord]) -> None:
        """The subjects the chunk's feedback rates (imported by an earlier job,
        when this one did not) and the feedback already given on them: a statement
        for the keys, one per subject, one for the feedback."""
        wanted: dict[HistorySection, set[str]] = {SESSIONS: set(), MILESTONES: set()}
        for rec in records:
            section, key = _subject_key(rec)
            if (section, key) not in self.memory.subjects:
                wanted[section].add(key)
        if any(wanted.values()):
            rows = await self.conn.execute(
                text(
                    "SELECT section, key, entity_id FROM "
                    f"{HISTORY_TABLES.ledger} "
                    "WHERE tenant = :t AND ((section = 'sessions' AND key IN :s)"
                    " OR (section = 'milestones' AND key IN :m))"
                ).bindparams(
                    bindparam("s", expanding=True), bindparam("m", expanding=True)
                ),
                {
                    "t": self.principal.tenant,
                    "s": sorted(wanted[SESSIONS]) or [""],
                    "m": sorted(wanted[MILESTONES]) or [""],
                },
            )
            for row in rows.all():
                section = HistorySection(row.section)
                about = (
                    FeedbackAbout.SESSION
                    if section == SESSIONS
                    else FeedbackAbout.MILESTONE
                )
                found = await find_subject(
                    self.conn, self.principal.tenant, about, row.entity_id
                )
                if found is not None:
                    self.subjects[(section, row.key)] = found
        ids = []
        for rec in records:
            subject = self._subject(rec)
            if subject is not None:
                ids.append(self._feedback_id(rec, subject))
        self.feedback = await self.writer.repos[FEEDBACK].find_many(
            ids, self.principal.tenant, connection=self.conn
        )

    def _subject(self, rec: FeedbackRecord) -> Subject | None:
        key = _subject_key(rec)
        return self.memory.subjects.get(key) or self.subjects.get(key)

    def _feedback_id(self, rec: FeedbackRecord, subject: Subject) -> str:
        return Feedback.id_for(
            self.principal.tenant,
            rec.relationship_id,
            rec.from_role,
            rec.about,
            subject.id,
        )

    def _feedback(
        self, rec: FeedbackRecord, rel: Relationship, learned: Memory
    ) -> Feedback:
        subject = self._subject(rec)
        if subject is None:
            section, key = _subject_key(rec)
            raise UnknownSubject(
                f"no {rec.about} {key} in the {section} of this import or an "
                "earlier one",
                field=rec.about.value,
            )
        require_not_after_end(
            rec.given_at.astimezone(UTC).date(), rel.ended_on, "feedback", "given_at"
        )
        fid = self._feedback_id(rec, subject)
        feedback = self.feedback.get(fid)
        if feedback is None:
            feedback = Feedback(fid, self.principal.tenant)
            feedback.initial_state()
        if fid in self.memory.feedback_ids:  # given by an earlier chunk (dry run)
            raise FeedbackAlreadyGiven(
                f"feedback on {rec.about} {subject.id} was already given"
            )
        feedback.give(
            relationship_id=rel.id,
            from_role=rec.from_role,
            about=rec.about,
            subject_id=subject.id,
            subject=subject,
            rating=rec.rating,
            comment_text_id=None,
            now=self.now,
            given_at=rec.given_at,
            started_on=rel.starts_on,
        )
        learned.feedback_ids.add(fid)
        self.feedback[fid] = feedback
        self.authors[fid] = (
            rel.mentor_id if rec.from_role == "mentor" else rel.mentee_id
        )
        return feedback

    def _check_in(self, rec: CheckInRecord, rel: Relationship) -> CheckIn:
        return CheckIn.record(
            str(uuid.uuid4()),
            self.principal.tenant,
            relationship_id=rel.id,
            kind=rec.kind,
            held_on=rec.held_on,
            sponsor_id=rec.sponsor_id,
            alignment=rec.alignment,
            correction_text_id=None,
            today=self.today,
            started_on=rel.starts_on,
        )

    async def link_authors(self, saved: Iterable[Aggregate]) -> None:
        """Each rating's author (the side it came from), as the live command links
        them: erasing that person unlinks them again."""
        rows = [
            {"a": self.authors[a.id], "f": a.id} for a in saved if a.id in self.authors
        ]
        if rows:
            await self.conn.execute(
                text("UPDATE feedback SET author_id = :a WHERE feedback_id = :f"), rows
            )


def _subject_key(rec: FeedbackRecord) -> Key:
    if rec.about == FeedbackAbout.SESSION:
        assert rec.session is not None
        return (SESSIONS, rec.session)
    assert rec.milestone is not None
    return (MILESTONES, rec.milestone)


def _record_of(entry: Entry) -> Record:
    record = entry.record
    assert isinstance(
        record,
        ContractRecord
        | SessionRecord
        | MilestoneRecord
        | FeedbackRecord
        | CheckInRecord,
    )
    return record
