"""The ``advisors`` current-state table: written from the aggregate in the same
transaction as its events, rebuildable from the streams, read by the API.

Personal columns (name, email, organisation, bio, evidence, conflicts) hold clear
text for authorised reads and are wiped when the advisor is erased.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.events import utcnow
from services.advisors.domain.advisor import ADVISOR_PII, APPROVED_STATES, Advisor

SCHEMA = """
    CREATE TABLE IF NOT EXISTS advisors (
        advisor_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        expertise TEXT NOT NULL DEFAULT '[]',
        person_id TEXT,
        name TEXT, email TEXT, organisation TEXT, bio TEXT,
        checks TEXT NOT NULL DEFAULT '{}',
        evidence TEXT NOT NULL DEFAULT '{}',
        conflicts TEXT NOT NULL DEFAULT '{}',
        profile TEXT,
        reason_code TEXT,
        next_expiry TEXT,
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    )
"""
INDEXES = (
    "CREATE INDEX IF NOT EXISTS advisors_tenant ON advisors (tenant, advisor_id)",
    "CREATE INDEX IF NOT EXISTS advisors_person ON advisors (tenant, person_id)",
    "CREATE INDEX IF NOT EXISTS advisors_expiry ON advisors (next_expiry)",
)
COLUMNS = (
    "advisor_id", "tenant", "status", "expertise", "person_id", *ADVISOR_PII,
    "checks", "evidence", "conflicts", "profile", "reason_code", "next_expiry",
    "version", "updated_at",
)  # fmt: skip


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(SCHEMA))
        for ddl in INDEXES:
            await conn.execute(text(ddl))


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
            "status": c.status,
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
        "status": advisor.status,
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


async def upsert(conn: AsyncConnection, advisor: Advisor) -> None:
    await conn.execute(UPSERT, row_of(advisor))


def view(row: Any, *, personal: bool) -> dict[str, Any]:
    """The API's view of a row; personal fields only when ``personal``."""
    if row.status == "erased":
        return {"advisor_id": row.advisor_id, "status": "erased", "erased": True}
    body: dict[str, Any] = {
        "advisor_id": row.advisor_id,
        "status": row.status,
        "expertise_sought": json.loads(row.expertise),
        "reason_code": row.reason_code,
        "profile": json.loads(row.profile) if row.profile else None,
        "erased": False,
    }
    checks = json.loads(row.checks)
    if personal:
        evidence = json.loads(row.evidence)
        for name, check in checks.items():
            check["evidence"] = evidence.get(name)
        body.update({f: getattr(row, f) for f in ADVISOR_PII})
        body["person_id"] = row.person_id
        body["conflicts"] = json.loads(row.conflicts)
    body["checks"] = checks
    return body


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
    conn: AsyncConnection, tenant: str, status: str | None, limit: int, after: str
) -> list[Any]:
    where = "tenant = :t AND advisor_id > :after"
    params: dict[str, Any] = {"t": tenant, "after": after, "n": limit}
    if status:
        where += " AND status = :s"
        params["s"] = status
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
