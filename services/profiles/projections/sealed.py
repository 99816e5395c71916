"""The personal columns of the current-state tables, sealed with the person's key.

Profiles' events keep a person's personal fields encrypted with that person's key
(``chassis.personal_data``); the current-state rows built from them do too, so a
reader of the database, a backup or a dead row version PostgreSQL keeps until VACUUM
holds ciphertext only, and destroying the key at erasure shreds every copy.

Sealed: the ``people`` columns that name a person or hold what they wrote
(``SEALED_PEOPLE``), ``scim_users.external_id`` (the identity provider's id for
them, often an email or an employee number) and an import record's employee id when
the record names a person. Clear by design: the organisational attributes that are
published anyway (level, business unit, function, geography, time zone, manager,
languages, programme roles, status) and consent purpose codes.

What is looked up or kept unique gets a blind index beside it (a keyed HMAC of the
tenant and the value): ``email_index`` (of the lower-cased email: one person per
address in a tenant, SCIM ``userName eq``), ``employee_index`` (one person per
employee id; the HRIS import's upsert key) and ``scim_users.external_index`` (SCIM
``externalId eq``). Reads of a page fetch every row's key in one query
(``open_rows``) and open in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import PersonGone
from chassis.personal_data import SEALED, PersonalDataCipher
from services.profiles.projections.tables import LEGACY_RECORD, metadata

PEOPLE = "people"
SCIM_USERS = "scim_users"
IMPORT_RECORDS = "import_records"
SEALED_PEOPLE = (
    "employee_id", "given_name", "family_name", "email", "title", "hire_date",
    "mentor_profile", "intake", "demographics",
)  # fmt: skip
# A page's keys are fetched this many people at a time (bound parameters per query).
KEY_BATCH = 1000
LEGACY_LOCK = 7264102  # one process seals the legacy rows; the others wait


def email_index(cipher: PersonalDataCipher, tenant: str, email: str | None) -> Any:
    """The blind index of an email (case-insensitive, as the address is unique)."""
    return cipher.blind_index(tenant, "email", None if email is None else email.lower())


def employee_index(cipher: PersonalDataCipher, tenant: str, employee_id: Any) -> Any:
    return cipher.blind_index(tenant, "employee_id", employee_id)


def external_index(cipher: PersonalDataCipher, tenant: str, external_id: Any) -> Any:
    return cipher.blind_index(tenant, "external_id", external_id)


async def seal_person(
    cipher: PersonalDataCipher,
    conn: AsyncConnection,
    tenant: str,
    person_id: str,
    values: Mapping[str, Any],
    keys: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``values`` (columns of ``people``) with the personal ones sealed and the blind
    indexes of an email and an employee id beside them. ``keys``: the data keys a bulk
    write fetched at once (``PersonalDataCipher.keys_for_writing``), used when they
    hold this person's.

    A person whose key was destroyed (a rebuild replaying an erased person's history)
    keeps nothing: their personal columns and indexes are None.
    """
    out = dict(values)
    personal = {c: values[c] for c in SEALED_PEOPLE if c in values}
    if "email" in values:
        out["email_index"] = email_index(cipher, tenant, values["email"])
    if "employee_id" in values:
        out["employee_index"] = employee_index(cipher, tenant, values["employee_id"])
    try:
        if keys is not None and person_id in keys:
            sealed = cipher.seal_with(keys[person_id], person_id, PEOPLE, personal)
        else:
            sealed = await cipher.seal(conn, tenant, person_id, PEOPLE, personal)
        out.update(sealed)
    except PersonGone:
        out.update({c: None for c in personal})
        out.update({c: None for c in ("email_index", "employee_index") if c in out})
    return out


async def keys_of(
    cipher: PersonalDataCipher, conn: AsyncConnection, person_ids: Iterable[str | None]
) -> dict[str, Any]:
    """The keys of ``person_ids``: one query per ``KEY_BATCH`` people."""
    ids = sorted({p for p in person_ids if p})
    keys: dict[str, Any] = {}
    for start in range(0, len(ids), KEY_BATCH):
        keys.update(await cipher.keys_for(conn, ids[start : start + KEY_BATCH]))
    return keys


def open_row(aead: Any, row: Any) -> SimpleNamespace:
    """A row of ``people`` (perhaps joined with ``scim_users``) with its sealed
    columns opened; a value stored before sealing reads as it is."""
    values = dict(row._mapping)
    person_id = values["person_id"]
    for column in SEALED_PEOPLE:
        if column in values:
            values[column] = PersonalDataCipher.open(
                aead, person_id, PEOPLE, column, values[column]
            )
    if "scim_external_id" in values:
        values["scim_external_id"] = PersonalDataCipher.open(
            aead, person_id, SCIM_USERS, "external_id", values["scim_external_id"]
        )
    return SimpleNamespace(**values)


async def open_rows(
    cipher: PersonalDataCipher, conn: AsyncConnection, rows: Sequence[Any]
) -> list[SimpleNamespace]:
    """Rows of ``people`` opened, the keys of a page read in one query."""
    keys = await keys_of(cipher, conn, (r.person_id for r in rows))
    return [open_row(keys.get(r.person_id), r) for r in rows]


# -- rows stored before sealing --------------------------------------------------------

# The columns revisions 0004 and 0005 add, for an embedded (SQLite) database, which has no
# migrations: its start adds them to tables an older version created.
_ADDED = {
    "people": ("email_index", "employee_index", "import_digest"),
    "scim_users": ("external_index",),
    "import_records": ("employee_index", "owner_id"),
}
_REPLACED_INDEXES = ("people_employee", "people_email_unique", "scim_users_external")


async def add_columns_sqlite(conn: AsyncConnection) -> None:
    """SQLite: the index columns added to the tables of an older start (its unique
    indexes on the former columns dropped); nothing to do on a new database."""
    for table, columns in _ADDED.items():
        present = {
            r[1] for r in await conn.execute(text(f"PRAGMA table_info({table})"))
        }
        for column in columns:
            if present and column not in present:
                await conn.execute(
                    text(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
                )
    for index in _REPLACED_INDEXES:
        await conn.execute(text(f"DROP INDEX IF EXISTS {index}"))


async def upgrade_sqlite(engine: AsyncEngine) -> None:
    """SQLite (no migrations): revision 0004's columns and indexes on the tables an
    older start created (``metadata.create_all`` skips a table that exists)."""
    if not is_sqlite(engine):
        return
    async with engine.begin() as conn:
        await add_columns_sqlite(conn)
        await conn.run_sync(_create_indexes)


def _create_indexes(sync: Connection) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(sync, checkfirst=True)


def _clear(column: str) -> str:
    return f"({column} IS NOT NULL AND {column} NOT LIKE '{SEALED}%')"


_LEGACY_PEOPLE = (
    f"SELECT person_id, tenant, {', '.join(SEALED_PEOPLE)} FROM people "
    f"WHERE status <> 'erased' AND ({' OR '.join(map(_clear, SEALED_PEOPLE))})"
)
_LEGACY_SCIM = "SELECT person_id, tenant, external_id FROM scim_users WHERE " + _clear(
    "external_id"
)
# A record still in clear (``LEGACY_RECORD``) is found through the partial index of
# those only (``import_records_legacy``, revision 0007): the look at every start
# reads the few such records, not every record of every import.
_LEGACY_RECORDS = (
    "SELECT job_id, record_no, tenant, person_id, employee_id FROM import_records "
    f"WHERE {LEGACY_RECORD}"
)


async def seal_legacy(engine: AsyncEngine, cipher: PersonalDataCipher) -> int:
    """Seal the rows written in clear before the columns were sealed (revision 0004
    adds the index columns; a migration holds no key, so the start seals them, once,
    before serving). Returns the rows sealed. PostgreSQL keeps the old row versions
    until (auto)vacuum reclaims them.
    """
    sqlite = is_sqlite(engine)
    lock = "" if sqlite else " FOR UPDATE"
    count = 0
    async with engine.begin() as conn:
        if not sqlite:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": LEGACY_LOCK}
            )
        for row in (await conn.execute(text(_LEGACY_PEOPLE + lock))).all():
            count += 1
            await _seal_legacy_person(cipher, conn, row)
        for row in (await conn.execute(text(_LEGACY_SCIM + lock))).all():
            count += 1
            await _seal_legacy_external_id(cipher, conn, row)
        for row in (await conn.execute(text(_LEGACY_RECORDS + lock))).all():
            count += 1
            await _seal_legacy_record(cipher, conn, row)
        if sqlite:  # what revision 0007 does on PostgreSQL (no migrations here)
            await conn.execute(text(_OWNERS))
    return count


# A record written before its owner was kept names its person in ``person_id`` only.
_OWNERS = (
    "UPDATE import_records SET owner_id = person_id "
    "WHERE owner_id IS NULL AND person_id IS NOT NULL"
)


async def _seal_legacy_person(
    cipher: PersonalDataCipher, conn: AsyncConnection, row: Any
) -> None:
    keys = await cipher.keys_for(conn, [row.person_id])
    opened = open_row(keys.get(row.person_id), row)
    values = {c: getattr(opened, c) for c in SEALED_PEOPLE}
    try:
        sealed = {
            **await cipher.seal(conn, row.tenant, row.person_id, PEOPLE, values),
            "email_index": email_index(cipher, row.tenant, values["email"]),
            "employee_index": employee_index(cipher, row.tenant, values["employee_id"]),
        }
    except PersonGone:  # erased, but the row was not wiped: nothing of it is kept
        sealed = {c: None for c in (*SEALED_PEOPLE, "email_index", "employee_index")}
    sets = ", ".join(f"{c} = :{c}" for c in sealed)
    await conn.execute(
        text(f"UPDATE people SET {sets} WHERE person_id = :person_id"),
        {**sealed, "person_id": row.person_id},
    )


async def _seal_legacy_external_id(
    cipher: PersonalDataCipher, conn: AsyncConnection, row: Any
) -> None:
    try:
        sealed = await cipher.seal(
            conn,
            row.tenant,
            row.person_id,
            SCIM_USERS,
            {"external_id": row.external_id},
        )
    except PersonGone:
        await conn.execute(
            text("DELETE FROM scim_users WHERE person_id = :p"), {"p": row.person_id}
        )
        return
    await conn.execute(
        text(
            "UPDATE scim_users SET external_id = :x, external_index = :i "
            "WHERE person_id = :p"
        ),
        {
            "x": sealed["external_id"],
            "i": external_index(cipher, row.tenant, row.external_id),
            "p": row.person_id,
        },
    )


async def _seal_legacy_record(
    cipher: PersonalDataCipher, conn: AsyncConnection, row: Any
) -> None:
    stored = row.employee_id
    if row.person_id is not None:
        try:
            stored = (
                await cipher.seal(
                    conn,
                    row.tenant,
                    row.person_id,
                    IMPORT_RECORDS,
                    {"employee_id": row.employee_id},
                )
            )["employee_id"]
        except PersonGone:
            stored = None
    await conn.execute(
        text(
            "UPDATE import_records SET employee_id = :e, employee_index = :i "
            "WHERE job_id = :j AND record_no = :n"
        ),
        {
            "e": stored,
            "i": None
            if stored is None
            else employee_index(cipher, row.tenant, row.employee_id),
            "j": row.job_id,
            "n": row.record_no,
        },
    )
