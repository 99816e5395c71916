"""The import job runner: submit a batch, apply it chunk by chunk, report on it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.errors import (
    ConcurrencyConflict,
    NotFound,
    TandemError,
    ValidationFailed,
)
from chassis.events import encode
from chassis.http.problems import is_database_outage
from chassis.messaging.tracing import publish_span
from chassis.messaging.transport import OutboundMessage
from contracts.api.profiles import (
    Counts,
    ImportState,
    Progress,
    RecordError,
    RecordFailure,
    RecordPage,
)
from contracts.profiles import (
    ChangeSource,
    ImportCounts,
    ImportFinished,
    ImportFormat,
    ImportProgressed,
    ImportStatus,
    RecordOutcome,
)
from services.profiles.application import Profiles
from services.profiles.application.imports.chunks import (
    KNOWN_PEOPLE,
    Applied,
    ChunkWriter,
    listed,
)
from services.profiles.application.imports.errors import ImportTooLarge
from services.profiles.application.imports.jobs import (
    FINISHED,
    OUTCOMES,
    ImportJobs,
    Outcome,
    keyed,
)
from services.profiles.application.imports.plan import Known, Plan, known_of
from services.profiles.application.imports.records import (
    Record,
    Validator,
    failure_of,
)
from services.profiles.application.imports.source import (
    Fingerprint,
    ListSource,
    Raw,
    RecordSource,
)
from services.profiles.domain import access
from services.profiles.domain.person import PersonDetails
from services.profiles.projections.sealed import (
    KEY_BATCH,
    employee_index,
    open_rows,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000  # records applied in one transaction
ATTEMPTS = 3  # a chunk's transactions before it is applied record by record
TRIAGE_AHEAD = 3  # chunks triaged ahead of the one being written
PARALLELISM = 8  # record by record: people written at once, inside the pool
MAX_RECORDS = 100_000
STALE_AFTER = timedelta(minutes=2)  # a job this long without progress was orphaned
DETAIL_FIELDS = tuple(f.name for f in dataclasses.fields(PersonDetails))

FAILED = RecordOutcome.FAILED
# A failed record always carries its failure; a row without one reads as this.
_NO_ERROR = RecordFailure(code="InternalError", message="unexpected error", fields=[])

# An import that created at least this many people refreshes the planner's
# statistics of the tables imports read (``_refresh_statistics``).
ANALYZE_AFTER_CREATED = 1_000

# A triaged chunk: its records, the keys of its unchanged people, its blind indexes.
_Triaged = tuple[list[Record], dict[str, Any], dict[str, str]]

_NAMED = (
    "SELECT employee_index FROM people WHERE tenant = :t AND employee_index {in_ids}"
)
SOURCE = "tandem/profiles"  # the envelopes' source, as the relay publishes them


class _Announcer:
    """An import's progress published on the profiles topic (``ImportProgressed`` per
    chunk, ``ImportFinished`` at the end; counts only, never a record's content),
    keyed by the job so its events stay in order.

    Progress is live news, not history: it goes to the broker directly rather than
    through the event store (re-sending a batch still appends nothing there), and a
    broker that is away costs only the news - the job's report stays authoritative.
    """

    PUBLISH_TIMEOUT_S = 5.0

    def __init__(
        self,
        profiles: Profiles,
        principal: Principal,
        job_id: str,
        dry_run: bool,
        total: int,
    ) -> None:
        self.runtime = profiles.runtime
        self.metadata = profiles.metadata_for(principal)
        self.job_id = job_id
        self.dry_run = dry_run
        self.total = total
        self.version = 0

    async def __call__(
        self,
        status: ImportStatus,
        processed: int,
        counts: dict[RecordOutcome, int],
        error: str | None = None,
    ) -> None:
        common = {
            "job_id": self.job_id,
            "dry_run": self.dry_run,
            "processed": processed,
            "total": self.total,
            "counts": ImportCounts(**counts),
        }
        payload: ImportProgressed | ImportFinished = (
            ImportProgressed(**common)
            if status == ImportStatus.RUNNING
            else ImportFinished(**common, status=status, error=error)
        )
        self.version += 1
        event_id = str(uuid.uuid4())
        envelope = Envelope(
            id=event_id,
            source=SOURCE,
            type=payload.event_type,
            subject=f"import-{self.job_id}",
            time=datetime.now(UTC),
            data=encode(payload),
            tenant=self.metadata.tenant,
            stream_type="ImportJob",
            stream_version=self.version,
            actor=self.metadata.actor,
            correlation_id=self.metadata.correlation_id or event_id,
            traceparent=self.metadata.traceparent,
        )
        topic = self.runtime.topic
        try:
            with publish_span(envelope, topic) as (_span, trace_headers):
                message = OutboundMessage.of(topic, envelope, trace_headers)
                await asyncio.wait_for(
                    self.runtime.transport.publish([message]), self.PUBLISH_TIMEOUT_S
                )
        except Exception as exc:  # the broker is away: the report still tells
            log.warning("import %s: progress not published (%s)", self.job_id, exc)


def _iso(value: datetime | str | None) -> str | None:
    """A stored time as the report has always answered it (SQLite stores the text)."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


class Imports(ImportJobs):
    """Import jobs of one service process (jobs run as tasks of its event loop)."""

    def __init__(
        self,
        profiles: Profiles,
        *,
        chunk_size: int = CHUNK_SIZE,
        parallelism: int = PARALLELISM,
    ) -> None:
        super().__init__(profiles.engine, profiles.import_secret, profiles.cipher)
        self.profiles = profiles
        self.chunk_size = chunk_size
        self.parallelism = parallelism
        self.writer = ChunkWriter(profiles)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def stop(self) -> None:
        """Cancel running jobs at shutdown (they are marked failed when next read)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- commands --------------------------------------------------------------------

    async def submit(
        self,
        principal: Principal,
        people: Sequence[object] | RecordSource,
        *,
        source_format: ImportFormat,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:
        """Start an import job; ``(job id, replayed)`` - the same key, the same job.

        ``people``: the records, or a source reading them from a file a chunk at a
        time; the job owns the source from here (and closes it).
        """
        source = people if isinstance(people, RecordSource) else ListSource(people)
        try:
            job_id, replayed = await self._submit(
                principal, source, source_format, dry_run, idempotency_key
            )
        except BaseException:
            source.close()
            raise
        if replayed:
            source.close()
            return job_id, True
        task = asyncio.create_task(self._run(job_id, principal, source, dry_run))
        self._tasks[job_id] = task
        return job_id, False

    def fingerprint(self) -> Fingerprint:
        """What a source read from a file fingerprints its records with."""
        return Fingerprint(self.secret)

    async def _submit(
        self,
        principal: Principal,
        source: RecordSource,
        source_format: ImportFormat,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> tuple[str, bool]:
        access.require_provisioner(principal)
        if source.total > MAX_RECORDS:
            raise ImportTooLarge(
                f"{source.total} records; at most {MAX_RECORDS} per import",
                max_records=MAX_RECORDS,
            )
        digest = source.digest(dry_run, self.secret)

        async def earlier() -> str | None:  # read again only when a job needs it
            return await asyncio.to_thread(source.earlier_digest, dry_run, self.secret)

        if idempotency_key:
            replay = await self._replay(
                principal.tenant, idempotency_key, digest, earlier
            )
            if replay:
                return replay, True
        job_id = str(uuid.uuid4())
        now = self._now()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO import_jobs (job_id, tenant, idempotency_key, "
                        "fingerprint, actor, dry_run, source_format, status, total, "
                        "counts, created_at, updated_at) VALUES (:j, :t, :k, :f, :a, "
                        ":d, :fmt, 'queued', :n, :c, :now, :now)"
                    ),
                    {
                        "j": job_id,
                        "t": principal.tenant,
                        "k": idempotency_key
                        and keyed(self.secret, principal.tenant, idempotency_key),
                        "f": digest,
                        "a": principal.subject,
                        "d": int(dry_run),
                        "fmt": source_format,
                        "n": source.total,
                        "c": json.dumps(dict.fromkeys(OUTCOMES, 0)),
                        "now": now,
                    },
                )
        except IntegrityError:  # the same key, submitted concurrently
            replay = await self._replay(
                principal.tenant, idempotency_key or "", digest, earlier
            )
            if replay:
                return replay, True
            raise
        return job_id, False

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for a job this process runs to finish."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout_s)

    # -- the job ---------------------------------------------------------------------

    async def _run(
        self,
        job_id: str,
        principal: Principal,
        source: RecordSource,
        dry_run: bool,
    ) -> None:
        counts = dict.fromkeys(OUTCOMES, 0)
        announce = _Announcer(self.profiles, principal, job_id, dry_run, source.total)
        processed = 0
        try:
            running = ImportStatus.RUNNING
            await self._progress(job_id, principal.tenant, running, counts, 0, [])
            await announce(running, 0, counts)
            today = datetime.now(UTC).date()
            # Off the event loop: the plan reads the whole file (twice), for the
            # records of the managers the tenant does not have yet.
            managers = await asyncio.to_thread(
                Plan.managers_of, source, self.chunk_size
            )
            managers -= await self._people_named(principal.tenant, managers)
            plan = await asyncio.to_thread(
                Plan.scan, source, self.chunk_size, today, managers
            )
            check = Validator(today, plan.validated)
            # Chunks are triaged (read, and checked in file order) up to
            # ``TRIAGE_AHEAD`` ahead of the one being written, each look-up on a
            # connection of its own: the service's work fills the time a chunk's
            # writes wait for the database, and the database's the time the
            # service checks records. What a chunk writes cannot make a later
            # chunk's record unchanged: a person it changes appears again only as
            # a repeated employee id, and a manager it registers is not found by
            # the triage, so the record is compared in full, when its own chunk is
            # written.
            chunks = source.raw_chunks(self.chunk_size)
            ahead: deque[asyncio.Task[_Triaged]] = deque()
            first_row = 1

            def triage_next() -> None:
                nonlocal first_row
                raws = next(chunks, None)
                if raws is not None:
                    after = ahead[-1] if ahead else None
                    ahead.append(
                        self._triage(principal.tenant, raws, first_row, check, after)
                    )
                    first_row += len(raws)

            try:
                for _ in range(TRIAGE_AHEAD):
                    triage_next()
                while ahead:
                    chunk, keys, indexes = await ahead.popleft()
                    processed += len(chunk)
                    triage_next()
                    await self._write(
                        job_id, principal, chunk, plan, dry_run, counts, keys, indexes
                    )
                    await announce(running, processed, counts)
            finally:
                for task in ahead:
                    task.cancel()
                await asyncio.gather(*ahead, return_exceptions=True)
            if not dry_run and counts[RecordOutcome.CREATED] >= ANALYZE_AFTER_CREATED:
                await self._refresh_statistics(job_id)
            done = ImportStatus.SUCCEEDED
            await self._progress(job_id, principal.tenant, done, counts, processed, [])
            await announce(done, processed, counts)
        except Exception as exc:
            log.exception("import job %s stopped", job_id)
            reason = (
                "the database became unavailable"
                if is_database_outage(exc)
                else "an unexpected error stopped the import"
            )
            error = f"{reason}; submit it again (it is idempotent)"
            try:
                await self._fail(job_id, error)
            except Exception:
                log.exception("could not record the failure of import job %s", job_id)
            await announce(ImportStatus.FAILED, processed, counts, error)
        finally:
            source.close()
            self._tasks.pop(job_id, None)

    def _triage(
        self,
        tenant: str,
        raws: list[Raw],
        first_row: int,
        check: Validator,
        after: asyncio.Task[_Triaged] | None,
    ) -> asyncio.Task[_Triaged]:
        """A task triaging a chunk: its look-up (``ChunkWriter.look_up``) at once, on
        a connection of its own (given back before it waits), then, once the chunk
        before it (``after``) is sorted, its records (``ChunkWriter.sort``), in file
        order."""

        async def triage() -> _Triaged:
            async with self.engine.connect() as conn:
                named, rows = await self.writer.look_up(conn, tenant, raws)
            if after is not None:
                await asyncio.wait({after})
                if after.cancelled() or after.exception() is not None:
                    raise RuntimeError("the chunk before this one was not triaged")
            return self.writer.sort(tenant, raws, first_row, check, named, rows)

        return asyncio.create_task(triage())

    async def _refresh_statistics(self, job_id: str) -> None:
        """``ANALYZE`` the tables an import reads, after it created many people.

        PostgreSQL's planner reads a table's size and values from statistics that
        autovacuum refreshes only some time after a bulk load. Until then it plans
        for the table as it was: after a first import into an empty organisation,
        the next import's look-ups by blind index were planned as scans of a "small"
        table, each comparing every row with a thousand ids (measured: 25 s of a
        100,000-person re-import waiting on 9 such statements; 0.04 s once the
        statistics are current). Refreshing them is what a bulk load is followed by;
        a failure only leaves them to autovacuum."""
        if is_sqlite(self.engine):
            return
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("ANALYZE people, import_records"))
                await conn.commit()
        except Exception as exc:  # the import itself has succeeded
            log.warning("import %s: statistics not refreshed (%s)", job_id, exc)

    async def _people_named(self, tenant: str, employee_ids: set[str]) -> set[str]:
        """Those of ``employee_ids`` the tenant has as people (by blind index), a
        ``KEY_BATCH`` at a time."""
        wanted = sorted(employee_ids)
        found: set[str] = set()
        async with self.engine.connect() as conn:
            query = listed(conn, _NAMED)
            for start in range(0, len(wanted), KEY_BATCH):
                batch = {
                    employee_index(self.cipher, tenant, e): e
                    for e in wanted[start : start + KEY_BATCH]
                }
                rows = await conn.execute(query, {"t": tenant, "ids": list(batch)})
                found.update(batch[r.employee_index] for r in rows)
        return found

    async def _write(
        self,
        job_id: str,
        principal: Principal,
        chunk: list[Record],
        plan: Plan,
        dry_run: bool,
        counts: dict[RecordOutcome, int],
        keys: dict[str, Any] | None = None,
        indexes: dict[str, str] | None = None,
    ) -> None:
        """Apply a chunk and record its outcomes and the job's progress in one
        transaction. A concurrent writer that wins a race with it (the same person
        registered meanwhile) rolls it back; it is tried again fresh, and after
        ``ATTEMPTS`` record by record, each record in a transaction of its own."""
        tenant, running = principal.tenant, ImportStatus.RUNNING
        processed = chunk[-1].row if chunk else 0
        for attempt in range(1, ATTEMPTS + 1):
            tally = dict(counts)
            try:
                async with self.engine.begin() as conn:
                    applied = await self._apply_chunk(
                        principal, chunk, plan, dry_run, conn=conn, keys=keys
                    )
                    for o in applied.outcomes:
                        tally[o.outcome] += 1
                    await self._progress(
                        job_id,
                        tenant,
                        running,
                        tally,
                        processed,
                        applied.outcomes,
                        conn=conn,
                        keys=applied.keys,
                        indexes=indexes,
                    )
            except (ConcurrencyConflict, IntegrityError) as exc:
                log.info(
                    "import %s: chunk attempt %d lost a race (%s)", job_id, attempt, exc
                )
                continue
            counts.update(tally)
            if applied.events:
                for listener in self.profiles.people.on_saved:
                    listener(applied.events)
            return
        outcomes = await self._apply_one_by_one(principal, chunk, plan, dry_run)
        for o in outcomes:
            counts[o.outcome] += 1
        await self._progress(job_id, tenant, running, counts, processed, outcomes)

    async def _apply_chunk(
        self,
        principal: Principal,
        chunk: list[Record],
        plan: Plan,
        dry_run: bool,
        *,
        conn: AsyncConnection,
        keys: dict[str, Any] | None = None,
    ) -> Applied:
        """A chunk applied in the caller's transaction (``ChunkWriter``); ``keys``:
        those of the people its unchanged records are about."""
        return await self.writer.apply(conn, principal, chunk, plan, dry_run, keys)

    # -- record by record: the way out of a chunk that keeps losing races -----------

    async def _apply_one_by_one(
        self, principal: Principal, chunk: list[Record], plan: Plan, dry_run: bool
    ) -> list[Outcome]:
        wanted = set()
        for rec in chunk:
            if rec.unchanged is not None:
                continue
            if rec.employee_id is not None:  # a failed record's too: whom it is about
                wanted.add(rec.employee_id)
            if rec.error is None and rec.manager_employee_id:
                wanted.add(rec.manager_employee_id)
        known = await self._known(principal.tenant, wanted)
        gate = asyncio.Semaphore(self.parallelism)

        async def one(rec: Record) -> Outcome:
            async with gate:
                return await self._apply(principal, rec, known, plan, dry_run)

        results = await asyncio.gather(*(one(r) for r in chunk), return_exceptions=True)
        outcomes = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            about = known.get(result.employee_id) if result.employee_id else None
            result.owner_id = result.person_id or (about.person_id if about else None)
            outcomes.append(result)
        return outcomes

    async def _known(self, tenant: str, employee_ids: set[str]) -> dict[str, Known]:
        """The tenant's people with these employee ids (found by blind index), in two
        queries per chunk: the rows, then their keys."""
        if not employee_ids:
            return {}
        wanted = {employee_index(self.cipher, tenant, e): e for e in employee_ids}
        async with self.engine.connect() as conn:
            query = listed(conn, KNOWN_PEOPLE)
            rows = (await conn.execute(query, {"t": tenant, "ids": list(wanted)})).all()
            opened = await open_rows(self.cipher, conn, rows)
        return {wanted[r.employee_index]: known_of(r) for r in opened}

    async def _apply(
        self,
        principal: Principal,
        rec: Record,
        known: dict[str, Known],
        plan: Plan,
        dry_run: bool,
    ) -> Outcome:
        if rec.unchanged is not None:  # as last imported (its digest says so)
            outcome = RecordOutcome.UNCHANGED
            return Outcome(rec.row, rec.employee_id, outcome, rec.unchanged, [])
        if rec.error is not None or rec.details is None or rec.employee_id is None:
            return Outcome(rec.row, rec.employee_id, FAILED, error=rec.error)
        try:
            manager_id = plan.manager(rec.manager_employee_id, known)
        except ValidationFailed as exc:
            return Outcome(rec.row, rec.employee_id, FAILED, error=failure_of(exc))
        details = dataclasses.replace(rec.details, manager_id=manager_id)
        # A manager this import registers (perhaps later in the file) is not yet a
        # person: the plan checked that reference; the command checks every other.
        joining = manager_id is not None and rec.manager_employee_id not in known
        person = known.get(rec.employee_id)
        try:
            if person is None:
                if rec.leaving:  # a leaver Tandem never knew: nothing to register
                    return Outcome(rec.row, rec.employee_id, RecordOutcome.SKIPPED)
                person_id = plan.person_id(rec.employee_id)
                if not dry_run:
                    await self.profiles.register(
                        principal,
                        details,
                        rec.roles or [],
                        person_id=person_id,
                        manager_joining=joining,
                    )
                return Outcome(
                    rec.row,
                    rec.employee_id,
                    RecordOutcome.CREATED,
                    None if dry_run else person_id,
                )
            changes = [
                name
                for name in DETAIL_FIELDS
                if getattr(details, name) != getattr(person.details, name)
            ]
            new_roles = rec.roles is not None and rec.roles != sorted(person.roles)
            leaves = rec.leaving and person.active
            if not dry_run:
                pid = person.person_id
                if changes:
                    await self.profiles.update_details(
                        principal,
                        pid,
                        details,
                        source=ChangeSource.HRIS,
                        effective_on=rec.effective_on,
                        manager_joining=joining,
                    )
                if new_roles:
                    await self.profiles.change_roles(principal, pid, rec.roles or [])
                if leaves:
                    await self.profiles.deactivate(
                        principal,
                        pid,
                        "departure",
                        effective_on=rec.termination_date,
                    )
        except TandemError as exc:
            return Outcome(rec.row, rec.employee_id, FAILED, error=failure_of(exc))
        except Exception as exc:
            if is_database_outage(exc):
                raise
            log.exception("import of row %s failed", rec.row)
            error = RecordFailure(
                code="InternalError", message="unexpected error", fields=[]
            )
            return Outcome(rec.row, rec.employee_id, FAILED, error=error)
        changes += ["roles"] * new_roles + ["status"] * leaves
        outcome = (
            RecordOutcome.DEACTIVATED
            if leaves
            else RecordOutcome.UPDATED
            if changes
            else RecordOutcome.UNCHANGED
        )
        return Outcome(rec.row, rec.employee_id, outcome, person.person_id, changes)

    # -- queries ---------------------------------------------------------------------

    async def report(
        self,
        principal: Principal,
        job_id: str,
        *,
        errors_after: int = 0,
        error_limit: int = 100,
    ) -> ImportState:
        """The job's state, counts and a page of its failed records (by row)."""
        job = await self._job(principal, job_id)
        page = await self._records(job_id, FAILED, errors_after, error_limit)
        return _state(job, page)

    async def reports(
        self, principal: Principal, job_ids: Sequence[str], *, error_limit: int
    ) -> list[ImportState]:
        """Several jobs' states, in the order asked, each with its first
        ``error_limit`` failed records; unknown jobs and other organisations' are
        left out. Two statements (jobs, then their failed records), whatever the
        number of jobs."""
        access.require_provisioner(principal)
        wanted = list(dict.fromkeys(job_ids))
        if not wanted:
            return []
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT * FROM import_jobs WHERE tenant = :t AND job_id IN :j"
                    ).bindparams(bindparam("j", expanding=True)),
                    {"t": principal.tenant, "j": wanted},
                )
            ).all()
        jobs = {}
        for job in rows:  # a job whose process stopped is failed first (rare)
            jobs[job.job_id] = (
                await self._job(principal, job.job_id) if self._orphaned(job) else job
            )
        pages = await self._first_records(list(jobs), FAILED, error_limit)
        empty = RecordPage(items=[], next=None)
        return [_state(jobs[j], pages.get(j, empty)) for j in wanted if j in jobs]

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: RecordOutcome | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> RecordPage:
        """A page of the job's per-record outcomes in row order."""
        await self._job(principal, job_id)
        return await self._records(job_id, outcome, after, limit)

    async def _job(self, principal: Principal, job_id: str) -> Row[Any]:
        access.require_provisioner(principal)
        for _ in range(2):
            async with self.engine.connect() as conn:
                job = (
                    await conn.execute(
                        text(
                            "SELECT * FROM import_jobs WHERE job_id = :j AND tenant = :t"
                        ),
                        {"j": job_id, "t": principal.tenant},
                    )
                ).first()
            if job is None:
                raise NotFound(f"import {job_id} not found")
            if not self._orphaned(job):
                return job
            await self._fail(
                job_id,
                "the process running this import stopped; submit it again "
                "(it is idempotent)",
                seen=job.updated_at,
            )
        assert job is not None  # the loop ran; the job is read as it was last seen
        return job

    def _orphaned(self, job: Row[Any]) -> bool:
        if job.status in FINISHED or job.job_id in self._tasks:
            return False
        seen = job.updated_at
        if isinstance(seen, str):
            seen = datetime.fromisoformat(seen)
        return datetime.now(UTC) - seen > STALE_AFTER


def _state(job: Row[Any], page: RecordPage) -> ImportState:
    """A job's row and a page of its failed records as the report shows them."""
    return ImportState(
        job_id=job.job_id,
        status=job.status,
        dry_run=bool(job.dry_run),
        format=job.source_format,
        progress=Progress(processed=job.processed, total=job.total),
        counts=Counts.model_validate_json(job.counts),
        errors=[
            RecordError(
                row=r.row,
                employee_id=r.employee_id,
                **(r.error or _NO_ERROR).model_dump(),
            )
            for r in page.items
        ],
        errors_next=page.next,
        error=job.error,
        created_at=_iso(job.created_at) or "",
        updated_at=_iso(job.updated_at) or "",
        finished_at=_iso(job.finished_at),
    )
