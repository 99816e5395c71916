"""Bulk import of people from an HRIS export (Workday, SuccessFactors, BambooHR).

An import is a job. ``Imports.submit`` records it (once per idempotency key) and runs it
in the background. Every record is checked first - its shape, then the domain's own
rules - so a dry run can say what would happen without writing anything. The valid
records are then applied chunk by chunk, each person through the ordinary ``Profiles``
commands: a new employee is registered, a changed one updated (the domain turns a level
or title change into a career outcome), a leaver deactivated with reason "departure".
A record that matches the person as they are appends nothing, so re-sending a batch
is harmless. Progress, counts and per-record outcomes are kept in the service's own
tables, so the report outlives the request that started the job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as ShapeError
from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.errors import FieldError, NotFound, TandemError, ValidationFailed
from chassis.http.problems import is_database_outage
from contracts.profiles import ProgrammeRole
from services.profiles import access
from services.profiles.application import Profiles
from services.profiles.domain.person import PersonDetails, check_roles
from services.profiles.projections import PERSON_COLUMNS

log = logging.getLogger(__name__)

CHUNK_SIZE = 500
PARALLELISM = 8  # people written at once; well inside the engine's connection pool
MAX_RECORDS = 100_000
STALE_AFTER = timedelta(minutes=2)  # a job this long without progress was orphaned
OUTCOMES = ("created", "updated", "unchanged", "deactivated", "skipped", "failed")
FINISHED = ("succeeded", "failed")
DETAIL_FIELDS = tuple(f.name for f in dataclasses.fields(PersonDetails))


class ImportTooLarge(TandemError):
    code = "ImportTooLarge"
    status = 413
    title = "Import too large"


class UnreadableImport(TandemError):
    """The body could not be read as JSON or CSV at all (nothing was imported)."""

    code = "UnreadableImport"
    status = 422
    title = "Import could not be read"


class IdempotencyKeyReused(TandemError):
    code = "IdempotencyKeyReused"
    status = 422
    title = "Idempotency key reused for a different import"


class HrisRecord(BaseModel):
    """One person as an HRIS exports them (CSV columns carry the same names)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    employee_id: str = Field(min_length=1, max_length=100)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    level: int
    business_unit: str = Field(max_length=200)
    function: str = Field(max_length=200)
    geography: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    time_zone: str = Field(max_length=64, description="IANA time zone")
    title: str | None = Field(None, max_length=200)
    manager_employee_id: str | None = Field(None, max_length=100)
    hire_date: date | None = None
    languages: list[str] = Field(default_factory=list)
    roles: list[ProgrammeRole] | None = Field(
        None, description="Programme roles; left as they are when absent"
    )
    active: bool = True
    termination_date: date | None = None
    effective_on: date | None = Field(
        None, description="When a level or title change took effect"
    )

    @field_validator("geography")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


RECORD_FIELDS = frozenset(HrisRecord.model_fields)


@dataclass
class Record:
    """A record after validation: what to apply, or why it cannot be."""

    row: int
    employee_id: str | None
    details: PersonDetails | None = None
    manager_employee_id: str | None = None
    roles: list[str] | None = None
    leaving: bool = False
    effective_on: date | None = None
    termination_date: date | None = None
    error: dict[str, Any] | None = None


@dataclass
class Outcome:
    row: int
    employee_id: str | None
    outcome: str
    person_id: str | None = None
    changes: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Known:
    """A person the tenant already has, as the current-state table holds them."""

    person_id: str
    active: bool
    roles: list[str]
    details: PersonDetails


def _failure(error: TandemError) -> dict[str, Any]:
    fields = error.errors if isinstance(error, ValidationFailed) else []
    return {
        "code": error.code,
        "message": error.detail,
        "fields": [f.as_dict() for f in fields],
    }


def _invalid(path: str, message: str) -> dict[str, Any]:
    return _failure(ValidationFailed([FieldError(path, message)]))


def validate(item: Any, row: int, today: date) -> Record:
    """Check one raw record: shape first, then the domain's rules for a person."""
    employee_id = item.get("employee_id") if isinstance(item, dict) else None
    employee_id = str(employee_id).strip() if employee_id is not None else None
    try:
        rec = HrisRecord.model_validate(item)
    except ShapeError as exc:
        problems = [
            FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
            for e in exc.errors()
        ]
        return Record(row, employee_id, error=_failure(ValidationFailed(problems)))
    details = PersonDetails(
        given_name=rec.given_name,
        family_name=rec.family_name,
        email=rec.email,
        level=rec.level,
        business_unit=rec.business_unit,
        function=rec.function,
        geography=rec.geography,
        time_zone=rec.time_zone,
        employee_id=rec.employee_id,
        title=rec.title or None,
        hire_date=rec.hire_date,
        languages=tuple(rec.languages),
    )
    problems = []
    try:
        details.validated()
    except ValidationFailed as exc:
        problems.extend(exc.errors)
    if rec.manager_employee_id == rec.employee_id:
        problems.append(
            FieldError("manager_employee_id", "a person cannot be their own manager")
        )
    if problems:
        return Record(row, rec.employee_id, error=_failure(ValidationFailed(problems)))
    leaving = not rec.active or (
        rec.termination_date is not None and rec.termination_date <= today
    )
    return Record(
        row,
        rec.employee_id,
        details=details,
        manager_employee_id=rec.manager_employee_id or None,
        roles=check_roles(list(rec.roles)) if rec.roles is not None else None,
        leaving=leaving,
        effective_on=rec.effective_on,
        termination_date=rec.termination_date,
    )


def validate_all(people: list[Any], today: date) -> list[Record]:
    """Every record checked; a repeated employee id fails after its first record."""
    records = []
    first_row: dict[str, int] = {}
    for row, item in enumerate(people, start=1):
        rec = validate(item, row, today)
        if rec.error is None and rec.employee_id is not None:
            first = first_row.setdefault(rec.employee_id, row)
            if first != row:
                rec.error = _invalid(
                    "employee_id",
                    f"appears again in this import (first at row {first})",
                )
        records.append(rec)
    return records


def fingerprint(people: list[Any], dry_run: bool) -> str:
    """What an idempotency key promises: the same records, the same mode."""
    doc = json.dumps([people, dry_run], sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()


def _schema(sqlite: bool) -> list[str]:
    stamp = "TEXT" if sqlite else "TIMESTAMPTZ"
    return [
        f"""
        CREATE TABLE IF NOT EXISTS import_jobs (
            job_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            idempotency_key TEXT,
            fingerprint TEXT NOT NULL,
            actor TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            source_format TEXT NOT NULL,
            status TEXT NOT NULL,
            total INTEGER NOT NULL,
            processed INTEGER NOT NULL DEFAULT 0,
            counts TEXT NOT NULL,
            error TEXT,
            created_at {stamp} NOT NULL,
            updated_at {stamp} NOT NULL,
            finished_at {stamp}
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS import_jobs_key "
        "ON import_jobs (tenant, idempotency_key)",
        """
        CREATE TABLE IF NOT EXISTS import_records (
            job_id TEXT NOT NULL,
            record_no INTEGER NOT NULL,
            tenant TEXT NOT NULL,
            employee_id TEXT,
            outcome TEXT NOT NULL,
            person_id TEXT,
            changes TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            PRIMARY KEY (job_id, record_no)
        )
        """,
    ]


def _known(row: Any) -> Known:
    details = PersonDetails(
        given_name=row.given_name or "",
        family_name=row.family_name or "",
        email=row.email or "",
        level=row.level,
        business_unit=row.business_unit,
        function=row.function,
        geography=row.geography,
        time_zone=row.time_zone,
        employee_id=row.employee_id,
        title=row.title,
        manager_id=row.manager_id,
        hire_date=date.fromisoformat(row.hire_date) if row.hire_date else None,
        languages=tuple(json.loads(row.languages)),
    )
    return Known(row.person_id, row.status == "active", json.loads(row.roles), details)


def _iso(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


class Imports:
    """Import jobs of one service process (jobs run as tasks of its event loop)."""

    def __init__(
        self,
        profiles: Profiles,
        *,
        chunk_size: int = CHUNK_SIZE,
        parallelism: int = PARALLELISM,
    ) -> None:
        self.profiles = profiles
        self.engine = profiles.engine
        self.chunk_size = chunk_size
        self.parallelism = parallelism
        self._sqlite = is_sqlite(self.engine)
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def stop(self) -> None:
        """Cancel running jobs at shutdown (they are marked failed when next read)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _prepare(self) -> None:
        async with self._ready_lock:
            if self._ready:
                return
            async with self.engine.begin() as conn:
                if not self._sqlite:
                    await conn.execute(text("SELECT pg_advisory_xact_lock(7264101)"))
                for ddl in _schema(self._sqlite):
                    await conn.execute(text(ddl))
            self._ready = True

    def _now(self) -> Any:
        now = datetime.now(UTC)
        return now.isoformat() if self._sqlite else now

    # -- commands --------------------------------------------------------------------

    async def submit(
        self,
        principal: Principal,
        people: list[Any],
        *,
        source_format: str,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:
        """Start an import job; ``(job id, replayed)`` - the same key, the same job."""
        access.require_provisioner(principal)
        if len(people) > MAX_RECORDS:
            raise ImportTooLarge(
                f"{len(people)} records; at most {MAX_RECORDS} per import",
                max_records=MAX_RECORDS,
            )
        await self._prepare()
        digest = fingerprint(people, dry_run)
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
                        "INSERT INTO import_jobs (job_id, tenant, idempotency_key, "
                        "fingerprint, actor, dry_run, source_format, status, total, "
                        "counts, created_at, updated_at) VALUES (:j, :t, :k, :f, :a, "
                        ":d, :fmt, 'queued', :n, :c, :now, :now)"
                    ),
                    {
                        "j": job_id,
                        "t": principal.tenant,
                        "k": idempotency_key,
                        "f": digest,
                        "a": principal.subject,
                        "d": int(dry_run),
                        "fmt": source_format,
                        "n": len(people),
                        "c": json.dumps(dict.fromkeys(OUTCOMES, 0)),
                        "now": now,
                    },
                )
        except IntegrityError:  # the same key, submitted concurrently
            replay = await self._replay(principal.tenant, idempotency_key or "", digest)
            if replay:
                return replay, True
            raise
        task = asyncio.create_task(self._run(job_id, principal, people, dry_run))
        self._tasks[job_id] = task
        return job_id, False

    async def _replay(self, tenant: str, key: str, digest: str) -> str | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT job_id, fingerprint FROM import_jobs "
                        "WHERE tenant = :t AND idempotency_key = :k"
                    ),
                    {"t": tenant, "k": key},
                )
            ).first()
        if row is None:
            return None
        if row.fingerprint != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different import; use a new key",
                job_id=row.job_id,
            )
        return row.job_id

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for a job this process runs to finish."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout_s)

    # -- the job ---------------------------------------------------------------------

    async def _run(
        self, job_id: str, principal: Principal, people: list[Any], dry_run: bool
    ) -> None:
        counts = dict.fromkeys(OUTCOMES, 0)
        try:
            await self._progress(job_id, principal.tenant, "running", counts, 0, [])
            records = validate_all(people, datetime.now(UTC).date())
            plan = Plan(records)
            for start in range(0, len(records), self.chunk_size):
                chunk = records[start : start + self.chunk_size]
                outcomes = await self._apply_chunk(principal, chunk, plan, dry_run)
                for o in outcomes:
                    counts[o.outcome] += 1
                processed = start + len(chunk)
                await self._progress(
                    job_id, principal.tenant, "running", counts, processed, outcomes
                )
            await self._progress(
                job_id, principal.tenant, "succeeded", counts, len(records), []
            )
        except Exception as exc:
            log.exception("import job %s stopped", job_id)
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
                log.exception("could not record the failure of import job %s", job_id)
        finally:
            self._tasks.pop(job_id, None)

    async def _apply_chunk(
        self, principal: Principal, chunk: list[Record], plan: Plan, dry_run: bool
    ) -> list[Outcome]:
        wanted = set()
        for rec in chunk:
            if rec.error is None:
                wanted.add(rec.employee_id)
                if rec.manager_employee_id:
                    wanted.add(rec.manager_employee_id)
        known = await self._known(principal.tenant, wanted)
        gate = asyncio.Semaphore(self.parallelism)

        async def one(rec: Record) -> Outcome:
            async with gate:
                return await self._apply(principal, rec, known, plan, dry_run)

        results = await asyncio.gather(*(one(r) for r in chunk), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)  # type: ignore[arg-type]

    async def _known(self, tenant: str, employee_ids: set[Any]) -> dict[str, Known]:
        """The tenant's people with these employee ids, in one query per chunk."""
        if not employee_ids:
            return {}
        cols = ", ".join(PERSON_COLUMNS)
        query = text(
            f"SELECT person_id, status, roles, languages, {cols} FROM people "
            "WHERE tenant = :t AND employee_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        async with self.engine.connect() as conn:
            rows = await conn.execute(query, {"t": tenant, "ids": list(employee_ids)})
            return {r.employee_id: _known(r) for r in rows}

    async def _apply(
        self,
        principal: Principal,
        rec: Record,
        known: dict[str, Known],
        plan: Plan,
        dry_run: bool,
    ) -> Outcome:
        if rec.error is not None or rec.details is None or rec.employee_id is None:
            return Outcome(rec.row, rec.employee_id, "failed", error=rec.error)
        try:
            manager_id = plan.manager(rec.manager_employee_id, known)
        except ValidationFailed as exc:
            return Outcome(rec.row, rec.employee_id, "failed", error=_failure(exc))
        details = dataclasses.replace(rec.details, manager_id=manager_id)
        person = known.get(rec.employee_id)
        try:
            if person is None:
                if rec.leaving:  # a leaver Tandem never knew: nothing to register
                    return Outcome(rec.row, rec.employee_id, "skipped")
                person_id = plan.person_id(rec.employee_id)
                if not dry_run:
                    await self.profiles.register(
                        principal, details, rec.roles or [], person_id=person_id
                    )
                return Outcome(
                    rec.row, rec.employee_id, "created", None if dry_run else person_id
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
                        source="hris",
                        effective_on=rec.effective_on,
                    )
                if new_roles:
                    await self.profiles.change_roles(principal, pid, rec.roles or [])
                if leaves:
                    await self.profiles.deactivate(
                        principal, pid, "departure", effective_on=rec.termination_date
                    )
        except TandemError as exc:
            return Outcome(rec.row, rec.employee_id, "failed", error=_failure(exc))
        except Exception as exc:
            if is_database_outage(exc):
                raise
            log.exception("import of row %s failed", rec.row)
            error = {
                "code": "InternalError",
                "message": "unexpected error",
                "fields": [],
            }
            return Outcome(rec.row, rec.employee_id, "failed", error=error)
        changes += ["roles"] * new_roles + ["status"] * leaves
        outcome = "deactivated" if leaves else "updated" if changes else "unchanged"
        return Outcome(rec.row, rec.employee_id, outcome, person.person_id, changes)

    async def _progress(
        self,
        job_id: str,
        tenant: str,
        status: str,
        counts: dict[str, int],
        processed: int,
        outcomes: list[Outcome],
    ) -> None:
        """Record a chunk's outcomes and the job's progress in one transaction."""
        now = self._now()
        async with self.engine.begin() as conn:
            if outcomes:
                await conn.execute(
                    text(
                        "INSERT INTO import_records (job_id, record_no, tenant, "
                        "employee_id, outcome, person_id, changes, error) VALUES "
                        "(:j, :n, :t, :e, :o, :p, :c, :err)"
                    ),
                    [
                        {
                            "j": job_id,
                            "n": o.row,
                            "t": tenant,
                            "e": o.employee_id,
                            "o": o.outcome,
                            "p": o.person_id,
                            "c": json.dumps(o.changes),
                            "err": json.dumps(o.error) if o.error else None,
                        }
                        for o in outcomes
                    ],
                )
            await conn.execute(
                text(
                    "UPDATE import_jobs SET status = :s, counts = :c, processed = :p, "
                    "updated_at = :now, finished_at = :fin WHERE job_id = :j"
                ),
                {
                    "s": status,
                    "c": json.dumps(counts),
                    "p": processed,
                    "now": now,
                    "fin": now if status in FINISHED else None,
                    "j": job_id,
                },
            )

    async def _fail(self, job_id: str, reason: str, *, seen: Any = None) -> None:
        now = self._now()
        guard = " AND updated_at = :seen" if seen is not None else ""
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE import_jobs SET status = 'failed', error = :e, "
                    "updated_at = :now, finished_at = :now WHERE job_id = :j "
                    f"AND status IN ('queued', 'running'){guard}"
                ),
                {"e": reason, "now": now, "j": job_id, "seen": seen},
            )

    # -- queries ---------------------------------------------------------------------

    async def report(
        self,
        principal: Principal,
        job_id: str,
        *,
        errors_after: int = 0,
        error_limit: int = 100,
    ) -> dict[str, Any]:
        """The job's state, counts and a page of its failed records (by row)."""
        job = await self._job(principal, job_id)
        page = await self._records(job_id, "failed", errors_after, error_limit)
        return {
            "job_id": job.job_id,
            "status": job.status,
            "dry_run": bool(job.dry_run),
            "format": job.source_format,
            "progress": {"processed": job.processed, "total": job.total},
            "counts": json.loads(job.counts),
            "errors": [
                {"row": r["row"], "employee_id": r["employee_id"], **r["error"]}
                for r in page["items"]
            ],
            "errors_next": page["next"],
            "error": job.error,
            "created_at": _iso(job.created_at),
            "updated_at": _iso(job.updated_at),
            "finished_at": _iso(job.finished_at),
        }

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """A page of the job's per-record outcomes in row order."""
        await self._job(principal, job_id)
        return await self._records(job_id, outcome, after, limit)

    async def _job(self, principal: Principal, job_id: str) -> Any:
        access.require_provisioner(principal)
        await self._prepare()
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
        return job

    def _orphaned(self, job: Any) -> bool:
        if job.status in FINISHED or job.job_id in self._tasks:
            return False
        seen = job.updated_at
        if isinstance(seen, str):
            seen = datetime.fromisoformat(seen)
        return datetime.now(UTC) - seen > STALE_AFTER

    async def _records(
        self, job_id: str, outcome: str | None, after: int, limit: int
    ) -> dict[str, Any]:
        where = "job_id = :j AND record_no > :after"
        params: dict[str, Any] = {"j": job_id, "after": after, "n": limit + 1}
        if outcome:
            where += " AND outcome = :o"
            params["o"] = outcome
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT record_no, employee_id, outcome, person_id, changes, "
                        f"error FROM import_records WHERE {where} "
                        "ORDER BY record_no LIMIT :n"
                    ),
                    params,
                )
            ).all()
        page = rows[:limit]
        return {
            "items": [
                {
                    "row": r.record_no,
                    "employee_id": r.employee_id,
                    "outcome": r.outcome,
                    "person_id": r.person_id,
                    "changes": json.loads(r.changes),
                    "error": json.loads(r.error) if r.error else None,
                }
                for r in page
            ],
            "next": page[-1].record_no if len(rows) > limit else None,
        }


class Plan:
    """Person ids for the employees of one import, so order in the file is free.

    A new employee's id is chosen the first time anyone needs it - their own record
    or a report naming them as manager - so a report can point at a manager who is
    registered later in the same import (or, in a dry run, never).
    """

    def __init__(self, records: list[Record]) -> None:
        self.joining = {r.employee_id for r in records if r.error is None}
        self.leaving = {r.employee_id for r in records if r.error is None and r.leaving}
        self.joining -= self.leaving
        self._ids: dict[str, str] = {}

    def person_id(self, employee_id: str) -> str:
        return self._ids.setdefault(employee_id, str(uuid.uuid4()))

    def manager(self, employee_id: str | None, known: dict[str, Known]) -> str | None:
        if not employee_id:
            return None
        if employee_id in known:
            return known[employee_id].person_id
        if employee_id in self.joining:
            return self.person_id(employee_id)
        if employee_id in self.leaving:  # a manager who left before Tandem knew them
            return None
        raise ValidationFailed(
            [
                FieldError(
                    "manager_employee_id",
                    f"no employee {employee_id} in this organisation or this import",
                )
            ]
        )
