"""``equity_people``: the people view the equity, pattern and operations reports read.

One JSON row per person, folded from the facts by ``domain.equity.apply``; the
reports are pure functions of it (``domain/equity.py``, ``domain/stats.py``,
``domain/operations.py``). A rebuild folds the facts in memory (``EquityBatch``) with
the same ``apply``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from services.insights.domain import equity as domain
from services.insights.projections.facts import Kept, copy_in
from services.insights.projections.tables import equity_people

EVENTS = domain.EVENTS
EVENT_SET = frozenset(EVENTS)
UPSERT = text(
    "INSERT INTO equity_people (tenant, person_id, data) VALUES (:t, :p, :d) "
    "ON CONFLICT (tenant, person_id) DO UPDATE SET data = excluded.data"
)

# The same for many rows (distinct keys) in one statement (PostgreSQL): arrays.
UPSERT_MANY = text(
    "INSERT INTO equity_people (tenant, person_id, data) "
    "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:p AS text[]), "
    "CAST(:d AS text[])) "
    "ON CONFLICT (tenant, person_id) DO UPDATE SET data = excluded.data"
)
# The rows a batch touches: one statement text whatever their number (PostgreSQL).
READ_TOUCHED = text(
    "SELECT tenant, person_id, data FROM equity_people "
    "WHERE tenant = ANY(CAST(:ts AS text[])) AND person_id = ANY(CAST(:ps AS text[]))"
)
READ_TOUCHED_SQLITE = text(
    "SELECT tenant, person_id, data FROM equity_people "
    "WHERE tenant IN :ts AND person_id IN :ps"
).bindparams(bindparam("ts", expanding=True), bindparam("ps", expanding=True))


async def upsert(
    conn: AsyncConnection, rows: dict[tuple[str, str], domain.Row]
) -> None:
    """Write ``rows`` (keyed by tenant and person): one statement on PostgreSQL."""
    if not rows:
        return
    if is_sqlite(conn.engine):
        await conn.execute(
            UPSERT,
            [{"t": t, "p": p, "d": json.dumps(row)} for (t, p), row in rows.items()],
        )
        return
    dumps = json.dumps
    await conn.execute(
        UPSERT_MANY,
        {
            "t": [t for t, _ in rows],
            "p": [p for _, p in rows],
            "d": [dumps(row) for row in rows.values()],
        },
    )


async def on_fact(env: Envelope, conn: AsyncConnection) -> None:
    """Fold the event into the rows of the people it concerns."""
    for person in domain.touched(env.type, env.data):
        found = (
            await conn.execute(
                text(
                    "SELECT data FROM equity_people WHERE tenant = :t AND person_id = :p"
                ),
                {"t": env.tenant, "p": person},
            )
        ).scalar_one_or_none()
        row = json.loads(found) if found else domain.new_row(person)
        row = domain.apply(row, person, env.type, env.data, env.time.isoformat())
        await conn.execute(UPSERT, {"t": env.tenant, "p": person, "d": json.dumps(row)})


async def on_facts(envs: Sequence[Envelope], conn: AsyncConnection) -> None:
    """``on_fact`` of each event in turn: the rows they touch read in one statement,
    folded in memory in order, written in one statement."""
    touched = [(env, domain.touched(env.type, env.data)) for env in envs]
    keys = {(env.tenant, person) for env, people in touched for person in people}
    if not keys:
        return
    found = await conn.execute(
        READ_TOUCHED_SQLITE if is_sqlite(conn.engine) else READ_TOUCHED,
        {"ts": sorted({t for t, _ in keys}), "ps": sorted({p for _, p in keys})},
    )
    rows: dict[tuple[str, str], domain.Row] = {
        (t, p): json.loads(d) for t, p, d in found if (t, p) in keys
    }
    for env, people in touched:
        at = env.time.isoformat()
        for person in people:
            key = (env.tenant, person)
            row = rows.get(key) or domain.new_row(person)
            rows[key] = domain.apply(row, person, env.type, env.data, at, in_place=True)
    await upsert(conn, {key: row for key, row in rows.items() if key in keys})


class EquityBatch:
    """A rebuild's fold of ``equity_people`` (``read_models.Rebuilder``): the same
    ``domain.apply`` as ``on_fact``, on rows kept in memory, written once."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], domain.Row] = {}

    def fold(self, facts: Sequence[Kept]) -> None:
        rows, touched, apply, new_row = (
            self.rows,
            domain.touched,
            domain.apply,
            domain.new_row,
        )
        for f in facts:
            if f.type not in EVENT_SET:
                continue
            at = f.at or f.time.isoformat()
            for person in touched(f.type, f.data):
                key = (f.tenant, person)
                row = rows.get(key) or new_row(person)
                rows[key] = apply(row, person, f.type, f.data, at, in_place=True)

    def begin(self, history: Sequence[Kept]) -> bool:
        # Folded here, while the other read models are computed aside: its fold
        # is short, and a forked child costs its copy of the memory it touches.
        return False

    def close(self) -> None:
        pass

    async def write(self, conn: AsyncConnection) -> None:
        if is_sqlite(conn.engine):
            await upsert(conn, self.rows)
            return
        dumps = json.dumps  # all new: the resetter cleared the rebuild's scope
        await copy_in(
            conn,
            "equity_people",
            ("tenant", "person_id", "data"),
            [(t, p, dumps(row)) for (t, p), row in self.rows.items()],
        )


async def people(conn: AsyncConnection, tenant: str) -> list[domain.Row]:
    """The tenant's people view."""
    rows = await conn.execute(
        select(equity_people.c.data).where(equity_people.c.tenant == tenant)
    )
    return [json.loads(data) for data in rows.scalars()]


async def erase(
    conn: AsyncConnection, tenant: str, person_id: str, pseudonym: str
) -> None:
    """Drop the person's row; the people they met keep the pairing, pseudonymised."""
    await conn.execute(
        text("DELETE FROM equity_people WHERE tenant = :t AND person_id = :p"),
        {"t": tenant, "p": person_id},
    )
    rows = await conn.execute(
        text(
            "SELECT person_id, data FROM equity_people WHERE tenant = :t "
            "AND data LIKE :like"
        ),
        {"t": tenant, "like": f"%{person_id}%"},
    )
    for other, data in rows.all():
        row = domain.forget(json.loads(data), person_id, pseudonym)
        await conn.execute(
            text(
                "UPDATE equity_people SET data = :d WHERE tenant = :t AND person_id = :p"
            ),
            {"t": tenant, "p": other, "d": json.dumps(row)},
        )


async def reset(conn: AsyncConnection, tenant: str | None) -> None:
    """Clear the view for a rebuild: one tenant's rows, or (None) every tenant's."""
    query = delete(equity_people)
    if tenant is not None:
        query = query.where(equity_people.c.tenant == tenant)
    await conn.execute(query)
