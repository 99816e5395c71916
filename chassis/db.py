"""Async database engines for PostgreSQL (real mode) and SQLite (embedded demo)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import DateTime, Row, Text, event, text
from sqlalchemy.engine import Result, make_url
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.util.concurrency import greenlet_spawn

from chassis.pool import FairAsyncQueuePool

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

    The pool keeps the ``pool_size`` connections it opens and opens no more: a request
    finding them all busy waits for one (``pool_timeout``, 30 s), as it would for the
    server's cores anyway. An overflow connection would be opened for one request and
    closed after it: a server backend started, its caches warmed, then thrown away,
    on every request past the pool's size (under the gateway benchmark's load the
    services spent 20.1 ms of CPU per dashboard with that churn, 16.6 ms without).
    Requests waiting for a connection are served in the order they came
    (``chassis.pool.FairAsyncQueuePool``): a request arriving later never takes a
    connection given back while another waits.
    """
    if is_sqlite(url):
        return _sqlite_engine(url, echo=echo)
    kwargs: dict[str, Any] = {
        "poolclass": FairAsyncQueuePool,
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_pre_ping": pre_ping,
        "pool_recycle": 1800,
        "echo": echo,
        # An error's text names the statement, never its values (a person's name,
        # a sealed value's neighbours): errors are logged and dead-lettered.
        "hide_parameters": True,
    }
    return create_async_engine(url, **kwargs)


def _sqlite_engine(url: str, *, echo: bool) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
    )

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
    if not _driver_path(engine):
        return await _first_value(engine, statement, params)
    sync = engine.sync_engine
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


T = TypeVar("T")


def _driver_path(engine: AsyncEngine) -> bool:
    """True when a read may run on the asyncpg driver directly: PostgreSQL, and
    nothing listening to the engine's statements."""
    sync = engine.sync_engine
    return engine.dialect.driver == "asyncpg" and not (
        sync.dispatch.before_cursor_execute or sync.dispatch.after_cursor_execute
    )


async def read(
    engine: AsyncEngine, body: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """``body(conn)``'s answer, ``conn`` a connection that opens no transaction (as
    ``reading``'s): a read of one or several statements, each run with
    ``conn.execute(statement, params)``.

    On PostgreSQL, while nothing listens to the engine's statements (as
    ``first_value``), ``conn`` is a ``DriverReads`` on a pooled connection's asyncpg
    driver: ``execute`` runs a ``text()`` statement there and answers a SQLAlchemy
    ``Result`` of the driver's rows (``.all()``, ``.mappings()``, ``.one()``,
    ``row.name``…), the values the same (the driver's connection is the one
    SQLAlchemy's dialect set up, its json codecs included; ``text()`` columns have
    no result processing). It offers ``execute``, ``engine`` and
    ``get_raw_connection`` only. When a statement fails there, the pooled
    connection is invalidated if it was lost, and ``body`` runs again through
    SQLAlchemy (``reading``): its answer, or the error it raises (a refused
    statement, 503 for an outage), is the one every read gives. A statement the
    driver path does not take (not ``text()``, a typed parameter) runs ``body``
    through SQLAlchemy too. ``body`` must only read: it may run twice.
    """
    if not _driver_path(engine):
        return await _through_sqlalchemy(engine, body)
    sync = engine.sync_engine
    try:
        pooled = await greenlet_spawn(sync.pool.connect)
    except Exception:  # no connection: SQLAlchemy's path raises what it always did
        return await _through_sqlalchemy(engine, body)
    reads = DriverReads(engine, pooled)
    try:
        return await body(cast(AsyncConnection, reads))
    except _NotForDriver:
        pass
    except _DriverFailed as failed:
        if not _server_refused(failed.error):  # lost: dropped from the pool
            await greenlet_spawn(pooled.invalidate, failed.error)
    except BaseException as exc:
        if reads.busy or _connection_lost(exc):  # mid-statement: state unknown
            await greenlet_spawn(pooled.invalidate, exc)
        raise
    finally:
        await greenlet_spawn(pooled.close)
    return await _through_sqlalchemy(engine, body)


async def fetch_rows(
    engine: AsyncEngine, statement: TextClause, params: Mapping[str, Any]
) -> Sequence[Row[Any]]:
    """Every row of one ``text()`` statement (``read``: on the driver directly on
    PostgreSQL while nothing listens), as ``conn.execute(...).all()`` gives them."""

    async def rows(conn: AsyncConnection) -> Sequence[Row[Any]]:
        return (await conn.execute(statement, params)).all()

    return await read(engine, rows)


async def _through_sqlalchemy(
    engine: AsyncEngine, body: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    async with reading(engine) as conn:
        return await body(conn)


class _NotForDriver(Exception):
    """A statement the driver's path does not take: ``read`` asks SQLAlchemy."""


class _DriverFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class DriverReads:
    """What ``read`` gives its body on PostgreSQL: statements on the asyncpg driver
    of one pooled connection, answered as SQLAlchemy results."""

    def __init__(self, engine: AsyncEngine, pooled: Any) -> None:
        self.engine = engine
        self._pooled = pooled
        self.busy = False

    async def get_raw_connection(self) -> Any:
        return self._pooled

    async def execute(
        self, statement: Any, parameters: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        sql, args = _driver_statement(statement, parameters or {})
        driver = self._pooled.driver_connection
        self.busy = True  # left set if cancelled mid-statement: ``read`` drops it
        try:
            records = await driver.fetch(sql, *args)
        except Exception as exc:
            self.busy = False
            raise _DriverFailed(exc) from exc
        self.busy = False
        keys = list(records[0].keys()) if records else []
        return IteratorResult(SimpleResultMetaData(keys), iter(records))


# A text()'s SQL cut at its parameters: the pieces between them and their names.
_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _driver_statement(
    statement: Any, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """``statement`` in the driver's form ($1, $2, …; an expanding parameter's list
    as one placeholder per value, in parentheses, as SQLAlchemy renders it) and its
    arguments; ``_NotForDriver`` when it is not a plain ``text()``."""
    if not isinstance(statement, TextClause):
        raise _NotForDriver
    expanding = set()
    for name, bind in statement._bindparams.items():
        if not bind.type._isnull or bind.value is not None or bind.callable:
            raise _NotForDriver  # typed or bound values: SQLAlchemy processes them
        if bind.expanding:
            expanding.add(name)
    template = _TEMPLATES.get(statement.text)
    if template is None:
        if len(_TEMPLATES) > 4096:
            _TEMPLATES.clear()
        pieces: list[str] = []
        names: list[str] = []
        at = 0
        for found in TextClause._bind_params_regex.finditer(statement.text):
            pieces.append(statement.text[at : found.start()])
            names.append(found.group(1))
            at = found.end()
        pieces.append(statement.text[at:])
        if "\\:" in statement.text:  # an escaped colon: SQLAlchemy's to render
            raise _NotForDriver
        template = (tuple(pieces), tuple(names))
        _TEMPLATES[statement.text] = template
    pieces_, names_ = template
    if not names_:
        return pieces_[0], []
    numbers: dict[str, str] = {}
    args: list[Any] = []
    out = [pieces_[0]]
    for name, piece in zip(names_, pieces_[1:], strict=True):
        mark = numbers.get(name)
        if mark is None:
            try:
                value = params[name]
            except KeyError:
                raise _NotForDriver from None  # SQLAlchemy raises its own error
            if name in expanding:
                values = list(value)
                if not values:  # SQLAlchemy renders an empty set its own way
                    raise _NotForDriver
                start = len(args) + 1
                args.extend(values)
                mark = (
                    "(" + ", ".join(f"${n}" for n in range(start, len(args) + 1)) + ")"
                )
            else:
                args.append(value)
                mark = f"${len(args)}"
            numbers[name] = mark
        out.append(mark)
        out.append(piece)
    return "".join(out), args


def _connection_lost(exc: BaseException) -> bool:
    """True for a driver's error that leaves its connection unusable."""
    import asyncpg

    return isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | OSError
        | TimeoutError,
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
