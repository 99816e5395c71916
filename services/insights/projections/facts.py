"""Every event insights consumes, kept as a fact: the history its read models are
computed from (rebuild = recompute from facts; "as of" = facts up to a date).

Facts are stored once per event id (redelivery changes nothing) and indexed by the
people they mention. A fact holds no personal free text, and an erased person's facts
are deleted or pseudonymised (the rule is in ``erasure.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from services.insights.domain.erasure import is_erased

PERSON_KEYS = (
    "person_id",
    "mentor_id",
    "mentee_id",
    "advisor_id",
    "host_id",
    "owner_id",
)
FactHandler = Callable[[Envelope, AsyncConnection], Awaitable[None]]
# A fact as the domain's folds take it: (type, data, occurred_at).
Fact = tuple[str, dict[str, Any], datetime]


def people_in(data: dict[str, Any]) -> set[str]:
    """The person ids an event mentions (top-level id fields)."""
    return {str(data[k]) for k in PERSON_KEYS if data.get(k) and not is_erased(data[k])}


# An id as Tandem issues them (a UUID's text), whole; and as a JSON string token, in
# the text of a fact's data: every such string, a key or a value at any depth, is
# written ``"<id>"`` (JSON escapes none of its characters).
_ID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID_SHAPED = re.compile(_ID)
ID_TOKENS = re.compile(f'"({_ID})"')
# The same two on PostgreSQL (revision 0007 indexes the facts kept before it).
ID_SHAPED_SQL = f"^{_ID}$"
ID_TOKENS_SQL = f'"({_ID})"'


# The facts naming an id, through ``fact_people`` (its ``fact_people_person`` index,
# then each fact by its key): ``p`` the id, ``f`` the fact. What the erasure and the
# look-up of a pairing's end select from.
NAMED = "fact_people p JOIN facts f ON f.event_id = p.event_id"


def is_id(value: str) -> bool:
    """Whether ``value`` is shaped as the ids Tandem issues (``fact_people`` indexes
    every such string of every fact: ``mentioned``)."""
    return ID_SHAPED.fullmatch(value) is not None


def mentioned(data: dict[str, Any], text: str, subject: str) -> set[str]:
    """What ``fact_people`` keeps of a fact (``text``: its data as stored): the person
    ids of its top-level id fields, and every id-shaped string it holds anywhere (a
    key or a value at any depth, or its subject). So the facts naming a person whose
    id is so shaped, wherever they name them, are found by that index alone (the
    erasure's: ``erasure.erase_facts``); relationships', sessions' and other ids are
    indexed too, which costs rows, never a miss."""
    found = people_in(data)
    if '"' in text:
        found.update(ID_TOKENS.findall(text))
    if ID_SHAPED.fullmatch(subject):
        found.add(subject)
    return found


def _stamp(conn: AsyncConnection, at: datetime) -> datetime | str:
    """A moment as the column takes it (ISO text on SQLite)."""
    return at.isoformat() if is_sqlite(conn.engine) else at


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


# ``json.dumps(value, separators=(",", ":"))`` with one encoder (with options,
# ``json.dumps`` builds an encoder per call).
_compact = json.JSONEncoder(separators=(",", ":")).encode
INSERT_FACT = text(
    "INSERT INTO facts (event_id, tenant, source, type, subject, occurred_at, data) "
    "VALUES (:i, :t, :s, :y, :sub, :at, :d) ON CONFLICT (event_id) DO NOTHING"
)
INSERT_PERSON = text(
    "INSERT INTO fact_people (event_id, person_id) VALUES (:i, :p) "
    "ON CONFLICT DO NOTHING"
)


async def record(env: Envelope, conn: AsyncConnection) -> None:
    """Keep the event as a fact (the consumer runner already made this exactly once)."""
    await record_many([env], conn)


# PostgreSQL: a batch's facts as arrays, one statement (prepared once) per table.
INSERT_FACTS = text(
    "INSERT INTO facts (event_id, tenant, source, type, subject, occurred_at, data) "
    "SELECT * FROM unnest(CAST(:i AS text[]), CAST(:t AS text[]), "
    "CAST(:s AS text[]), CAST(:y AS text[]), CAST(:sub AS text[]), "
    "CAST(:at AS timestamptz[]), CAST(:d AS text[])) "
    "ON CONFLICT (event_id) DO NOTHING"
)
INSERT_PEOPLE = text(
    "INSERT INTO fact_people (event_id, person_id) "
    "SELECT * FROM unnest(CAST(:i AS text[]), CAST(:p AS text[])) "
    "ON CONFLICT DO NOTHING"
)


async def record_many(envs: Sequence[Envelope], conn: AsyncConnection) -> None:
    """Keep the events as facts: one statement per table, whatever their number
    (on PostgreSQL the rows go as arrays; on SQLite one ``executemany``)."""
    if not envs:
        return
    texts = [_compact(env.data) for env in envs]
    pairs = [
        (env.id, person)
        for env, data in zip(envs, texts, strict=True)
        for person in mentioned(env.data, data, env.subject)
    ]
    if not is_sqlite(conn.engine):
        await conn.execute(
            INSERT_FACTS,
            {
                "i": [env.id for env in envs],
                "t": [env.tenant for env in envs],
                "s": [env.source for env in envs],
                "y": [env.type for env in envs],
                "sub": [env.subject for env in envs],
                "at": [env.time for env in envs],
                "d": texts,
            },
        )
        if pairs:
            await conn.execute(
                INSERT_PEOPLE,
                {"i": [i for i, _ in pairs], "p": [p for _, p in pairs]},
            )
        return
    await conn.execute(
        INSERT_FACT,
        [
            {
                "i": env.id,
                "t": env.tenant,
                "s": env.source,
                "y": env.type,
                "sub": env.subject,
                "at": _stamp(conn, env.time),
                "d": data,
            }
            for env, data in zip(envs, texts, strict=True)
        ],
    )
    if pairs:
        await conn.execute(INSERT_PERSON, [{"i": i, "p": p} for i, p in pairs])


async def replay(
    conn: AsyncConnection, tenant: str | None, until: datetime | None = None
) -> list[Envelope]:
    """Facts in the order they happened, optionally up to a moment ("as of")."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if tenant:
        where.append("tenant = :t")
        params["t"] = tenant
    if until is not None:
        where.append("occurred_at <= :until")
        params["until"] = _stamp(conn, until)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    if not is_sqlite(conn.engine):
        return await _replay_driver(conn, tenant, until)
    rows = await conn.execute(
        text(f"SELECT * FROM facts {clause} ORDER BY occurred_at, event_id"), params
    )
    return [
        Envelope(
            id=r.event_id,
            source=r.source,
            type=r.type,
            subject=r.subject,
            time=_moment(r.occurred_at),
            data=json.loads(r.data),
            tenant=r.tenant,
        )
        for r in rows
    ]


async def _replay_driver(
    conn: AsyncConnection, tenant: str | None, until: datetime | None
) -> list[Envelope]:
    """``replay`` on PostgreSQL: the rows straight from the driver (inside ``conn``'s
    transaction), without SQLAlchemy's result objects (a rebuild reads them all)."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    where: list[str] = []
    args: list[Any] = []
    if tenant:
        args.append(tenant)
        where.append(f"tenant = ${len(args)}")
    if until is not None:
        args.append(until)
        where.append(f"occurred_at <= ${len(args)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = await driver.fetch(
        "SELECT event_id, source, type, subject, occurred_at, data, tenant "
        f"FROM facts {clause} ORDER BY occurred_at, event_id",
        *args,
    )
    loads = json.loads
    return [
        Envelope(
            id=event_id,
            source=source,
            type=kind,
            subject=subject,
            time=at,
            data=loads(data),
            tenant=tenant_of,
        )
        for event_id, source, kind, subject, at, data, tenant_of in rows
    ]


async def copy_in(
    conn: AsyncConnection,
    table: str,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
) -> None:
    """Rows into ``table`` with ``COPY`` (PostgreSQL), inside ``conn``'s transaction:
    a rebuild's rows, all new (its resetter cleared the scope they belong to)."""
    if not records:
        return
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table, records=records, columns=columns)


class Kept(NamedTuple):
    """A fact as a rebuild reads it: the envelope's fields a read model's fold reads
    (``id``, ``type``, ``time``, ``data``, ``tenant``, ...), and ``at``: on
    PostgreSQL, where ``time`` is in UTC, ``time.isoformat()`` (written by the server,
    once for every fold)."""

    id: str
    tenant: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    at: str | None  # None: not known to be in UTC (SQLite): each fold computes its own
    text: str  # ``data`` as the facts table keeps it ("" when not at hand)

    def envelope(self) -> Envelope:
        """The fact as the live handlers take it."""
        return Envelope(
            id=self.id,
            source=self.source,
            type=self.type,
            subject=self.subject,
            time=self.time,
            data=self.data,
            tenant=self.tenant,
        )


# ``time.isoformat()`` of a moment in UTC, written by the server (the rebuild's other
# core): seconds, microseconds only when there are any, and ``+00:00``.
_ISO_UTC = (
    "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN extract(microseconds FROM occurred_at)::bigint % 1000000 = 0 "
    "THEN '' ELSE to_char(occurred_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)


async def replay_kept(conn: AsyncConnection, tenant: str | None) -> list[Kept]:
    """``replay`` as a rebuild reads it: every fact (of ``tenant``, or of every
    tenant) in the order they happened, as ``Kept`` (no envelope built for each)."""
    if is_sqlite(conn.engine):
        return [
            Kept(
                env.id,
                env.tenant,
                env.source,
                env.type,
                env.subject,
                env.time,
                env.data,
                None,
                "",
            )
            for env in await replay(conn, tenant)
        ]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    where = "WHERE tenant = $1" if tenant else ""
    rows = await driver.fetch(
        "SELECT event_id, tenant, source, type, subject, occurred_at, data, "
        f"{_ISO_UTC} FROM facts {where} ORDER BY occurred_at, event_id",
        *([tenant] if tenant else []),
    )
    loads, make = json.loads, Kept._make
    return [
        make((i, t, s, k, sub, time, loads(d), at, d))
        for i, t, s, k, sub, time, d, at in rows
    ]


async def of_types(
    conn: AsyncConnection,
    tenant: str,
    types: Iterable[str],
    until: datetime | None = None,
) -> list[Fact]:
    """The tenant's facts of ``types`` (up to ``until`` if given), in the order they
    happened."""
    kinds = {f"k{n}": kind for n, kind in enumerate(types)}
    params: dict[str, Any] = {"t": tenant, **kinds}
    upto = ""
    if until is not None:
        upto = "AND occurred_at <= :until "
        params["until"] = _stamp(conn, until)
    rows = await conn.execute(
        text(
            "SELECT type, data, occurred_at FROM facts WHERE tenant = :t "
            f"AND type IN ({', '.join(':' + k for k in kinds)}) "
            f"{upto}ORDER BY occurred_at, event_id"
        ),
        params,
    )
    return [(kind, json.loads(data), _moment(at)) for kind, data, at in rows]
