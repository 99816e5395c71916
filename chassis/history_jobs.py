"""A programme's history imported as a job: one record at a time, each once.

The services that take a history import (profiles, matching, sessions) answer the same
job shape (``POST /{service}/history-imports``), so the job itself lives here and a
service brings only what a record means to it: an ``Apply`` that writes one record in
the transaction it is given and answers the id of what it created, or raises a
``TandemError`` saying why the record cannot be (a per-record error; the other records
go on).

Each record is taken once per (tenant, section, key): the ``history_records`` ledger
keeps a keyed hash of the record's content beside the id it created, in the same
transaction as the service's own writes. Importing the same record again answers
``unchanged`` with that id; the same key with other content is the per-record error
``conflict`` (history is not edited by re-import). Two jobs racing on one key meet at
the ledger's primary key: the loser rolls back and reads the winner's row.

A dry run takes the same path inside a savepoint it rolls back, so it checks every
rule the real run would (the domain's, the projections' unique indexes, the mentor's
seats) and writes nothing but the job's own report. Records of one dry run do not see
each other's effects, except a repeated key, which is tracked in memory.

A service whose records are many and small decides them a chunk at a time instead
(``ApplyChunk``, ``chunk_size``): the service decides the chunk's records in the
transaction it is given (its aggregates' events appended together, say) and answers
each record's result and the keys it took; the job records the keys in the ledger,
the outcomes and the counts in the same transaction. The service keeps what a job
learns across its chunks (``memory``: a new one per job, handed to every chunk) so a
dry run's records see the earlier ones. A chunk that lost a race is decided again,
fresh; a record the service cannot read (``Entry.problem``) fails alone.

The job's row, counts and per-record outcomes are the service's tables (declared by
``history_tables``, under the service's ``TableNames``), so the report outlives the
request, and the process, that ran it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    Table,
    Text,
    bindparam,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal
from chassis.db import STAMP, is_sqlite
from chassis.errors import (
    ConcurrencyConflict,
    NotFound,
    TandemError,
    ValidationFailed,
)
from chassis.http.problems import is_database_outage

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)  # a job this long without progress was orphaned
ATTEMPTS = 3  # a record's transactions before a lost race is its error
OUTCOMES = ("created", "unchanged", "failed", "would_create")
FINISHED = ("succeeded", "failed")


# -- tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableNames:
    """The names of a service's history tables (the columns are the same everywhere;
    sessions keeps the names its tables had before the job was the chassis's)."""

    jobs: str = "history_jobs"
    records: str = "history_job_records"
    ledger: str = "history_records"


def history_tables(
    metadata: MetaData, names: TableNames | None = None
) -> tuple[Table, Table, Table]:
    """The job, its per-record outcomes and the ledger of records taken, declared in
    a service's own metadata (its migrations create them)."""
    names = names or TableNames()
    jobs = Table(
        names.jobs,
        metadata,
        Column("job_id", Text, primary_key=True),
        Column("tenant", Text, nullable=False),
        Column("idempotency_key", Text),  # a keyed hash of the client's key
        Column("fingerprint", Text, nullable=False),
        Column("actor", Text, nullable=False),
        Column("dry_run", Integer, nullable=False),
        Column("status", Text, nullable=False),
        Column("counts", Text, nullable=False),
        Column("error", Text),
        Column("created_at", STAMP, nullable=False),
        Column("updated_at", STAMP, nullable=False),
        Column("finished_at", STAMP),
        Index(f"{names.jobs}_idempotency", "tenant", "idempotency_key", unique=True),
    )
    records = Table(
        names.records,
        metadata,
        Column("job_id", Text, nullable=False),
        Column("seq", Integer, nullable=False),
        Column("tenant", Text, nullable=False),
        Column("section", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("outcome", Text, nullable=False),
        Column("error", Text),
        Column("entity_id", Text),
        PrimaryKeyConstraint("job_id", "seq"),
    )
    ledger = Table(
        names.ledger,
        metadata,
        Column("tenant", Text, nullable=False),
        Column("section", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("fingerprint", Text, nullable=False),
        Column("entity_id", Text, nullable=False),
        Column("job_id", Text, nullable=False),
        Column("recorded_at", STAMP, nullable=False),
        PrimaryKeyConstraint("tenant", "section", "key"),
        Index(f"{names.ledger}_entity", "tenant", "entity_id"),
    )
    return jobs, records, ledger


# -- what a job is made of ---------------------------------------------------------------


@dataclass(frozen=True)
class RecordProblem:
    code: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Entry:
    """One record of the document: its section, its key and its validated content;
    or (``problem``) a record that could not be read (its key None when it has no
    usable one), which fails alone, and its ``raw`` content."""

    section: str
    key: str | None
    record: BaseModel | None
    problem: RecordProblem | None = None
    raw: object = None


@dataclass(frozen=True)
class RecordResult:
    seq: int
    section: str
    key: str | None
    outcome: str
    error: RecordProblem | None
    entity_id: str | None


@dataclass(frozen=True)
class Taken:
    """A record a chunk created: the ledger row the job writes for it."""

    section: str
    key: str
    fingerprint: str
    entity_id: str


@dataclass
class Chunk:
    """What a service decided of a chunk: each record's result, the records it took
    (none in a dry run) and what to do once the chunk committed (its memory of the
    job learns, its relay is woken)."""

    results: list[RecordResult]
    taken: list[Taken] = field(default_factory=list)
    committed: Callable[[], None] | None = None


@dataclass(frozen=True)
class JobState:
    job_id: str
    status: str
    dry_run: bool
    counts: dict[str, dict[str, int]]
    total: int
    error: str | None
    created_at: str
    finished_at: str | None
    updated_at: str = ""
    records: int | None = None  # the document's records (None: a job of before)


class Refused(TandemError):
    """A record the service cannot take, with the per-record ``code`` the report shows
    (``unknown_person``, ``conflict`` …) and the field it is about."""

    code = "RecordRefused"
    status = 422
    title = "The record cannot be imported"

    def __init__(self, record_code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.record_code = record_code
        self.field = field


class IdempotencyKeyReused(TandemError):
    code = "IdempotencyKeyReused"
    status = 422
    title = "Idempotency key reused for a different import"


Apply = Callable[[AsyncConnection, Principal, Entry], Awaitable[str]]
Require = Callable[[Principal], None]


class ApplyChunk(Protocol):
    """Decide ``items`` ((seq, entry, fingerprint), none of them ``problem`` entries,
    all of one section) in ``conn``; ``memory`` is the job's (``new_memory``)."""

    async def __call__(
        self,
        conn: AsyncConnection,
        principal: Principal,
        items: Sequence[tuple[int, Entry, str]],
        memory: Any,
        *,
        job_id: str,
        dry_run: bool,
    ) -> Chunk: ...


RECORDS = "_records"  # the document's record count, kept beside the counts


def _snake(code: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", code).lower()


def problem_of(exc: TandemError) -> RecordProblem:
    """A refusal as the report shows it: a snake_case code, the field, the message."""
    if isinstance(exc, Refused):
        return RecordProblem(exc.record_code, exc.field, exc.detail)
    if isinstance(exc, ValidationFailed) and exc.errors:
        first = exc.errors[0]
        return RecordProblem("invalid", first.path, exc.detail)
    named = exc.extra.get("field")
    return RecordProblem(
        _snake(exc.code), named if isinstance(named, str) else None, exc.detail
    )


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _fresh_counts(sections: Sequence[str], records: int) -> dict[str, dict[str, int]]:
    """Every section's outcomes at zero, and (``RECORDS``) the document's size."""
    counts = {s: dict.fromkeys(OUTCOMES, 0) for s in sections}
    counts[RECORDS] = {"records": records}
    return counts


def _dumped(entry: Entry) -> object:
    """The entry's content as JSON values (a record not read: as it came)."""
    if entry.record is not None:
        return entry.record.model_dump(mode="json")
    return entry.raw


def _tally(counts: dict[str, dict[str, int]], results: Sequence[RecordResult]) -> None:
    for r in results:
        counts[r.section][r.outcome] += 1


_CONCURRENT = RecordProblem(
    "concurrent_change", None, "changed concurrently; import the record again"
)


def _record_row(job_id: str, tenant: str, r: RecordResult) -> dict[str, object]:
    """A per-record outcome as ``history_job_records`` keeps it (a record without a
    usable key under the empty key, which no record has)."""
    return {
        "j": job_id,
        "n": r.seq,
        "t": tenant,
        "s": r.section,
        "k": r.key or "",
        "o": r.outcome,
        "e": json.dumps(r.error.__dict__) if r.error else None,
        "id": r.entity_id,
    }


async def taken(
    conn: AsyncConnection,
    ledger: str,
    tenant: str,
    section: str,
    keys: Sequence[str],
) -> dict[str, tuple[str, str]]:
    """What earlier jobs took under these keys of a section, in the ``ledger`` table:
    (fingerprint, entity id) by key. A chunk's service reads it after the streams it
    will append to, so a concurrent import committed in between is seen here."""
    if not keys:
        return {}
    rows = await conn.execute(
        text(
            f"SELECT key, fingerprint, entity_id FROM {ledger} "
            "WHERE tenant = :t AND section = :s AND key IN :k"
        ).bindparams(bindparam("k", expanding=True)),
        {"t": tenant, "s": section, "k": sorted(set(keys))},
    )
    return {r.key: (r.fingerprint, r.entity_id) for r in rows.all()}


# -- the jobs ----------------------------------------------------------------------------


class HistoryJobs:
    """History import jobs of one service process (run as tasks of its event loop)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        secret: bytes,
        sections: Sequence[str],
        require: Require,
        apply: Apply | None = None,
        apply_chunk: ApplyChunk | None = None,
        chunk_size: int = 1,
        new_memory: Callable[[], Any] = dict,
        names: TableNames | None = None,
    ) -> None:
        if (apply is None) == (apply_chunk is None):
            raise ValueError("a history job applies records or chunks, not both")
        self.engine = engine
        self.secret = secret
        self.sections = tuple(sections)
        self.apply = apply
        self.apply_chunk = apply_chunk
        self.chunk_size = chunk_size if apply_chunk is not None else 1
        self.new_memory = new_memory
        self.names = names or TableNames()
        self.require = require
        self._sqlite = is_sqlite(engine)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _now(self) -> datetime | str:
        now = datetime.now(UTC)
        return now.isoformat() if self._sqlite else now

    def _hash(self, *parts: object) -> str:
        doc = json.dumps(parts, sort_keys=True, default=str)
        return hmac.new(self.secret, doc.encode(), hashlib.sha256).hexdigest()

    def _content(self, entry: Entry) -> str:
        """What re-importing a key must match: the record's content, keyed (a reader
        of the ledger cannot test a guessed record against it)."""
        return self._hash(entry.section, _dumped(entry))

    async def stop(self) -> None:
        """Cancel running jobs at shutdown (they read as failed once stale)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- commands --------------------------------------------------------------------

    async def submit(
        self,
        principal: Principal,
        entries: Sequence[Entry],
        *,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> tuple[str, bool]:
        """Record the job and start it; ``(job id, replayed)``: the same
        Idempotency-Key with the same document answers the same job."""
        self.require(principal)
        digest = self._hash([(e.section, e.key, _dumped(e)) for e in entries], dry_run)
        keyed = (
            self._hash(principal.tenant, idempotency_key) if idempotency_key else None
        )
        if keyed is not None:
            replay = await self._replay(principal.tenant, keyed, digest)
            if replay is not None:
                return replay, True
        job_id = str(uuid.uuid4())
        now = self._now()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        f"INSERT INTO {self.names.jobs} (job_id, tenant, idempotency_key, "
                        "fingerprint, actor, dry_run, status, counts, created_at, "
                        "updated_at) VALUES (:j, :t, :k, :f, :a, :d, 'queued', :c, "
                        ":now, :now)"
                    ),
                    {
                        "j": job_id,
                        "t": principal.tenant,
                        "k": keyed,
                        "f": digest,
                        "a": principal.subject,
                        "d": int(dry_run),
                        "c": json.dumps(_fresh_counts(self.sections, len(entries))),
                        "now": now,
                    },
                )
        except IntegrityError:  # the same key, submitted concurrently
            replay = await self._replay(principal.tenant, keyed or "", digest)
            if replay is not None:
                return replay, True
            raise
        task = asyncio.create_task(self._run(job_id, principal, list(entries), dry_run))
        self._tasks[job_id] = task
        return job_id, False

    async def _replay(self, tenant: str, keyed: str, digest: str) -> str | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT job_id, fingerprint FROM {self.names.jobs} "
                        "WHERE tenant = :t AND idempotency_key = :k"
                    ),
                    {"t": tenant, "k": keyed},
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

    async def taken(
        self, conn: AsyncConnection, tenant: str, section: str, keys: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """What earlier jobs took under these keys of a section (``taken``)."""
        return await taken(conn, self.names.ledger, tenant, section, keys)

    async def wait(self, job_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for a job this process runs to finish."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout_s)

    # -- the job ---------------------------------------------------------------------

    async def _run(
        self, job_id: str, principal: Principal, entries: list[Entry], dry_run: bool
    ) -> None:
        counts = _fresh_counts(self.sections, len(entries))
        seen: dict[tuple[str, str], str] = {}  # a dry run's keys: content hash
        memory = self.new_memory()
        try:
            await self._status(job_id, "running", counts)
            for chunk in self._chunks(entries):
                if self.apply_chunk is None:
                    seq, entry = chunk[0]
                    await self._one(
                        job_id, seq, principal, entry, dry_run, seen, counts
                    )
                else:
                    await self._chunk(job_id, principal, chunk, memory, dry_run, counts)
            await self._status(job_id, "succeeded", counts)
        except Exception as exc:
            log.exception("history import %s stopped", job_id)
            reason = (
                "the database became unavailable"
                if is_database_outage(exc)
                else "an unexpected error stopped the import"
            )
            try:
                await self._status(
                    job_id,
                    "failed",
                    counts,
                    error=f"{reason}; submit it again (each record is taken once)",
                )
            except Exception:
                log.exception("could not record the failure of %s", job_id)
        finally:
            self._tasks.pop(job_id, None)

    def _chunks(self, entries: list[Entry]) -> list[list[tuple[int, Entry]]]:
        """The entries numbered in document order, in chunks of one section each."""
        chunks: list[list[tuple[int, Entry]]] = []
        for seq, entry in enumerate(entries, start=1):
            last = chunks[-1] if chunks else None
            if (
                last is None
                or len(last) >= self.chunk_size
                or last[0][1].section != entry.section
            ):
                chunks.append([])
            chunks[-1].append((seq, entry))
        return chunks

    async def _chunk(
        self,
        job_id: str,
        principal: Principal,
        chunk: list[tuple[int, Entry]],
        memory: Any,
        dry_run: bool,
        counts: dict[str, dict[str, int]],
    ) -> None:
        """A chunk decided by the service, its keys, outcomes and the job's counts
        recorded, in one transaction; decided again, fresh, when a concurrent writer
        won a race (its records fail ``concurrent_change`` when it always loses)."""
        assert self.apply_chunk is not None
        tenant = principal.tenant
        unread = [
            RecordResult(seq, e.section, e.key, "failed", e.problem, None)
            for seq, e in chunk
            if e.problem is not None or e.record is None
        ]
        items = [
            (seq, e, self._content(e))
            for seq, e in chunk
            if e.problem is None and e.record is not None
        ]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.engine.begin() as conn:
                    decided = (
                        await self.apply_chunk(
                            conn, principal, items, memory, job_id=job_id,
                            dry_run=dry_run,
                        )
                        if items
                        else Chunk([])
                    )  # fmt: skip
                    if not dry_run:
                        await self._take(conn, tenant, job_id, decided.taken)
                    results = sorted([*unread, *decided.results], key=lambda r: r.seq)
                    await self._record_many(conn, job_id, tenant, results, counts)
            except (ConcurrencyConflict, IntegrityError) as exc:
                log.info("history %s: a chunk lost a race (%s)", job_id, exc)
                if attempt < ATTEMPTS:
                    continue
                results = [
                    *unread,
                    *(
                        RecordResult(seq, e.section, e.key, "failed", _CONCURRENT, None)
                        for seq, e, _f in items
                    ),
                ]
                results.sort(key=lambda r: r.seq)
                async with self.engine.begin() as conn:
                    await self._record_many(conn, job_id, tenant, results, counts)
                _tally(counts, results)
                return
            _tally(counts, results)
            if decided.committed is not None:
                decided.committed()
            return

    async def _take(
        self, conn: AsyncConnection, tenant: str, job_id: str, taken: Sequence[Taken]
    ) -> None:
        """The ledger rows of the records a chunk created (a concurrent import of
        one of its keys makes the chunk's transaction fail, to be decided again)."""
        if not taken:
            return
        now = self._now()
        await conn.execute(
            text(
                f"INSERT INTO {self.names.ledger} (tenant, section, key, fingerprint, "
                "entity_id, job_id, recorded_at) VALUES (:t, :s, :k, :f, :e, :j, :now)"
            ),
            [
                {
                    "t": tenant,
                    "s": t.section,
                    "k": t.key,
                    "f": t.fingerprint,
                    "e": t.entity_id,
                    "j": job_id,
                    "now": now,
                }
                for t in taken
            ],
        )

    async def _record_many(
        self,
        conn: AsyncConnection,
        job_id: str,
        tenant: str,
        results: Sequence[RecordResult],
        counts: dict[str, dict[str, int]],
    ) -> None:
        tally = {s: dict(c) for s, c in counts.items()}
        _tally(tally, results)
        if results:
            await conn.execute(
                text(
                    f"INSERT INTO {self.names.records} (job_id, seq, tenant, section, "
                    "key, outcome, error, entity_id) "
                    "VALUES (:j, :n, :t, :s, :k, :o, :e, :id)"
                ),
                [_record_row(job_id, tenant, r) for r in results],
            )
        await conn.execute(
            text(
                f"UPDATE {self.names.jobs} SET counts = :c, updated_at = :now "
                "WHERE job_id = :j"
            ),
            {"c": json.dumps(tally), "now": self._now(), "j": job_id},
        )

    async def _one(
        self,
        job_id: str,
        seq: int,
        principal: Principal,
        entry: Entry,
        dry_run: bool,
        seen: dict[tuple[str, str], str],
        counts: dict[str, dict[str, int]],
    ) -> None:
        tenant = principal.tenant
        if entry.problem is not None or entry.record is None or entry.key is None:
            unread = RecordResult(
                seq, entry.section, entry.key, "failed", entry.problem, None
            )
            async with self.engine.begin() as conn:
                await self._record(conn, job_id, tenant, unread, counts)
            counts[entry.section]["failed"] += 1
            return
        content = self._content(entry)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.engine.begin() as conn:
                    result = await self._decide(
                        conn, job_id, seq, principal, entry, content, dry_run, seen
                    )
                    await self._record(conn, job_id, tenant, result, counts)
                counts[entry.section][result.outcome] += 1
                return
            except (ConcurrencyConflict, IntegrityError) as exc:
                log.info("history %s record %d lost a race (%s)", job_id, seq, exc)
                if attempt == ATTEMPTS:
                    failed = RecordResult(
                        seq, entry.section, entry.key, "failed", _CONCURRENT, None
                    )
                    async with self.engine.begin() as conn:
                        await self._record(conn, job_id, tenant, failed, counts)
                    counts[entry.section]["failed"] += 1

    async def _decide(
        self,
        conn: AsyncConnection,
        job_id: str,
        seq: int,
        principal: Principal,
        entry: Entry,
        content: str,
        dry_run: bool,
        seen: dict[tuple[str, str], str],
    ) -> RecordResult:
        def result(
            outcome: str, entity_id: str | None, error: RecordProblem | None = None
        ) -> RecordResult:
            return RecordResult(
                seq, entry.section, entry.key, outcome, error, entity_id
            )

        key = entry.key
        assert key is not None and self.apply is not None
        prior = (
            await conn.execute(
                text(
                    f"SELECT fingerprint, entity_id FROM {self.names.ledger} "
                    "WHERE tenant = :t AND section = :s AND key = :k"
                ),
                {"t": principal.tenant, "s": entry.section, "k": entry.key},
            )
        ).first()
        earlier = (
            (prior.fingerprint, prior.entity_id)
            if prior is not None
            else (seen[(entry.section, key)], None)
            if (entry.section, key) in seen
            else None
        )
        if earlier is not None:
            if earlier[0] == content:
                return result("unchanged", earlier[1])
            return result(
                "failed",
                None,
                RecordProblem(
                    "conflict",
                    "key",
                    f"{entry.section} {entry.key} was imported with other content; "
                    "history is not edited by re-import",
                ),
            )
        savepoint = await conn.begin_nested()
        try:
            entity_id = await self.apply(conn, principal, entry)
        except (ConcurrencyConflict, IntegrityError):
            await savepoint.rollback()
            raise
        except TandemError as exc:
            await savepoint.rollback()
            return result("failed", None, problem_of(exc))
        except Exception as exc:
            await savepoint.rollback()
            if is_database_outage(exc):
                raise
            log.exception("history %s record %d failed", job_id, seq)
            return result(
                "failed", None, RecordProblem("internal", None, "unexpected error")
            )
        if dry_run:
            await savepoint.rollback()
            seen[(entry.section, key)] = content
            return result("would_create", None)
        await savepoint.commit()
        await conn.execute(
            text(
                f"INSERT INTO {self.names.ledger} (tenant, section, key, fingerprint, "
                "entity_id, job_id, recorded_at) VALUES (:t, :s, :k, :f, :e, :j, :now)"
            ),
            {
                "t": principal.tenant,
                "s": entry.section,
                "k": entry.key,
                "f": content,
                "e": entity_id,
                "j": job_id,
                "now": self._now(),
            },
        )
        return result("created", entity_id)

    async def _record(
        self,
        conn: AsyncConnection,
        job_id: str,
        tenant: str,
        r: RecordResult,
        counts: dict[str, dict[str, int]],
    ) -> None:
        await self._record_many(conn, job_id, tenant, [r], counts)

    async def _status(
        self,
        job_id: str,
        status: str,
        counts: dict[str, dict[str, int]],
        *,
        error: str | None = None,
        seen: datetime | str | None = None,
    ) -> None:
        now = self._now()
        guard = " AND updated_at = :seen" if seen is not None else ""
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    f"UPDATE {self.names.jobs} SET status = :s, counts = :c, error = :e, "
                    "updated_at = :now, finished_at = :fin WHERE job_id = :j "
                    f"AND status IN ('queued', 'running'){guard}"
                ),
                {
                    "s": status,
                    "c": json.dumps(counts),
                    "e": error,
                    "now": now,
                    "fin": now if status in FINISHED else None,
                    "j": job_id,
                    "seen": seen,
                },
            )

    # -- queries ---------------------------------------------------------------------

    async def state(self, principal: Principal, job_id: str) -> JobState:
        job = await self._job(principal, job_id)
        counts: dict[str, dict[str, int]] = json.loads(job.counts)
        records = counts.pop(RECORDS, {}).get("records")
        return JobState(
            job_id=job.job_id,
            status=job.status,
            dry_run=bool(job.dry_run),
            counts=counts,
            total=sum(sum(c.values()) for c in counts.values()),
            error=job.error,
            created_at=_iso(job.created_at) or "",
            finished_at=_iso(job.finished_at),
            updated_at=_iso(job.updated_at) or "",
            records=records,
        )

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[RecordResult], int | None]:
        """A page of the job's per-record outcomes in document order, and the cursor
        of the next page (None: the last)."""
        await self._job(principal, job_id)
        where = "job_id = :j AND seq > :after"
        params: dict[str, object] = {"j": job_id, "after": after, "n": limit + 1}
        if outcome:
            where += " AND outcome = :o"
            params["o"] = outcome
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT seq, section, key, outcome, error, entity_id FROM "
                        f"{self.names.records} WHERE {where} ORDER BY seq LIMIT :n"
                    ),
                    params,
                )
            ).all()
        items = [
            RecordResult(
                r.seq,
                r.section,
                r.key or None,
                r.outcome,
                RecordProblem(**json.loads(r.error)) if r.error else None,
                r.entity_id,
            )
            for r in rows[:limit]
        ]
        return items, items[-1].seq if len(rows) > limit else None

    async def _job(self, principal: Principal, job_id: str) -> Row[Any]:
        self.require(principal)
        for _ in range(2):
            async with self.engine.connect() as conn:
                job = (
                    await conn.execute(
                        text(
                            f"SELECT * FROM {self.names.jobs} "
                            "WHERE job_id = :j AND tenant = :t"
                        ),
                        {"j": job_id, "t": principal.tenant},
                    )
                ).first()
            if job is None:
                raise NotFound(f"history import {job_id} not found")
            if not self._orphaned(job):
                return job
            await self._status(
                job_id,
                "failed",
                json.loads(job.counts),
                error="the process running this import stopped; submit it again "
                "(each record is taken once)",
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
