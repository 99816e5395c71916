"""``chassis.db.read`` / ``fetch_rows``: on PostgreSQL a read runs on the asyncpg
driver directly while nothing listens to the engine's statements, and answers the
same rows SQLAlchemy does; a lost connection is replaced, a refused statement
raises SQLAlchemy's error, a listener sees every statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import bindparam, column, event, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import DriverReads, _driver_statement, create_engine, fetch_rows, read
from chassis.errors import NotFound


def test_a_text_statement_takes_the_drivers_placeholders() -> None:
    statement = text(
        "SELECT a::text FROM t WHERE a = :t AND b IN :ids AND c = :t AND d = :k"
    ).bindparams(bindparam("ids", expanding=True))
    sql, args = _driver_statement(statement, {"t": "x", "ids": ["p", "q"], "k": 3})
    assert sql == (
        "SELECT a::text FROM t WHERE a = $1 AND b IN ($2, $3) AND c = $1 AND d = $4"
    )
    assert args == ["x", "p", "q", 3]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE things (id TEXT PRIMARY KEY, n INT, price NUMERIC, "
                "at TIMESTAMPTZ, day DATE, doc JSONB, plain JSON, ident UUID, "
                "tags TEXT[], flag BOOLEAN, raw BYTEA, note TEXT)"
            )
        )
        for n in range(3):
            await conn.execute(
                text(
                    "INSERT INTO things VALUES (:id, :n, :price, :at, :day, "
                    "CAST(:doc AS JSONB), CAST(:doc AS JSON), :ident, :tags, :flag, "
                    ":raw, :note)"
                ),
                {
                    "id": f"t{n}",
                    "n": n,
                    "price": Decimal("1.50") * n,
                    "at": datetime(2026, 1, 1 + n, 12, tzinfo=UTC),
                    "day": datetime(2026, 2, 1 + n).date(),
                    "doc": '{"a": [1, 2], "b": "é"}',
                    "ident": uuid.UUID(int=n + 1),
                    "tags": ["x", "y"][:n],
                    "flag": n % 2 == 0,
                    "raw": bytes([n, 0, 255]),
                    "note": None if n == 1 else f"note {n}",
                },
            )
    try:
        yield engine
    finally:
        await engine.dispose()


@contextmanager
def listening(engine: AsyncEngine) -> Iterator[list[str]]:
    """Statements the engine runs through SQLAlchemy, while this lasts."""
    seen: list[str] = []

    def listen(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)


@pytest.fixture
def on_driver(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run on the driver's path."""
    ran: list[str] = []
    execute = DriverReads.execute

    async def counted(self: DriverReads, statement: Any, params: Any = None) -> Any:
        ran.append(str(statement))
        return await execute(self, statement, params)

    monkeypatch.setattr(DriverReads, "execute", counted)
    return ran


SELECT = text("SELECT * FROM things WHERE id IN :ids ORDER BY id").bindparams(
    bindparam("ids", expanding=True)
)


def _shape(rows: Any) -> list[tuple[tuple[str, ...], tuple[Any, ...]]]:
    return [(tuple(r._mapping.keys()), tuple(r)) for r in rows]


async def test_rows_are_the_same_on_either_path(
    engine: AsyncEngine, on_driver: list[str]
) -> None:
    params = {"ids": ["t0", "t1", "t2", "t9"]}
    fast = await fetch_rows(engine, SELECT, params)
    assert len(on_driver) == 1
    with listening(engine) as seen:
        slow = await fetch_rows(engine, SELECT, params)
    assert seen  # the listener saw the statement: SQLAlchemy's path ran
    assert len(on_driver) == 1
    assert _shape(fast) == _shape(slow)
    assert len(fast) == 3
    assert fast[0].doc == {"a": [1, 2], "b": "é"} == fast[0]._mapping["plain"]
    assert fast[1].ident == uuid.UUID(int=2) and fast[1].note is None
    assert fast[2].at == datetime(2026, 1, 3, 12, tzinfo=UTC)
    for a, b in zip(fast, slow, strict=True):
        assert [type(v) for v in a] == [type(v) for v in b]
    # no row: an empty list either way
    none = {"ids": ["nobody"]}
    assert list(await fetch_rows(engine, SELECT, none)) == []


async def test_a_read_of_several_statements_runs_on_one_connection(
    engine: AsyncEngine,
) -> None:
    async def body(conn: AsyncConnection) -> tuple[Any, ...]:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        again = (await conn.execute(text("SELECT pg_backend_pid() AS p"))).one().p
        count = (
            await conn.execute(
                text("SELECT count(*) FROM things WHERE n >= :n"), {"n": 1}
            )
        ).scalar_one()
        rows = (
            (await conn.execute(text("SELECT id, n FROM things ORDER BY id")))
            .mappings()
            .all()
        )
        return pid == again, count, [dict(r) for r in rows]

    fast = await read(engine, body)
    with listening(engine) as seen:
        slow = await read(engine, body)
    assert len(seen) == 4
    assert fast == slow == (True, 2, [{"id": f"t{n}", "n": n} for n in range(3)])


async def test_a_core_select_goes_through_sqlalchemy(engine: AsyncEngine) -> None:
    things = table("things", column("id"), column("n"))

    async def body(conn: AsyncConnection) -> list[Any]:
        found = await conn.execute(select(things.c.id).where(things.c.n == 2))
        return list(found.scalars())

    assert await read(engine, body) == ["t2"]


async def test_a_lost_connection_is_replaced(engine: AsyncEngine) -> None:
    """Every pooled session killed: the read drops its connection and is asked
    again on a new one, and answers."""
    params = {"ids": ["t0"]}
    assert len(await fetch_rows(engine, SELECT, params)) == 1
    for _ in range(2):
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert [r.id for r in await fetch_rows(engine, SELECT, params)] == ["t0"]


async def test_a_refused_statement_raises_as_sqlalchemy_does(
    engine: AsyncEngine,
) -> None:
    bad = text("SELECT * FROM thingz WHERE id = :id")
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="thingz") as fast:
        await fetch_rows(engine, bad, {"id": "t0"})
    with listening(engine), pytest.raises(sqlalchemy.exc.ProgrammingError) as slow:
        await fetch_rows(engine, bad, {"id": "t0"})
    assert type(fast.value) is type(slow.value)
    assert type(fast.value.orig) is type(slow.value.orig)
    # a value the server refuses: SQLAlchemy's DBAPIError with its SQLSTATE
    with pytest.raises(sqlalchemy.exc.DBAPIError) as value:
        await fetch_rows(engine, text("SELECT 1 / :z AS q"), {"z": 0})
    assert getattr(value.value.orig, "sqlstate", None) == "22012"
    # the connections are still usable
    assert len(await fetch_rows(engine, SELECT, {"ids": ["t1"]})) == 1


async def test_an_error_of_the_read_itself_is_raised_once(engine: AsyncEngine) -> None:
    runs: list[int] = []

    async def body(conn: AsyncConnection) -> None:
        runs.append(len((await conn.execute(text("SELECT id FROM things"))).all()))
        raise NotFound("nothing here")

    with pytest.raises(NotFound):
        await read(engine, body)
    assert runs == [3]
    assert len(await fetch_rows(engine, SELECT, {"ids": ["t2"]})) == 1


async def test_on_sqlite_it_is_sqlalchemys_read(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE things (id TEXT, n INT)"))
            await conn.execute(text("INSERT INTO things VALUES ('a', 1), ('b', 2)"))
        rows = await fetch_rows(engine, SELECT, {"ids": ["b", "a"]})
        assert [(r.id, r.n) for r in rows] == [("a", 1), ("b", 2)]
    finally:
        await engine.dispose()


async def test_a_read_cancelled_mid_statement_drops_its_connection(
    engine: AsyncEngine,
) -> None:
    """Cancelled while the server runs its statement: the connection, in an unknown
    state, is not handed to the next read; the pool keeps serving."""
    import asyncio

    started = asyncio.get_running_loop().create_future()

    async def body(conn: AsyncConnection) -> None:
        started.set_result(None)
        await conn.execute(text("SELECT pg_sleep(30)"))

    task = asyncio.ensure_future(read(engine, body))
    await started
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert [r.id for r in await fetch_rows(engine, SELECT, {"ids": ["t1"]})] == ["t1"]
