"""Async database engines for PostgreSQL (real mode) and SQLite (embedded demo)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Text, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.util.concurrency import greenlet_spawn

# The column type of a moment in time: ``TIMESTAMPTZ`` on PostgreSQL, ISO text on SQLite
# (the embedded mode stores and compares ISO strings). Tables declared with SQLAlchemy
# Core use it so that one definition creates the same columns the migrations do.
STAMP = DateTime(timezone=True).with_variant(Text(), "sqlite")
# ``CURRENT_TIMESTAMP`` as a server default, the same on both databases.
NOW = text("CURRENT_TIMESTAMP")


def is_sqlite(url_or_engine: str | AsyncEngine) -> bool:
    url = (
        url_or_engine.url
        if isinstance(url_or_engine, AsyncEngine)
        else make_url(url_or_engine)
    )
    return url.get_backend_name() == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 20, echo: bool = False, pre_ping: bool = False
) -> AsyncEngine:
    """Create an async engine tuned for the event store.

    PostgreSQL: asyncpg with a connection pool. SQLite: WAL journal, a busy timeout
    and ``BEGIN IMMEDIATE`` transactions, so writers queue rather than fail, and commit
    in the order they took the write lock (which is what keeps its log gap-free).

    No pre-ping by default: it costs three round trips per checkout. A connection found
    dead raises a disconnect error that invalidates the pool, so the next request
    reconnects (a database restart costs the requests in flight, answered with 503).
    """
    if is_sqlite(url):
        return _sqlite_engine(url, echo=echo)
    kwargs: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_pre_ping": pre_ping,
        "pool_recycle": 1800,
        "echo": echo,
    }
    return create_async_engine(url, **kwargs)


def _sqlite_engine(url: str, *, echo: bool) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free pages: an erased
        # person's values must not survive in the file's bytes (see scrub()).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def scrub(engine: AsyncEngine) -> None:
    """After an erasure: leave no old copy of overwritten rows in the database files.

    SQLite keeps old page images in its write-ahead log until a checkpoint; this
    checkpoints and truncates it (``secure_delete`` already zeroes freed pages).
    PostgreSQL keeps dead row versions until VACUUM, which autovacuum runs; nothing
    is done here for it.
    """
    if not is_sqlite(engine):
        return
    async with engine.connect() as conn:
        # On the driver's connection: a checkpoint cannot run inside the BEGIN
        # IMMEDIATE that every SQLAlchemy transaction here opens.
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        cursor = await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await cursor.close()


class Scrubber:
    """Scrubs a service's embedded database once an erasure's transaction commits.

    ``soon()`` is called inside the erasure's transaction: on SQLite that transaction
    holds the write lock, so the checkpoint the task runs waits (busy timeout) until
    the transaction commits, then truncates the log with the erased pages in it. On
    PostgreSQL it does nothing (see ``scrub``).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._tasks: set[asyncio.Task[None]] = set()

    def soon(self) -> None:
        if not is_sqlite(self.engine):
            return
        task = asyncio.get_running_loop().create_task(self._scrub())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Until every scrub started so far has run (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _scrub(self) -> None:
        try:
            await scrub(self.engine)
        except Exception:  # the next erasure's scrub covers this one's pages too
            logging.getLogger(__name__).exception("scrubbing after an erasure failed")


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a read that opens no transaction on PostgreSQL (autocommit:
    no ``BEGIN``, no ``ROLLBACK``, two round trips saved). Each statement reads its
    own snapshot, as it does inside a transaction at the engines' isolation level
    (PostgreSQL's default, READ COMMITTED): what a read sees does not change.

    On SQLite it is ``engine.connect()`` as it is: its ``begin`` hook opens the
    ``BEGIN IMMEDIATE`` every connection there takes (see ``_sqlite_engine``)."""
    async with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


async def first_value(
    engine: AsyncEngine, statement: TextClause, params: dict[str, Any]
) -> Any:
    """The first column of ``statement``'s first row, or None when it finds none: a
    one-statement read (no transaction, as ``reading``) for hot paths every request
    runs (the revocation check).

    On PostgreSQL, while nothing listens to the engine's statements, it runs on the
    pooled connection's asyncpg driver directly: the pool's checkout and check-in
    stay (a lost connection is invalidated, and the read tried again through
    SQLAlchemy, so its failures are the ones every other read raises), SQLAlchemy's
    execution and result machinery, about 250 µs of CPU per statement, do not.
    While something listens (statement counts in tests, an instrumentation's
    ``before_cursor_execute``), it runs through SQLAlchemy so the listener sees it.
    """
    sync = engine.sync_engine
    if (
        engine.dialect.driver != "asyncpg"
        or sync.dispatch.before_cursor_execute
        or sync.dispatch.after_cursor_execute
    ):
        return await _first_value(engine, statement, params)
    try:
        pooled = await greenlet_spawn(sync.pool.connect)
    except Exception:  # no connection: SQLAlchemy's path raises what it always did
        return await _first_value(engine, statement, params)
    sql, names = _positional(engine, statement)
    try:
        driver = pooled.driver_connection
        assert driver is not None
        return await driver.fetchval(sql, *(params[name] for name in names))
    except Exception as exc:
        if _server_refused(exc):  # a bad statement: the connection is fine
            raise
        # The connection was lost: dropped from the pool, and the read tried again
        # on a new one the way SQLAlchemy's errors are raised (503 if it fails too).
        await greenlet_spawn(pooled.invalidate, exc)
    except BaseException as exc:  # cancelled mid-statement: state unknown
        await greenlet_spawn(pooled.invalidate, exc)
        raise
    finally:
        await greenlet_spawn(pooled.close)
    return await _first_value(engine, statement, params)


async def _first_value(
    engine: AsyncEngine, statement: TextClause, params: dict[str, Any]
) -> Any:
    async with reading(engine) as conn:
        return (await conn.execute(statement, params)).scalar()


_POSITIONAL: dict[tuple[TextClause, str], tuple[str, tuple[str, ...]]] = {}


def _positional(
    engine: AsyncEngine, statement: TextClause
) -> tuple[str, tuple[str, ...]]:
    """``statement`` as the driver takes it ($1, $2, …) and its parameters' order."""
    key = (statement, engine.dialect.name)
    found = _POSITIONAL.get(key)
    if found is None:
        compiled = statement.compile(dialect=engine.dialect)
        found = (str(compiled), tuple(compiled.positiontup or ()))
        _POSITIONAL[key] = found
    return found


def _server_refused(exc: BaseException) -> bool:
    """True when the server answered ``exc`` (the connection is fine); a lost
    connection or a timeout is not."""
    import asyncpg

    return isinstance(exc, asyncpg.PostgresError) and not isinstance(
        exc, asyncpg.PostgresConnectionError
    )


async def ping(engine: AsyncEngine) -> None:
    """Readiness probe: one round trip to the database."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


# SQLSTATEs meaning "the server cannot serve now", not "the statement is wrong":
# class 08 (connection exceptions), admin/crash shutdown, cannot connect now (starting
# up or shutting down), too many connections.
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def sqlstate_of(exc: BaseException) -> str:
    """The SQLSTATE a driver error carries (on itself or its ``orig``), or ''."""
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(exc, "sqlstate", "") or "")


def sqlstate_is_outage(exc: BaseException) -> bool:
    """True when a driver error's SQLSTATE says the server is unavailable."""
    state = sqlstate_of(exc)
    return state.startswith("08") or state in OUTAGE_SQLSTATES


def is_bad_value(exc: BaseException) -> bool:
    """True when the database refused a value itself (SQLSTATE class 22, "data
    exception": out of range, NUL in text, right truncation) rather than the query.

    Request models bound every value first (``chassis.inputs``); this is the net
    under them, so a value that slips past is a typed 422, never a 500.
    """
    if sqlstate_of(exc).startswith("22"):
        return True
    orig = getattr(exc, "orig", None)
    # asyncpg refuses some values before they reach the server (int32 overflow),
    # as its own DataError without a SQLSTATE.
    return type(orig).__name__ == "DataError" or type(exc).__name__ == "DataError"
