"""``scorecard_parts``: the organisation the scorecards are computed from, kept.

One row per key of the scorecard's fold (a person, a cohort, an admission, a
relationship, a milestone, a feedback, a note, a rotation: ``domain/scorecard_parts.py``)
with that key's facts and the slice of the organisation they fold to. Each fact the
fold reads re-folds its own key's row, in the consumer's transaction; a scorecard "now"
reads every slice of the tenant in one statement and merges them (``organisation``),
with no fact read or folded. Scorecards "as of" a moment still fold the facts up to it
(``application/scorecards.py``).

A rebuild folds the facts in memory (``ScorecardBatch``) with the same
``state_of``. An erasure refolds the tenant's rows from its facts, after the facts
eraser has deleted or pseudonymised them (``main.py`` lists it after ``facts``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from services.insights.domain import scorecard_parts as domain
from services.insights.domain.scorecard_state import Org
from services.insights.projections.aside import Aside
from services.insights.projections.facts import Kept, copy_in
from services.insights.projections.tables import scorecard_parts as table

EVENTS = domain.EVENTS
EVENT_SET = frozenset(EVENTS)
COLUMNS = ("tenant", "part", "facts", "slice", "latest")
UPSERT = text(
    "INSERT INTO scorecard_parts (tenant, part, facts, slice, latest) "
    "VALUES (:t, :k, :f, :s, :l) ON CONFLICT (tenant, part) DO UPDATE SET "
    "facts = excluded.facts, slice = excluded.slice, latest = excluded.latest"
)
# The same for many rows in one statement (PostgreSQL): arrays instead of one
# parameter set per row, which SQLAlchemy's executemany converts one by one.
UPSERT_MANY = text(
    "INSERT INTO scorecard_parts (tenant, part, facts, slice, latest) "
    "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:k AS text[]), "
    "CAST(:f AS text[]), CAST(:s AS text[]), CAST(:l AS text[])) "
    "ON CONFLICT (tenant, part) DO UPDATE SET "
    "facts = excluded.facts, slice = excluded.slice, latest = excluded.latest"
)
# The parts a batch touches: one statement text whatever their number (PostgreSQL).
READ_TOUCHED = text(
    "SELECT tenant, part, facts FROM scorecard_parts "
    "WHERE tenant = ANY(CAST(:ts AS text[])) AND part = ANY(CAST(:ks AS text[]))"
)
READ_TOUCHED_SQLITE = text(
    "SELECT tenant, part, facts FROM scorecard_parts "
    "WHERE tenant IN :ts AND part IN :ks"
).bindparams(bindparam("ts", expanding=True), bindparam("ks", expanding=True))
READ_FACTS = text("SELECT facts FROM scorecard_parts WHERE tenant = :t AND part = :k")


_json = domain.compact  # json.dumps(value, separators=(",", ":"))


def _params(tenant: str, key: str, state: domain.State) -> dict[str, str]:
    return {
        "t": tenant,
        "k": key,
        "f": _json(state.facts),
        "s": _json(state.slice),
        "l": state.latest,
    }


def kept(env: Envelope) -> domain.Kept:
    return domain.Kept(env.id, env.type, domain.utc(env.time), env.data)


async def on_fact(env: Envelope, conn: AsyncConnection) -> None:
    """Re-fold the part of the key the fact changes."""
    key = domain.key_of(env.type, env.data)
    if key is None:
        return
    found = (
        await conn.execute(READ_FACTS, {"t": env.tenant, "k": key})
    ).scalar_one_or_none()
    state = domain.with_fact(json.loads(found) if found else [], kept(env))
    if state is not None:
        await conn.execute(UPSERT, _params(env.tenant, key, state))


async def on_facts(envs: Sequence[Envelope], conn: AsyncConnection) -> None:
    """``on_fact`` of each fact in turn: the parts they touch read in one statement,
    each folded once with all its new facts, written in one statement."""
    arrived: dict[tuple[str, str], list[domain.Kept]] = {}
    for env in envs:
        key = domain.key_of(env.type, env.data)
        if key is not None:
            arrived.setdefault((env.tenant, key), []).append(kept(env))
    if not arrived:
        return
    rows = await conn.execute(
        READ_TOUCHED_SQLITE if is_sqlite(conn.engine) else READ_TOUCHED,
        {
            "ts": sorted({t for t, _ in arrived}),
            "ks": sorted({k for _, k in arrived}),
        },
    )
    stored = {(t, k): json.loads(f) for t, k, f in rows if (t, k) in arrived}
    params = []
    for (tenant, key), new in arrived.items():
        state = domain.with_facts(stored.get((tenant, key), []), new)
        if state is not None:
            params.append(_params(tenant, key, state))
    await upsert(conn, params)


async def upsert(conn: AsyncConnection, rows: list[dict[str, str]]) -> None:
    """``UPSERT`` of each row (distinct keys): one statement on PostgreSQL."""
    if not rows:
        return
    if is_sqlite(conn.engine):
        await conn.execute(UPSERT, rows)
        return
    await conn.execute(
        UPSERT_MANY, {c: [r[c] for r in rows] for c in ("t", "k", "f", "s", "l")}
    )


class ScorecardBatch:
    """A rebuild's fold of ``scorecard_parts`` (``read_models.Rebuilder``): the same
    ``state_of`` as ``on_fact``, over each key's facts kept in memory, written once."""

    def __init__(self) -> None:
        self.facts: dict[str, list[domain.Written]] = {}  # per tenant
        self.aside: Aside[list[tuple[str, str, str, str, str]]] | None = None

    def fold(self, facts: Sequence[Kept]) -> None:
        by_tenant = self.facts
        for f in facts:
            if f.type in EVENT_SET:
                mine = by_tenant.get(f.tenant)
                if mine is None:
                    mine = by_tenant[f.tenant] = []
                # ``at`` known: its ``time`` is in UTC already (PostgreSQL).
                mine.append(f if f.at else f._replace(time=domain.utc(f.time)))

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Every part's row (tenant, part, facts, slice, latest), from the facts."""
        return [
            (tenant, key, f, s, latest)
            for tenant, facts in self.facts.items()
            for key, (f, s, latest) in domain.written_parts_of(facts).items()
        ]

    def begin(self, history: Sequence[Kept]) -> bool:
        """The parts computed from the whole history on the other core
        (``aside.py``) while the rest of the rebuild goes on: pure computation, as
        long as all the rest of the rebuild's."""
        self.aside = Aside(lambda: self._rows_of(history), inline=not history)
        return True

    def _rows_of(self, history: Sequence[Kept]) -> list[tuple[str, str, str, str, str]]:
        self.fold(history)
        return self.rows()

    async def write(self, conn: AsyncConnection) -> None:
        aside = self.aside or Aside(self.rows, inline=True)
        rows = await aside.result()
        if is_sqlite(conn.engine):
            await upsert(
                conn,
                [dict(zip(("t", "k", "f", "s", "l"), r, strict=True)) for r in rows],
            )
        else:  # all new: the resetter cleared the rebuild's scope
            await copy_in(conn, "scorecard_parts", COLUMNS, rows)

    def close(self) -> None:
        if self.aside is not None:
            self.aside.close()


async def organisation(
    conn: AsyncConnection, tenant: str
) -> tuple[Org | None, datetime | None]:
    """The tenant's organisation as every fact kept so far folds it (None when some
    part's facts do not fold), and the latest moment of those facts (None without
    any): one statement and one JSON document, no fold."""
    sqlite = is_sqlite(conn.engine)
    together = "group_concat(slice, ',')" if sqlite else "string_agg(slice, ',')"
    latest_text = "latest" if sqlite else 'latest COLLATE "C"'  # byte order
    # Every latest is ISO 8601 in UTC (``domain.utc``): the greatest text is the latest.
    slices, latest = (
        await conn.execute(
            text(
                f"SELECT {together}, max({latest_text}) FROM scorecard_parts "
                "WHERE tenant = :t"
            ),
            {"t": tenant},
        )
    ).one()
    org = domain.assemble(json.loads(f"[{slices or ''}]"))
    return org, datetime.fromisoformat(latest) if latest else None


def tenant_facts(tenant: str) -> tuple[TextClause, dict[str, str]]:
    """The statement (and its parameters) that reads a tenant's facts the scorecard
    folds: event id, type, moment, data."""
    kinds = {f"k{n}": kind for n, kind in enumerate(EVENTS)}
    statement = text(
        "SELECT event_id, type, occurred_at, data FROM facts WHERE tenant = :t "
        f"AND type IN ({', '.join(':' + k for k in kinds)})"
    )
    return statement, {"t": tenant, **kinds}


def rows_of(tenant: str, facts: Iterable[Sequence[Any]]) -> list[dict[str, str]]:
    """The tenant's rows (``UPSERT`` parameters) from its facts as ``tenant_facts``
    reads them (a rebuild of one tenant; the migration that made the table)."""
    kept = [
        domain.Kept(
            ident,
            kind,
            domain.utc(at if isinstance(at, datetime) else datetime.fromisoformat(at)),
            json.loads(data),
        )
        for ident, kind, at, data in facts
    ]
    return [_params(tenant, k, s) for k, s in domain.parts_of(kept).items()]


async def refold(conn: AsyncConnection, tenant: str) -> None:
    """The tenant's rows again from its facts (after an erasure changed them)."""
    await reset(conn, tenant)
    statement, params = tenant_facts(tenant)
    rows = rows_of(tenant, await conn.execute(statement, params))
    if rows:
        await conn.execute(UPSERT, rows)


async def erase(
    conn: AsyncConnection, tenant: str, person_id: str, pseudonym: str
) -> None:
    """The person's own facts are gone and the others name a pseudonym (the facts
    eraser ran first): the tenant's parts are folded again from them."""
    await refold(conn, tenant)


async def reset(conn: AsyncConnection, tenant: str | None) -> None:
    """Clear the parts for a rebuild: one tenant's, or (None) every tenant's."""
    query = delete(table)
    if tenant is not None:
        query = query.where(table.c.tenant == tenant)
    await conn.execute(query)
