"""History import jobs: submitted once per idempotency key, run in the background
section by section and chunk by chunk, reported from the service's own tables (the
report outlives the request, and the process, that started the job)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.db import is_sqlite
from chassis.errors import ConcurrencyConflict, NotFound, TandemError
from chassis.http.problems import is_database_outage
from chassis.runtime import ServiceRuntime
from contracts.api.sessions import (
    HistoryCounts,
    HistoryImportJob,
    HistoryJobStatus,
    HistoryOutcome,
    HistoryRecord,
    HistoryRecordError,
    HistoryRecordPage,
    HistorySection,
    HistorySectionCounts,
)
from services.sessions.application.history.records import SECTIONS, Outcome
from services.sessions.application.history.writer import HistoryWriter, Memory

log = logging.getLogger(__name__)

CHUNK_SIZE = 500  # records decided and saved in one transaction
ATTEMPTS = 3  # a chunk's transactions before the job gives up (it can be re-sent)
MAX_RECORDS = 50_000
STALE_AFTER = timedelta(minutes=2)  # a job this long without progress was orphaned
FINISHED = (HistoryJobStatus.SUCCEEDED, HistoryJobStatus.FAILED)
IMPORTERS = (Role.ADMIN, Role.COORDINATOR)
Document = Mapping[HistorySection, Sequence[object]]
Counts = dict[str, dict[str, int]]


class HistoryImportTooLarge(TandemError):
    code = "HistoryImportTooLarge"
    status = 413
    title = "History import too large"


class IdempotencyKeyReused(TandemError):
    code = "IdempotencyKeyReused"
    status = 422
    title = "Idempotency key reused for a different import"


def _zero() -> Counts:
    return {s.value: dict.fromkeys(HistoryOutcome, 0) for s in SECTIONS}


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
        self.engine: AsyncEngine = runtime.engine
        self.writer = writer
        self.secret = secret
        self.chunk_size = chunk_size
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sqlite = is_sqlite(self.engine)

    def _now(self) -> datetime | str:
        now = datetime.now(UTC)
        return now.isoformat() if self._sqlite else now

    # -- commands --------------------------------------------------------------------

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
        """Start a job; ``(job id, replayed)``: the same key, the same job."""
        principal.require(*IMPORTERS)
        total = sum(len(document.get(s, ())) for s in SECTIONS)
        if total > MAX_RECORDS:
            raise HistoryImportTooLarge(
                f"{total} records; at most {MAX_RECORDS} per import",
                max_records=MAX_RECORDS,
            )
        digest = self._fingerprint(document, dry_run)
        if idempotency_key:
            replay = await self._replay(principal.tenant, idempotency_key, digest)
            if replay:
                return replay, True
        job_id = str(uuid.uuid4())
        now = self._now()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO history_import_jobs (job_id, tenant, "
                        "idempotency_key, fingerprint, actor, dry_run, status, total, "
                        "counts, created_at, updated_at) VALUES (:j, :t, :k, :f, :a, "
                        ":d, 'queued', :n, :c, :now, :now)"
                    ),
                    {
                        "j": job_id,
                        "t": principal.tenant,
                        "k": idempotency_key
                        and self._keyed(principal.tenant, idempotency_key),
                        "f": digest,
                        "a": principal.subject,
                        "d": int(dry_run),
                        "n": total,
                        "c": json.dumps(_zero()),
                        "now": now,
                    },
                )
        except IntegrityError:  # the same key, submitted concurrently
            replay = await self._replay(principal.tenant, idempotency_key or "", digest)
            if replay:
                return replay, True
            raise
        task = asyncio.create_task(self._run(job_id, principal, document, dry_run))
        self._tasks[job_id] = task
        return job_id, False

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for a job this process runs to finish."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout_s)

    async def stop(self) -> None:
        """Cancel running jobs at shutdown (they read as failed once stale)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _fingerprint(self, document: Document, dry_run: bool) -> str:
        """What an idempotency key promises: the same records, the same mode."""
        doc = json.dumps(
            [{s.value: document.get(s, []) for s in SECTIONS}, dry_run],
            sort_keys=True,
            default=str,
        )
        return hmac.new(self.secret, doc.encode(), hashlib.sha256).hexdigest()

    def _keyed(self, tenant: str, idempotency_key: str) -> str:
        """The stored form of a client's Idempotency-Key: a keyed hash."""
        message = f"history\x00{tenant}\x00{idempotency_key}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    async def _replay(self, tenant: str, key: str, digest: str) -> str | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT job_id, fingerprint FROM history_import_jobs "
                        "WHERE tenant = :t AND idempotency_key = :k"
                    ),
                    {"t": tenant, "k": self._keyed(tenant, key)},
                )
            ).first()
        if row is None:
            return None
        if row.fingerprint != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different import; use a new key",
                job_id=row.job_id,
            )
        return str(row.job_id)

    # -- the job ---------------------------------------------------------------------

    async def _run(
        self, job_id: str, principal: Principal, document: Document, dry_run: bool
    ) -> None:
        counts = _zero()
        memory = Memory()
        try:
            await self._status(job_id, HistoryJobStatus.RUNNING, counts)
            no = 0
            for section in SECTIONS:
                items = list(document.get(section, ()))
                for start in range(0, len(items), self.chunk_size):
                    chunk = [
                        (no + n, raw)
                        for n, raw in enumerate(
                            items[start : start + self.chunk_size], 1
                        )
                    ]
                    no += len(chunk)
                    await self._chunk(
                        job_id, principal, section, chunk, memory, counts, dry_run
                    )
            await self._status(job_id, HistoryJobStatus.SUCCEEDED, counts)
        except Exception as exc:
            log.exception("history import %s stopped", job_id)
            reason = (
                "the database became unavailable"
                if is_database_outage(exc)
                else "an unexpected error stopped the import"
            )
            try:
                await self._fail(
                    job_id, f"{reason}; submit it again (it is idempotent)"
                )
            except Exception:
                log.exception(
                    "could not record the failure of history import %s", job_id
                )
        finally:
            self._tasks.pop(job_id, None)

    async def _chunk(
        self,
        job_id: str,
        principal: Principal,
        section: HistorySection,
        chunk: list[tuple[int, object]],
        memory: Memory,
        counts: Counts,
        dry_run: bool,
    ) -> None:
        """A chunk applied, its outcomes and the job's counts recorded, in one
        transaction; tried again fresh when a concurrent writer won a race."""
        for attempt in range(1, ATTEMPTS + 1):
            tally = {s: dict(c) for s, c in counts.items()}
            try:
                async with self.engine.begin() as conn:
                    applied = await self.writer.apply(
                        conn,
                        principal,
                        section,
                        chunk,
                        memory,
                        job_id=job_id,
                        dry_run=dry_run,
                    )
                    for o in applied.outcomes:
                        tally[section.value][o.outcome] += 1
                    await self._record(conn, job_id, principal.tenant, applied.outcomes)
                    await self._counts(conn, job_id, HistoryJobStatus.RUNNING, tally)
            except (ConcurrencyConflict, IntegrityError) as exc:
                if attempt == ATTEMPTS:
                    raise
                log.info("history import %s: chunk lost a race (%s)", job_id, exc)
                continue
            counts.update(tally)
            learned = applied.learned
            memory.ledger.update(learned.ledger)
            memory.subjects.update(learned.subjects)
            memory.feedback_ids.update(learned.feedback_ids)
            memory.relationships.update(learned.relationships)
            if applied.events:
                self.runtime.relay.notify()
            return

    async def _record(
        self,
        conn: AsyncConnection,
        job_id: str,
        tenant: str,
        outcomes: Sequence[Outcome],
    ) -> None:
        rows = [
            {
                "j": job_id,
                "n": o.no,
                "t": tenant,
                "s": o.section.value,
                "k": o.key,
                "o": o.outcome.value,
                "e": o.entity_id,
                "x": o.error.model_dump_json() if o.error else None,
            }
            for o in outcomes
        ]
        if rows:
            await conn.execute(
                text(
                    "INSERT INTO history_import_records (job_id, record_no, tenant, "
                    "section, record_key, outcome, entity_id, error) "
                    "VALUES (:j, :n, :t, :s, :k, :o, :e, :x)"
                ),
                rows,
            )

    async def _counts(
        self,
        conn: AsyncConnection,
        job_id: str,
        status: HistoryJobStatus,
        counts: Counts,
    ) -> None:
        now = self._now()
        await conn.execute(
            text(
                "UPDATE history_import_jobs SET status = :s, counts = :c, "
                "updated_at = :now, finished_at = :fin WHERE job_id = :j"
            ),
            {
                "s": status.value,
                "c": json.dumps(counts),
                "now": now,
                "fin": now if status in FINISHED else None,
                "j": job_id,
            },
        )

    async def _status(
        self, job_id: str, status: HistoryJobStatus, counts: Counts
    ) -> None:
        async with self.engine.begin() as conn:
            await self._counts(conn, job_id, status, counts)

    async def _fail(
        self, job_id: str, reason: str, *, seen: datetime | str | None = None
    ) -> None:
        now = self._now()
        guard = " AND updated_at = :seen" if seen is not None else ""
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE history_import_jobs SET status = 'failed', error = :e, "
                    "updated_at = :now, finished_at = :now WHERE job_id = :j "
                    f"AND status IN ('queued', 'running'){guard}"
                ),
                {"e": reason, "now": now, "j": job_id, "seen": seen},
            )

    # -- queries ---------------------------------------------------------------------

    async def job(self, principal: Principal, job_id: str) -> HistoryImportJob:
        """The job's status and counts per section."""
        row = await self._job(principal, job_id)
        counts = json.loads(row.counts)
        return HistoryImportJob(
            job_id=row.job_id,
            status=row.status,
            dry_run=bool(row.dry_run),
            total=row.total,
            counts=HistorySectionCounts(
                **{s: HistoryCounts(**counts[s]) for s in counts}
            ),
            error=row.error,
            created_at=_iso(row.created_at),
            updated_at=_iso(row.updated_at),
            finished_at=_iso(row.finished_at) if row.finished_at else None,
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
        await self._job(principal, job_id)
        where = "job_id = :j AND record_no > :after"
        params: dict[str, Any] = {"j": job_id, "after": after, "n": limit + 1}
        if outcome is not None:
            where += " AND outcome = :o"
            params["o"] = outcome.value
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT record_no, section, record_key, outcome, entity_id, "
                        f"error FROM history_import_records WHERE {where} "
                        "ORDER BY record_no LIMIT :n"
                    ),
                    params,
                )
            ).all()
        shown = rows[:limit]
        return HistoryRecordPage(
            items=[
                HistoryRecord(
                    section=r.section,
                    key=r.record_key,
                    outcome=r.outcome,
                    error=HistoryRecordError.model_validate_json(r.error)
                    if r.error
                    else None,
                    id=r.entity_id,
                )
                for r in shown
            ],
            next=shown[-1].record_no if len(rows) > limit else None,
        )

    async def _job(self, principal: Principal, job_id: str) -> Row[Any]:
        principal.require(*IMPORTERS)
        for _ in range(2):
            async with self.engine.connect() as conn:
                job = (
                    await conn.execute(
                        text(
                            "SELECT * FROM history_import_jobs "
                            "WHERE job_id = :j AND tenant = :t"
                        ),
                        {"j": job_id, "t": principal.tenant},
                    )
                ).first()
            if job is None:
                raise NotFound(f"history import {job_id} not found")
            if not self._orphaned(job):
                return job
            await self._fail(
                job_id,
                "the process running this import stopped; submit it again "
                "(it is idempotent)",
                seen=job.updated_at,
            )
        assert job is not None
        return job

    def _orphaned(self, job: Row[Any]) -> bool:
        if job.status in FINISHED or job.job_id in self._tasks:
            return False
        seen = job.updated_at
        if isinstance(seen, str):
            seen = datetime.fromisoformat(seen)
        return bool(datetime.now(UTC) - seen > STALE_AFTER)


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
