"""Counting the SQL statements a request sends (SQLAlchemy engine events).

A list or batch read must send a number of statements that does not grow with the
list: texts, people and items come in one statement per kind, not one per row. The
tests measure a route at two list lengths and compare::

    async with counted(engine) as statements:
        await client.get("/relationships/r-1/sessions", headers=...)
    small = len(statements)
    ...  # grow the list to 50
    async with counted(engine) as statements:
        ...
    assert_constant("/relationships/{id}/sessions", small, statements)

Only the block's own statements are counted: those sent from its task and from the
tasks it starts (a context variable marks them), not a relay or a consumer working
beside it on the same engine. Requests must run in the test's task, as
``httpx.ASGITransport`` runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

IGNORED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
_COUNTING: ContextVar[list[str] | None] = ContextVar("counting", default=None)


@asynccontextmanager
async def counted(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The statements ``engine`` sends for the block's own work, in order."""
    statements: list[str] = []

    def count(
        _conn: Connection,
        _cursor: object,
        statement: str,
        _parameters: object,
        _context: object,
        _executemany: bool,
    ) -> None:
        if _COUNTING.get() is statements and not statement.lstrip().upper().startswith(
            IGNORED
        ):
            statements.append(" ".join(statement.split()))

    mark = _COUNTING.set(statements)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        _COUNTING.reset(mark)


def assert_constant(
    route: str, small: Sequence[str], large: Sequence[str], *, lengths: str = "1, 50"
) -> None:
    """``large`` (the statements for a long list) are no more than ``small`` (for a
    short one): a message that lists both when they are not."""
    if len(large) > len(small):
        listed = "\n  ".join(large)
        raise AssertionError(
            f"{route}: {len(small)} statements → {len(large)} at lengths {lengths}:"
            f"\n  {listed}"
        )
