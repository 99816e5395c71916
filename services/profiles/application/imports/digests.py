"""The digest of the record an import last applied to a person, kept on their row.

``people.import_digest`` holds ``<version>:<digest>``: a keyed digest (the blind-index
key) of the record as it came (of its ``record_hash``: the SHA-256 of its canonical
JSON, which a file's first reading takes for its fingerprint anyway) - with the manager it resolved to and, when it has a
termination date, the day it was applied - taken when an import created or changed
the person or found them unchanged, and the row's version then. A re-sent record
whose digest matches while the row is still at that version changes nothing: it is
reported unchanged without being validated or the person's row opened. Anything that
changes the person since (an edit, SCIM, an erasure, which clears the digest) moves
the version on, and the record is compared field by field again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.personal_data import PersonalDataCipher
from services.profiles.application.imports.source import record_hash

KIND = "import_record"


def import_digest(
    cipher: PersonalDataCipher,
    tenant: str,
    person_id: str,
    item: object,
    manager_id: str | None,
    today: date,
    item_hash: bytes | None = None,
    *,
    dated: bool | None = None,
) -> str:
    """The digest of a raw record applied to ``person_id`` (``manager_id``: the person
    its manager resolved to; ``item_hash``: the record's hash as its source took it
    - ``record_hash`` unless given). A record with a termination date (``dated``,
    when the caller knows it without the record) is a leaver from a given day, so
    its digest holds the day too."""
    if dated is None:
        dated = isinstance(item, dict) and "termination_date" in item
    day = today.isoformat() if dated else ""
    hashed = (item_hash or record_hash(item)).hex()
    message = f"{person_id}\x1f{manager_id or ''}\x1f{day}\x1f{hashed}"
    digest = cipher.blind_index(tenant, KIND, message)
    assert digest is not None
    return digest


def stamped(version: int, digest: str) -> str:
    """The stored form: the row's version, then the digest."""
    return f"{version}:{digest}"


async def store_digests(
    conn: AsyncConnection, digests: Sequence[tuple[str, str]]
) -> None:
    """``(person_id, digest)`` stored on the people's rows, stamped with each row's
    version as it is now (after the transaction's own changes): one statement."""
    if not digests:
        return
    if is_sqlite(conn.engine):
        await conn.execute(
            text(
                "UPDATE people SET import_digest = CAST(version AS TEXT) || ':' || :d "
                "WHERE person_id = :p"
            ),
            [{"p": p, "d": d} for p, d in digests],
        )
        return
    await conn.execute(
        text(
            "UPDATE people SET import_digest = people.version::text || ':' || d.digest "
            "FROM unnest(CAST(:p AS text[]), CAST(:d AS text[])) AS d(person_id, digest) "
            "WHERE people.person_id = d.person_id"
        ),
        {"p": [p for p, _ in digests], "d": [d for _, d in digests]},
    )
