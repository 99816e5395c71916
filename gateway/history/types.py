"""The types of a programme-history import as GraphQL answers them."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from gateway.connections import Connection, from_list
from gateway.context import ctx
from gateway.enums import ImportStatus, v
from gateway.history.document import SECTIONS, Line
from gateway.history.jobs import Job
from gateway.ids import global_id
from gateway.nodes import BatchedNode
from gateway.people.types import After, First


@strawberry.enum(description="A section of a programme-history document.")
class HistorySection(enum.Enum):
    COHORTS = v("cohorts", description="Cohorts and their members (profiles).")
    OUTCOMES = v("outcomes", description="Career outcomes (profiles).")
    PAIRINGS = v("pairings", description="Mentor-mentee pairings (matching).")
    CONTRACTS = v(
        "contracts",
        description="A pairing's learning contract, under the pairing's key "
        "(sessions).",
    )
    SESSIONS = v("sessions", description="Sessions held, cancelled or missed.")
    MILESTONES = v("milestones", description="Milestones set and achieved.")
    FEEDBACK = v("feedback", description="Feedback given.")
    CHECK_INS = v("check_ins", description="Check-ins held.")


@strawberry.enum(description="What became of one record of the document.")
class HistoryRecordOutcome(enum.Enum):
    CREATED = v("created", description="Written now.")
    UNCHANGED = v(
        "unchanged", description="Already imported with the same content; nothing done."
    )
    FAILED = v("failed", description="Not imported; `error` says why.")
    WOULD_CREATE = v("would_create", description="Dry run: valid, would be written.")
    NOT_CHECKED = v(
        "not_checked",
        description="Dry run: depends on a record the import would create, so its "
        "owning service checks it on the real import.",
    )


@strawberry.enum(description="The step an import is at (or stopped at).")
class HistoryImportStage(enum.Enum):
    PROFILES = v("profiles", description="Cohorts and outcomes (profiles).")
    RESOLVING = v(
        "resolving", description="Employee ids and cohort keys resolved to ids."
    )
    MATCHING = v("matching", description="Pairings (matching).")
    WAITING = v(
        "waiting",
        description="Waiting (bounded) until sessions has heard of the new "
        "relationships.",
    )
    SESSIONS = v(
        "sessions",
        description="Contracts, sessions, milestones, feedback, check-ins (sessions).",
    )
    DONE = v("done", description="Every step ran.")


@strawberry.type(description="Why a record was not imported.")
class HistoryRecordError:
    code: str = strawberry.field(
        description="e.g. `conflict`, `unknown_person`, `unknown_pairing`, "
        "`dependency_failed`, or the owning service's rule."
    )
    field: str | None = strawberry.field(
        description="The record's field at fault, as the file names it."
    )
    message: str = strawberry.field(description="What is wrong, for a person.")


@strawberry.type(description="What became of one record of the document.")
class HistoryImportRecord:
    section: HistorySection = strawberry.field(description="The record's section.")
    key: str = strawberry.field(description="The record's key in the file.")
    outcome: HistoryRecordOutcome = strawberry.field(description="What happened.")
    error: HistoryRecordError | None = strawberry.field(
        description="Why it failed (null unless FAILED; for NOT_CHECKED, `message` "
        "says what it waits for)."
    )
    entity_id: relay.GlobalID | None = strawberry.field(
        description="The object it became or was found as (a Cohort, the Person "
        "of an outcome, a Pairing, whose local id is also its Relationship's, a "
        "Relationship for a contract, a Session, Milestone, Feedback or CheckIn)."
    )

    @classmethod
    def from_line(cls, ln: Line) -> HistoryImportRecord:
        error = None
        if ln.code is not None or ln.message is not None:
            error = HistoryRecordError(
                code=ln.code or ln.outcome, field=ln.field, message=ln.message or ""
            )
        node = _NODE_OF.get(ln.section)
        return cls(
            section=HistorySection(ln.section),
            key=ln.key,
            outcome=HistoryRecordOutcome(ln.outcome),
            error=error,
            entity_id=global_id(node, ln.id) if node and ln.id else None,
        )


_NODE_OF = {
    "cohorts": "Cohort",
    "outcomes": "Person",
    "pairings": "Pairing",
    "contracts": "Relationship",
    "sessions": "Session",
    "milestones": "Milestone",
    "feedback": "Feedback",
    "check_ins": "CheckIn",
}


@strawberry.type(description="A section's records by outcome.")
class HistorySectionCounts:
    section: HistorySection = strawberry.field(description="The section.")
    created: int = strawberry.field(description="Written now.")
    unchanged: int = strawberry.field(description="Already there.")
    failed: int = strawberry.field(description="Not imported.")
    would_create: int = strawberry.field(description="Dry run: would be written.")
    not_checked: int = strawberry.field(description="Dry run: checked on import.")


@strawberry.type(
    description="A programme-history import: where it is and what became of each "
    "record (poll until `status` is SUCCEEDED or FAILED)."
)
class ProgrammeHistoryImport(BatchedNode, relay.Node):
    job_id: relay.NodeID[str] = strawberry.field(description="The job's id.")
    status: ImportStatus = strawberry.field(description="Where the job is.")
    stage: HistoryImportStage = strawberry.field(
        description="The step running, or the one it stopped at."
    )
    dry_run: bool = strawberry.field(description="Validate and report only.")
    error: str | None = strawberry.field(
        description="Why the job stopped, if it failed (import the same document "
        "again to finish it: what was written answers UNCHANGED)."
    )
    created_at: datetime = strawberry.field(description="When submitted.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    counts: list[HistorySectionCounts] = strawberry.field(
        description="Each section of the report, by outcome."
    )
    lines: strawberry.Private[list[Line]]

    @strawberry.field(
        description="The merged per-record report, section by section in file "
        "order, filtered."
    )
    def records(
        self,
        info: Info,
        outcome: Annotated[
            HistoryRecordOutcome | None,
            strawberry.argument(description="Only the records with this outcome."),
        ] = None,
        section: Annotated[
            HistorySection | None,
            strawberry.argument(description="Only the records of this section."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[HistoryImportRecord]:
        chosen = [
            ln
            for ln in self.lines
            if (outcome is None or ln.outcome == outcome.value)
            and (section is None or ln.section == section.value)
        ]
        return from_list(
            chosen,
            HistoryImportRecord.from_line,
            first,
            after,
            ctx(info).settings.max_page_size,
        )

    @classmethod
    def from_job(cls, job: Job) -> ProgrammeHistoryImport:
        lines = list(job.lines)
        return cls(
            job_id=job.job_id,
            status=ImportStatus(job.status),
            stage=HistoryImportStage(job.stage),
            dry_run=job.dry_run,
            error=job.error,
            created_at=_when(job.created_at),
            finished_at=_when(job.finished_at) if job.finished_at else None,
            counts=_counts(lines),
            lines=lines,
        )

    @classmethod
    async def load_nodes(
        cls, info: Info, node_ids: list[str]
    ) -> list[ProgrammeHistoryImport | None]:
        c = ctx(info)
        jobs = [c.history.get(i, c.principal) for i in node_ids]
        return [cls.from_job(j) if j is not None else None for j in jobs]


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _counts(lines: list[Line]) -> list[HistorySectionCounts]:
    found: list[HistorySectionCounts] = []
    for section in SECTIONS:
        mine = [ln.outcome for ln in lines if ln.section == section]
        if mine:
            found.append(
                HistorySectionCounts(
                    section=HistorySection(section),
                    created=mine.count("created"),
                    unchanged=mine.count("unchanged"),
                    failed=mine.count("failed"),
                    would_create=mine.count("would_create"),
                    not_checked=mine.count("not_checked"),
                )
            )
    return found
