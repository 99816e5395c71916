"""The ``advisors`` current-state table: written from the aggregate in the same
transaction as its events, rebuildable from the streams, read by the lifecycle's
queries (``application/lifecycle.py``).

The personal columns (``SEALED``: name, email, organisation, bio, the expertise
sought, the diligence evidence, the declared conflicts and the approved profile) are
sealed with the advisor's own key, as their events are (``chassis.personal_data``):
each holds ``seal(the text it would hold in clear)``, so a database reader or a
backup sees ciphertext only, and the key's destruction at erasure shreds every copy.
An erased advisor's row keeps none of them. A page of rows opens with one more query
(every row's key, ``keys_for``). Ids, statuses, check names and dates stay clear: the
API filters and the expiry sweep look them up (``person_id`` is a pseudonymous id).
Rows written in clear before sealing are sealed once at start-up (``seal_legacy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.errors import PersonGone
from chassis.events import utcnow
from chassis.personal_data import SEALED as SEALED_PREFIX
from chassis.personal_data import PersonalDataCipher
from contracts.advisors.lifecycle import AdvisorStatus
from contracts.api.advisors import AdvisorView
from services.advisors.domain.advisor import ADVISOR_PII, APPROVED_STATES, Advisor
from services.advisors.projections import tables

# Every column, in the table's order (``tables.advisors`` is the schema).
COLUMNS = tuple(column.name for column in tables.advisors.columns)
TABLE = tables.advisors.name
# The personal columns, sealed with the advisor's key (the JSON ones hold JSON text).
SEALED = (*ADVISOR_PII, "expertise", "evidence", "conflicts", "profile")
# What an erased advisor's row keeps of them.
ERASED: dict[str, str | None] = {
    **dict.fromkeys(ADVISOR_PII),
    "expertise": "[]",
    "evidence": "{}",
    "conflicts": "{}",
    "profile": None,
}


def _next_expiry(advisor: Advisor) -> str | None:
    if advisor.status not in APPROVED_STATES:
        return None
    dates = [
        c.expires_on
        for c in advisor.checks.values()
        if c.required and c.status == "passed" and c.expires_on is not None
    ]
    return min(dates).isoformat() if dates else None


def row_of(advisor: Advisor) -> dict[str, Any]:
    checks = {
        c.name: {
            "required": c.required,
            "status": str(c.status),
            "owner": c.owner,
            "expires_on": c.expires_on.isoformat() if c.expires_on else None,
            "reason_code": c.reason_code,
        }
        for c in advisor.checks.values()
    }
    evidence = {c.name: c.evidence for c in advisor.checks.values() if c.evidence}
    return {
        "advisor_id": advisor.id,
        "tenant": advisor.tenant,
        "status": str(advisor.status),
        "expertise": json.dumps(advisor.expertise),
        "person_id": advisor.person_id,
        **{f: advisor.personal.get(f) for f in ADVISOR_PII},
        "checks": json.dumps(checks),
        "evidence": json.dumps(evidence),
        "conflicts": json.dumps(advisor.conflicts),
        "profile": json.dumps(advisor.profile) if advisor.profile else None,
        "reason_code": advisor.reason_code,
        "next_expiry": _next_expiry(advisor),
        "version": advisor.version,
        "updated_at": utcnow().isoformat(),
    }


UPSERT = text(
    f"INSERT INTO advisors ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in COLUMNS)}) "
    "ON CONFLICT (advisor_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "advisor_id")
)


async def upsert(
    conn: AsyncConnection, advisor: Advisor, cipher: PersonalDataCipher
) -> None:
    row = row_of(advisor)
    await conn.execute(
        UPSERT, row | await _sealed(conn, cipher, advisor.tenant, advisor.id, row)
    )


async def _sealed(
    conn: AsyncConnection,
    cipher: PersonalDataCipher,
    tenant: str,
    advisor_id: str,
    row: Mapping[str, Any],
) -> dict[str, str | None]:
    """The personal columns of ``row`` as stored: sealed, or blank once erased."""
    if row["status"] == "erased":
        return dict(ERASED)
    return await cipher.seal(
        conn, tenant, advisor_id, TABLE, {c: row[c] for c in SEALED}
    )


async def opened(
    conn: AsyncConnection, cipher: PersonalDataCipher, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """``rows`` with their personal columns opened (one query for every key)."""
    keys = await cipher.keys_for(
        conn, [r.advisor_id for r in rows if r.status != "erased"]
    )
    found = []
    for row in rows:
        values = dict(row._mapping)
        aead = keys.get(row.advisor_id)
        for column in SEALED:
            values[column] = PersonalDataCipher.open(
                aead, row.advisor_id, TABLE, column, values[column]
            )
        found.append(values)
    return found


def view(row: Mapping[str, Any], *, personal: bool) -> AdvisorView:
    """The API's view of an opened row; personal fields only when ``personal`` (the
    fields left out are unset in the model, so the route leaves them out)."""
    if row["status"] == "erased":
        return AdvisorView.model_validate(
            {"advisor_id": row["advisor_id"], "status": "erased", "erased": True}
        )
    body: dict[str, Any] = {
        "advisor_id": row["advisor_id"],
        "status": row["status"],
        "expertise_sought": _json(row["expertise"], []),
        "reason_code": row["reason_code"],
        "profile": _json(row["profile"], None),
        "erased": False,
    }
    checks = json.loads(row["checks"])
    if personal:
        evidence = _json(row["evidence"], {})
        for name, check in checks.items():
            check["evidence"] = evidence.get(name)
        body.update({f: row[f] for f in ADVISOR_PII})
        body["person_id"] = row["person_id"]
        body["conflicts"] = _json(row["conflicts"], {})
    body["checks"] = checks
    return AdvisorView.model_validate(body)


def _json(value: str | None, empty: Any) -> Any:
    """A JSON column's value (``empty`` when absent or no longer opening)."""
    return json.loads(value) if value else empty


async def views(
    conn: AsyncConnection,
    cipher: PersonalDataCipher,
    rows: Sequence[Any],
    personal: Callable[[str], bool],
) -> list[AdvisorView]:
    """The API's views of ``rows``; ``personal(advisor_id)`` says who sees what."""
    return [
        view(r, personal=personal(r["advisor_id"]))
        for r in await opened(conn, cipher, rows)
    ]


async def seal_legacy(engine: AsyncEngine, cipher: PersonalDataCipher) -> int:
    """Seal the rows written in clear before sealing (and blank an erased row's
    leftovers); run once at start-up, before serving. Returns the rows changed."""
    changed = 0
    async with engine.begin() as conn:
        query = text(f"SELECT * FROM advisors WHERE {_CLEAR}")
        rows = (await conn.execute(query, {"prefix": SEALED_PREFIX + "%"})).all()
        for row in rows:
            values = dict(row._mapping)
            try:
                stored = await _sealed(conn, cipher, row.tenant, row.advisor_id, values)
            except PersonGone:  # the key is gone: so is what it would have sealed
                stored = dict(ERASED)
            result = await conn.execute(
                text(
                    "UPDATE advisors SET "
                    + ", ".join(f"{c} = :{c}" for c in SEALED)
                    + f" WHERE advisor_id = :advisor_id AND {_CLEAR}"
                ),
                stored | {"advisor_id": row.advisor_id, "prefix": SEALED_PREFIX + "%"},
            )
            changed += result.rowcount or 0
    return changed


# A row still holding clear personal text: a live advisor's row is sealed whole (its
# expertise is never NULL), an erased advisor's row keeps only the blanks.
_CLEAR = (
    "expertise NOT LIKE :prefix AND NOT (status = 'erased' AND "
    "expertise = '[]' AND profile IS NULL AND name IS NULL AND email IS NULL AND "
    "organisation IS NULL AND bio IS NULL AND evidence = '{}' AND conflicts = '{}')"
)


async def one(conn: AsyncConnection, tenant: str, advisor_id: str) -> Any:
    return (
        await conn.execute(
            text("SELECT * FROM advisors WHERE tenant = :t AND advisor_id = :a"),
            {"t": tenant, "a": advisor_id},
        )
    ).first()


async def many(conn: AsyncConnection, tenant: str, advisor_ids: list[str]) -> list[Any]:
    """The rows of ``advisor_ids`` in ``tenant`` (others' ids find nothing)."""
    if not advisor_ids:
        return []
    query = text(
        "SELECT * FROM advisors WHERE tenant = :t AND advisor_id IN :ids "
        "ORDER BY advisor_id"
    ).bindparams(bindparam("ids", expanding=True))
    return list(await conn.execute(query, {"t": tenant, "ids": advisor_ids}))


async def page(
    conn: AsyncConnection,
    tenant: str,
    status: AdvisorStatus | None,
    limit: int,
    after: str,
) -> list[Any]:
    where = "tenant = :t AND advisor_id > :after"
    params: dict[str, Any] = {"t": tenant, "after": after, "n": limit}
    if status:
        where += " AND status = :s"
        params["s"] = str(status)
    rows = await conn.execute(
        text(f"SELECT * FROM advisors WHERE {where} ORDER BY advisor_id LIMIT :n"),
        params,
    )
    return list(rows)


async def linked_to(conn: AsyncConnection, tenant: str, person_id: str) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT advisor_id FROM advisors WHERE tenant = :t AND person_id = :p "
            "AND status <> 'erased'"
        ),
        {"t": tenant, "p": person_id},
    )
    return [r.advisor_id for r in rows]


async def expiring(conn: AsyncConnection, today: str) -> list[tuple[str, str]]:
    rows = await conn.execute(
        text(
            "SELECT advisor_id, tenant FROM advisors "
            "WHERE next_expiry IS NOT NULL AND next_expiry < :d"
        ),
        {"d": today},
    )
    return [(r.advisor_id, r.tenant) for r in rows]
