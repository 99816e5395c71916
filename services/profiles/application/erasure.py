"""Erasure as a checked process: every table of the profiles database and what
erasing a person does to it.

``STORES`` maps each table to its eraser, or says why it holds nothing to erase. The
erase command runs every eraser in the one transaction that destroys the person's key
and appends ``PersonErased``, and leaves a receipt per store in ``erasure_receipts``;
``GET /admin/erasures/{person_id}`` reads them back. A test compares ``STORES`` with
the tables the database really has: a new table without an entry here fails it.

Current-state tables are wiped as well as sealed: a person's row keeps only their
pseudonymous id, tenant, status and times; an import record keeps its row number and
outcome, nothing that names whom it was about. Their personal columns were sealed with
the person's key (``services.profiles.projections.sealed``), so a row version the database still
keeps, or a backup, no longer opens once the key is destroyed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.personal_data import PersonalDataCipher
from contracts.api.profiles import (
    ErasureReport,
    ServiceConfirmation,
    StoreConfirmation,
)
from services.profiles.projections.people import blank_person
from services.profiles.projections.sealed import employee_index

SERVICE = "profiles"


@dataclass(frozen=True)
class Erasure:
    """Who is being erased, by everything the stores may know them by."""

    tenant: str
    person_id: str
    employee_ids: frozenset[str]
    at: datetime


Eraser = Callable[[AsyncConnection, Erasure], Awaitable[None]]


@dataclass(frozen=True)
class Store:
    """A table, what erasure does to it, and the eraser (``None``: nothing held)."""

    action: str
    erase: Eraser | None = None


async def _people(conn: AsyncConnection, e: Erasure) -> None:
    await blank_person(conn, e.person_id)


def _deleting(table: str, column: str) -> Eraser:
    async def erase(conn: AsyncConnection, e: Erasure) -> None:
        await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant = :t AND {column} = :p"),
            {"t": e.tenant, "p": e.person_id},
        )

    return erase


def _clearing(table: str) -> Eraser:
    """A history import's records that created something of the person's keep their
    section, key and outcome, not whose it was."""

    async def erase(conn: AsyncConnection, e: Erasure) -> None:
        await conn.execute(
            text(
                f"UPDATE {table} SET entity_id = NULL "
                "WHERE tenant = :t AND entity_id = :p"
            ),
            {"t": e.tenant, "p": e.person_id},
        )

    return erase


def _deleting_entity(table: str) -> Eraser:
    async def erase(conn: AsyncConnection, e: Erasure) -> None:
        await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant = :t AND entity_id = :p"),
            {"t": e.tenant, "p": e.person_id},
        )

    return erase


def _import_records(cipher: PersonalDataCipher) -> Eraser:
    async def erase(conn: AsyncConnection, e: Erasure) -> None:
        await _erase_import_records(cipher, conn, e)

    return erase


async def _erase_import_records(
    cipher: PersonalDataCipher, conn: AsyncConnection, e: Erasure
) -> None:
    """Each record about the person keeps its row number and outcome, no identifier:
    no employee id, no person id, no changed-field list, an error's code only.

    A record is theirs as its owner (the person it created, changed or found
    unchanged, or whom it failed about: ``owner_id`` names them on every record,
    revision 0007), or by one of their employee ids, through its blind index (every
    record with an employee id has one, a record about nobody Tandem knew then
    too). Both are index look-ups (``import_records_owner``,
    ``import_records_employee``): the records of every import ever run are not
    read."""
    columns = "SELECT job_id, record_no, error FROM import_records WHERE tenant = :t"
    sql = f"{columns} AND owner_id = :p"
    params: dict[str, object] = {"t": e.tenant, "p": e.person_id}
    if e.employee_ids:  # each look-up on its own index, not one plan for an OR
        sql += f" UNION {columns} AND employee_index IN :indexes"
        params["indexes"] = sorted(
            employee_index(cipher, e.tenant, i) for i in e.employee_ids
        )
    query = text(sql)
    if e.employee_ids:
        query = query.bindparams(bindparam("indexes", expanding=True))
    rows = (await conn.execute(query, params)).all()
    if not rows:
        return
    await conn.execute(
        text(
            "UPDATE import_records SET employee_id = NULL, employee_index = NULL, "
            "owner_id = NULL, person_id = NULL, changes = '[]', error = :err "
            "WHERE job_id = :j AND record_no = :n"
        ),
        [
            {"j": r.job_id, "n": r.record_no, "err": _error_code_only(r.error)}
            for r in rows
        ],
    )


def _error_code_only(error: str | None) -> str | None:
    if error is None:
        return None
    code = json.loads(error).get("code", "Erased")
    return json.dumps({"code": code, "message": "the person was erased", "fields": []})


def _key(cipher: PersonalDataCipher) -> Eraser:
    async def erase(conn: AsyncConnection, e: Erasure) -> None:
        await cipher.destroy(e.person_id, conn)

    return erase


def stores(cipher: PersonalDataCipher) -> dict[str, Store]:
    """Every table of the profiles database: the registry the erasure runs over."""
    return {
        "person_keys": Store("key destroyed", _key(cipher)),
        "events": Store(
            "personal fields crypto-shredded (sealed with the destroyed key); "
            "the rest are pseudonymous ids, codes and organisational attributes"
        ),
        "people": Store(
            "row wiped to id, tenant, status and times (its personal columns were "
            "sealed with the destroyed key, old row versions included)",
            _people,
        ),
        "cohort_members": Store(
            "memberships deleted", _deleting("cohort_members", "person_id")
        ),
        "scim_users": Store(
            "identity provider's id deleted (sealed with the destroyed key)",
            _deleting("scim_users", "person_id"),
        ),
        "mentor_load": Store(
            "seat counts deleted", _deleting("mentor_load", "mentor_id")
        ),
        "import_records": Store(
            "records kept as row and outcome, identifiers cleared",
            _import_records(cipher),
        ),
        "import_jobs": Store(
            "nothing held: idempotency keys and fingerprints are keyed hashes, the "
            "actor a pseudonymous id"
        ),
        "history_jobs": Store(
            "nothing held: idempotency keys and fingerprints are keyed hashes, the "
            "actor a pseudonymous id"
        ),
        "history_job_records": Store(
            "records kept as section, key and outcome; the person's id cleared",
            _clearing("history_job_records"),
        ),
        "history_records": Store(
            "the person's imported outcomes forgotten (their content a keyed hash)",
            _deleting_entity("history_records"),
        ),
        "competencies": Store("nothing held: the organisation's framework"),
        "cohorts": Store("nothing held: the programme's cohort definitions"),
        "erasure_receipts": Store("nothing held: pseudonymous id and times"),
        "revoked_subjects": Store(
            "nothing held: the pseudonymous id whose tokens are refused"
        ),
        "processed_events": Store("nothing held: event ids"),
        "dead_letters": Store(
            "nothing held: failed inbound matching events carry pseudonymous ids only"
        ),
        "log_checkpoints": Store("nothing held: log positions"),
        "alembic_version_profiles": Store("nothing held: the schema version"),
    }


class Erasers:
    """Runs every store's eraser for a person and keeps the receipts."""

    def __init__(self, engine: AsyncEngine, cipher: PersonalDataCipher) -> None:
        self.engine = engine
        self.stores = stores(cipher)
        self._sqlite = is_sqlite(engine)

    def _stamp(self, at: datetime) -> datetime | str:
        return at.isoformat() if self._sqlite else at

    async def erase(self, conn: AsyncConnection, erasure: Erasure) -> None:
        """Every eraser, in the caller's transaction, each with its receipt."""
        receipts = []
        for name, store in self.stores.items():
            if store.erase is not None:
                await store.erase(conn, erasure)
            receipts.append(
                {
                    "p": erasure.person_id,
                    "s": name,
                    "t": erasure.tenant,
                    "a": store.action,
                    "at": self._stamp(erasure.at),
                    "now": self._stamp(datetime.now(UTC)),
                }
            )
        await conn.execute(
            text("DELETE FROM erasure_receipts WHERE person_id = :p"),
            {"p": erasure.person_id},
        )
        await conn.execute(
            text(
                "INSERT INTO erasure_receipts (person_id, store, tenant, action, "
                "erased_at, confirmed_at) VALUES (:p, :s, :t, :a, :at, :now)"
            ),
            receipts,
        )

    async def report(self, tenant: str, person_id: str) -> ErasureReport | None:
        """The erasure of a person of ``tenant`` as its receipts tell it, or None."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT store, action, erased_at, confirmed_at "
                        "FROM erasure_receipts WHERE tenant = :t AND person_id = :p "
                        "ORDER BY store"
                    ),
                    {"t": tenant, "p": person_id},
                )
            ).all()
            destroyed = (
                await conn.execute(
                    text(
                        "SELECT destroyed_at FROM person_keys "
                        "WHERE tenant = :t AND person_id = :p AND wrapped_key IS NULL"
                    ),
                    {"t": tenant, "p": person_id},
                )
            ).scalar_one_or_none()
        if not rows:
            return None
        confirmed = {r.store for r in rows}
        return ErasureReport(
            person_id=person_id,
            erased_at=_time(rows[0].erased_at),
            key_destroyed_at=_time(destroyed) if destroyed is not None else None,
            services={
                SERVICE: ServiceConfirmation(
                    confirmed_at=max(_time(r.confirmed_at) for r in rows),
                    complete=set(self.stores) <= confirmed,
                    stores=[
                        StoreConfirmation(
                            store=r.store,
                            action=r.action,
                            confirmed_at=_time(r.confirmed_at),
                        )
                        for r in rows
                    ],
                )
            },
        )


def _time(value: datetime | str) -> datetime:
    """A stored time (SQLite keeps ISO 8601 text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
