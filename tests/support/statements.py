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

Every statement the engine sends is counted, in any connection of any task, while
the block runs; run nothing else on the engine meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

IGNORED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@asynccontextmanager
async def counted(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The statements ``engine`` sends while the block runs, in order."""
    statements: list[str] = []

    def count(
        _conn: Connection,
        _cursor: object,
        statement: str,
        _parameters: object,
        _context: object,
        _executemany: bool,
    ) -> None:
        if not statement.lstrip().upper().startswith(IGNORED):
            statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


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
