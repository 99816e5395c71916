"""History import jobs of the sessions service: the chassis's jobs
(``chassis.history_jobs``: submitted once per idempotency key, run in the background,
reported from the service's own tables, each record taken once per tenant, section
and key), fed section by section and decided chunk by chunk by ``HistoryWriter``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role
from chassis.errors import TandemError
from chassis.history_jobs import (
    FINISHED,
    Chunk,
    Entry,
    HistoryJobs,
    IdempotencyKeyReused,
    RecordProblem,
)
from chassis.runtime import ServiceRuntime
from contracts.api.sessions import (
    HistoryCounts,
    HistoryImportJob,
    HistoryOutcome,
    HistoryRecord,
    HistoryRecordError,
    HistoryRecordPage,
    HistorySection,
    HistorySectionCounts,
)
from services.sessions.application.history.records import SECTIONS, key_of, parse
from services.sessions.application.history.writer import HistoryWriter, Memory
from services.sessions.projections.tables import HISTORY_TABLES

CHUNK_SIZE = 500  # records decided and saved in one transaction
MAX_RECORDS = 50_000
IMPORTERS = (Role.ADMIN, Role.COORDINATOR)
Document = Mapping[str, Sequence[object]]  # by section name


class HistoryImportTooLarge(TandemError):
    code = "HistoryImportTooLarge"
    status = 413
    title = "History import too large"


def entry_of(section: HistorySection, raw: object) -> Entry:
    """A record of the document as the job takes it: read, or failed alone."""
    record = parse(section, raw)
    if isinstance(record, HistoryRecordError):
        problem = RecordProblem(record.code, record.field, record.message)
        return Entry(section.value, key_of(raw), None, problem=problem, raw=raw)
    return Entry(section.value, record.key, record)


class HistoryImports:
    """The history import jobs of one service process (tasks of its event loop)."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        writer: HistoryWriter,
        *,
        secret: bytes,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.runtime = runtime
        self.writer = writer
        self.jobs = HistoryJobs(
            runtime.engine,
            secret=secret,
            sections=[s.value for s in SECTIONS],
            require=self.authorise,
            apply_chunk=self._apply,
            chunk_size=chunk_size,
            new_memory=Memory,
            names=HISTORY_TABLES,
        )

    @property
    def chunk_size(self) -> int:
        return self.jobs.chunk_size

    @chunk_size.setter
    def chunk_size(self, size: int) -> None:
        self.jobs.chunk_size = size

    @staticmethod
    def authorise(principal: Principal) -> None:
        """Coordinators and admins of the tenant import its history (403 else)."""
        principal.require(*IMPORTERS)

    async def submit(
        self,
        principal: Principal,
        document: Document,
        *,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:
        """Start a job; ``(job id, replayed)``: the same key, the same job. The
        sections are applied in ``SECTIONS`` order (contracts before the sessions
        held under them, sessions before the feedback rating them)."""
        self.authorise(principal)
        total = sum(len(document.get(s, ())) for s in SECTIONS)
        if total > MAX_RECORDS:
            raise HistoryImportTooLarge(
                f"{total} records; at most {MAX_RECORDS} per import",
                max_records=MAX_RECORDS,
            )
        entries = [
            entry_of(section, raw)
            for section in SECTIONS
            for raw in document.get(section, ())
        ]
        return await self.jobs.submit(
            principal, entries, dry_run=dry_run, idempotency_key=idempotency_key
        )

    async def _apply(
        self,
        conn: AsyncConnection,
        principal: Principal,
        items: Sequence[tuple[int, Entry, str]],
        memory: Any,
        *,
        job_id: str,
        dry_run: bool,
    ) -> Chunk:
        chunk = await self.writer.apply(
            conn, principal, items, memory, job_id=job_id, dry_run=dry_run
        )
        learned = chunk.committed

        def committed() -> None:
            if learned is not None:
                learned()
            if not dry_run:
                self.runtime.relay.notify()

        chunk.committed = committed
        return chunk

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for a job this process runs to finish."""
        await self.jobs.wait(job_id, timeout_s)

    async def stop(self) -> None:
        """Cancel running jobs at shutdown (they read as failed once stale)."""
        await self.jobs.stop()

    # -- queries ---------------------------------------------------------------------

    async def job(self, principal: Principal, job_id: str) -> HistoryImportJob:
        """The job's status and counts per section."""
        state = await self.jobs.state(principal, job_id)
        return HistoryImportJob(
            job_id=state.job_id,
            status=state.status,
            dry_run=state.dry_run,
            total=state.records if state.records is not None else state.total,
            counts=HistorySectionCounts(
                **{s: HistoryCounts(**c) for s, c in state.counts.items()}
            ),
            error=state.error,
            created_at=state.created_at,
            updated_at=state.updated_at,
            finished_at=state.finished_at,
        )

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: HistoryOutcome | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> HistoryRecordPage:
        """A page of the job's per-record outcomes, in the document's order
        (sections in the order they are applied)."""
        items, cursor = await self.jobs.records(
            principal,
            job_id,
            outcome=outcome.value if outcome is not None else None,
            after=after,
            limit=limit,
        )
        return HistoryRecordPage(
            items=[
                HistoryRecord(
                    section=HistorySection(r.section),
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


__all__ = [
    "CHUNK_SIZE",
    "FINISHED",
    "MAX_RECORDS",
    "HistoryImportTooLarge",
    "HistoryImports",
    "IdempotencyKeyReused",
    "entry_of",
]
