"""Import jobs as the service's own tables keep them: created, advanced, read.

A record about a person Tandem knows (``owner_id``: the person it created or
changed, or whom a failed record was about) keeps their employee id sealed with their
key, so erasing them shreds it; a record about nobody Tandem knows (a malformed
record, a dry run's new employee, a leaver never registered) keeps it as given. Every
record's employee id has a blind index beside it, so erasure finds the records about
someone by any employee id they had.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import PersonGone
from chassis.personal_data import PersonalDataCipher
from contracts.api.profiles import RecordFailure, RecordPage, RecordResult
from contracts.profiles import ImportStatus, RecordOutcome
from services.profiles.application.imports.errors import IdempotencyKeyReused
from services.profiles.projections.bulk import insert_rows
from services.profiles.projections.sealed import IMPORT_RECORDS, employee_index, keys_of

OUTCOMES = tuple(RecordOutcome)
RECORD_COLUMNS = (
    "job_id", "record_no", "tenant", "employee_id", "employee_index", "owner_id",
    "outcome", "person_id", "changes", "error",
)  # fmt: skip
FINISHED = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)
_JSON = json.JSONEncoder()  # ``json.dumps`` builds an encoder per call with options


@dataclass
class Outcome:
    row: int
    employee_id: str | None
    outcome: RecordOutcome
    person_id: str | None = None
    changes: list[str] = field(default_factory=list)
    error: RecordFailure | None = None
    # The person the record is about, when Tandem knows them (a failed record's too):
    # their key seals its employee id. Kept beside the record, never shown.
    owner_id: str | None = None


def fingerprint(people: Sequence[object], dry_run: bool, secret: bytes) -> str:
    """What an idempotency key promises: the same records, the same mode.

    Keyed (HMAC): without the service's secret, a reader of the table cannot test a
    guessed batch of names and emails against it.
    """
    doc = json.dumps([people, dry_run], sort_keys=True, default=str)
    return hmac.new(secret, doc.encode(), hashlib.sha256).hexdigest()


def _scheme(digest: str) -> str:
    """The mark of a fingerprint's scheme (``cells:``), or "" for the first one."""
    mark, _, rest = digest.partition(":")
    return mark if rest else ""


def keyed(secret: bytes, tenant: str, idempotency_key: str) -> str:
    """The stored form of a client's Idempotency-Key: a keyed hash, never the key.

    Integrators often send an employee id as the key; stored as such it would tie the
    person's pseudonymous id to their employee id for ever, erasure or not.
    """
    message = f"{tenant}\x00{idempotency_key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class ImportJobs:
    """The ``import_jobs`` and ``import_records`` tables: a job's row, its progress and
    its per-record outcomes, which outlive the request (and the process) running it."""

    def __init__(
        self, engine: AsyncEngine, secret: bytes, cipher: PersonalDataCipher
    ) -> None:
        self.engine = engine
        self.secret = secret
        self.cipher = cipher
        self._sqlite = is_sqlite(self.engine)

    def _now(self) -> datetime | str:
        now = datetime.now(UTC)
        return now.isoformat() if self._sqlite else now

    async def _replay(
        self,
        tenant: str,
        key: str,
        digest: str,
        earlier: Callable[[], Awaitable[str | None]] | None = None,
    ) -> str | None:
        """The job this key started, when its records were these (``digest``; or
        ``earlier()``, the digest they had before its scheme changed, when the
        stored job's is of the other scheme); ``IdempotencyKeyReused`` when not."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT job_id, fingerprint FROM import_jobs "
                        "WHERE tenant = :t AND idempotency_key = :k"
                    ),
                    {"t": tenant, "k": keyed(self.secret, tenant, key)},
                )
            ).first()
        if row is None:
            return None
        if row.fingerprint != digest and not (
            earlier is not None
            and _scheme(row.fingerprint) != _scheme(digest)
            and row.fingerprint == await earlier()
        ):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different import; use a new key",
                job_id=row.job_id,
            )
        return row.job_id

    async def _progress(
        self,
        job_id: str,
        tenant: str,
        status: ImportStatus,
        counts: dict[RecordOutcome, int],
        processed: int,
        outcomes: list[Outcome],
        *,
        conn: AsyncConnection | None = None,
        keys: Mapping[str, Any] | None = None,
        indexes: Mapping[str, str] | None = None,
    ) -> None:
        """Record a chunk's outcomes and the job's progress in one transaction (the
        caller's, when given: the one that applied the chunk). ``keys``: the data
        keys of the people the records are about, when the caller has them;
        ``indexes``: the blind indexes of employee ids it computed already."""
        if conn is None:
            async with self.engine.begin() as own:
                await self._progress(
                    job_id, tenant, status, counts, processed, outcomes, conn=own
                )
            return
        now = self._now()
        if outcomes:
            keys = keys or {}
            indexes = indexes or {}
            seal = self.cipher.seal_with
            rows = []
            for o in outcomes:
                owner = o.owner_id or o.person_id
                employee_id = o.employee_id
                if owner is None or employee_id is None:
                    stored = employee_id  # nobody's key to seal it with
                elif owner in keys:  # the chunk's keys: no look-up
                    try:
                        stored = seal(
                            keys[owner],
                            owner,
                            IMPORT_RECORDS,
                            {"employee_id": employee_id},
                        )["employee_id"]
                    except PersonGone:  # erased while the import ran
                        stored = None
                else:
                    stored = await self._employee_id(conn, tenant, o, keys)
                rows.append(
                    (
                        job_id,
                        o.row,
                        tenant,
                        stored,
                        indexes.get(employee_id or "")
                        or employee_index(self.cipher, tenant, employee_id),
                        owner,
                        o.outcome.value,
                        o.person_id,
                        _JSON.encode(o.changes) if o.changes else "[]",
                        _JSON.encode(o.error.model_dump()) if o.error else None,
                    )
                )
            await insert_rows(conn, "import_records", RECORD_COLUMNS, rows)
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

    async def _employee_id(
        self,
        conn: AsyncConnection,
        tenant: str,
        outcome: Outcome,
        keys: Mapping[str, Any],
    ) -> str | None:
        """The employee id as stored: sealed with the key of the person the record is
        about; as given when Tandem knows nobody it could be (no key to seal with)."""
        owner = outcome.owner_id or outcome.person_id
        if owner is None or outcome.employee_id is None:
            return outcome.employee_id
        values = {"employee_id": outcome.employee_id}
        try:
            if owner in keys:
                sealed = self.cipher.seal_with(
                    keys[owner], owner, IMPORT_RECORDS, values
                )
            else:
                sealed = await self.cipher.seal(
                    conn, tenant, owner, IMPORT_RECORDS, values
                )
        except PersonGone:  # erased while the import ran
            return None
        return sealed["employee_id"]

    async def _fail(
        self, job_id: str, reason: str, *, seen: datetime | str | None = None
    ) -> None:
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

    async def _records(
        self, job_id: str, outcome: RecordOutcome | None, after: int, limit: int
    ) -> RecordPage:
        where = "job_id = :j AND record_no > :after"
        params: dict[str, object] = {"j": job_id, "after": after, "n": limit + 1}
        if outcome:
            where += " AND outcome = :o"
            params["o"] = outcome
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT job_id, {_RECORD_COLUMNS} FROM import_records "
                        f"WHERE {where} ORDER BY record_no LIMIT :n"
                    ),
                    params,
                )
            ).all()
            pages = await self._pages(conn, rows, limit)
        return pages.get(job_id, RecordPage(items=[], next=None))

    async def _first_records(
        self, job_ids: Sequence[str], outcome: RecordOutcome, limit: int
    ) -> dict[str, RecordPage]:
        """The first ``limit`` records of ``outcome`` of each job, in one statement."""
        if not job_ids:
            return {}
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT * FROM (SELECT job_id, {_RECORD_COLUMNS}, "
                        "ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY record_no) "
                        "AS nth FROM import_records "
                        "WHERE job_id IN :jobs AND outcome = :o) AS firsts "
                        "WHERE nth <= :n ORDER BY job_id, record_no"
                    ).bindparams(bindparam("jobs", expanding=True)),
                    {"jobs": list(job_ids), "o": outcome, "n": limit + 1},
                )
            ).all()
            return await self._pages(conn, rows, limit)

    async def _pages(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]], limit: int
    ) -> dict[str, RecordPage]:
        """Record rows (ordered by job, then row) as each job's page of ``limit``;
        every owner's key read in one statement."""
        by_job: dict[str, list[Row[Any]]] = {}
        for r in rows:
            by_job.setdefault(r.job_id, []).append(r)
        shown = [r for found in by_job.values() for r in found[:limit]]
        keys = await keys_of(self.cipher, conn, (r.owner_id for r in shown))
        return {
            job: RecordPage(
                items=[
                    RecordResult(
                        row=r.record_no,
                        employee_id=PersonalDataCipher.open(
                            keys.get(r.owner_id),
                            r.owner_id,
                            IMPORT_RECORDS,
                            "employee_id",
                            r.employee_id,
                        ),
                        outcome=r.outcome,
                        person_id=r.person_id,
                        changes=json.loads(r.changes),
                        error=RecordFailure.model_validate_json(r.error)
                        if r.error
                        else None,
                    )
                    for r in found[:limit]
                ],
                next=found[limit - 1].record_no if len(found) > limit else None,
            )
            for job, found in by_job.items()
        }


_RECORD_COLUMNS = (
    "record_no, employee_id, outcome, person_id, changes, error, "
    "COALESCE(owner_id, person_id) AS owner_id"
)
