"""Compare the schema the migrations built with the one the code's own DDL builds.

The services still run their idempotent ``CREATE ... IF NOT EXISTS`` at start. If a
developer changes that DDL without writing a revision, a migrated database silently
lacks the change. :func:`drift` catches it: it runs the code's DDL into a scratch
schema of the same database, reads both schemas from ``pg_catalog`` (tables, columns
with types, nullability and defaults, constraints, indexes) and reports differences.
Alembic's version tables are left out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view"}

_RELATIONS = """
SELECT c.relname, c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm')
"""
_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped
"""
_CONSTRAINTS = """
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema
"""
_INDEXES = """
SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema
"""


@dataclass(frozen=True)
class Drift:
    """How the migrated schema differs from the one the code's DDL creates."""

    missing: list[str] = field(
        default_factory=list
    )  # the code creates, no migration does
    changed: list[str] = field(
        default_factory=list
    )  # both have it, defined differently
    extra: list[str] = field(default_factory=list)  # migrated, but the code lacks it

    @property
    def clean(self) -> bool:
        """Nothing the code creates is missing or different in the migrated schema."""
        return not self.missing and not self.changed

    @property
    def identical(self) -> bool:
        return self.clean and not self.extra

    def lines(self) -> list[str]:
        return (
            [f"  only in the code's DDL: {item}" for item in self.missing]
            + [f"  differs: {item}" for item in self.changed]
            + [f"  only in the migrations: {item}" for item in self.extra]
        )


Schema = dict[str, str]
"""One entry per object: ``"column people.email" -> "text NOT NULL"`` and so on."""


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain schema name: {name!r}")
    return name


def _snapshot_sync(conn: Connection, schema: str | None) -> Schema:
    if schema is None:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    params = {"schema": schema}
    prefix = re.compile(rf"\b{re.escape(schema)}\.")

    def rows(sql: str) -> list[Any]:
        return [
            row
            for row in conn.execute(text(sql), params).all()
            if not row[0].startswith("alembic_version")
        ]

    found: Schema = {}
    for name, kind in rows(_RELATIONS):
        found[f"relation {name}"] = _KINDS[kind]
    for table, column, type_, not_null, default, identity, generated in rows(_COLUMNS):
        spec = type_ + (" NOT NULL" if not_null else "")
        if default is not None:
            spec += (" GENERATED AS " if generated else " DEFAULT ") + prefix.sub(
                "", default
            )
        if identity:
            spec += " IDENTITY " + ("ALWAYS" if identity == "a" else "BY DEFAULT")
        found[f"column {table}.{column}"] = spec
    for table, name, definition in rows(_CONSTRAINTS):
        found[f"constraint {table}.{name}"] = prefix.sub("", definition)
    for table, name, definition in rows(_INDEXES):
        found[f"index {table}.{name}"] = prefix.sub("", definition)
    return found


async def snapshot(engine: AsyncEngine, schema: str | None = None) -> Schema:
    """The objects of ``schema`` (default: the connection's current schema)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_snapshot_sync, schema)


def compare(code: Schema, migrated: Schema) -> Drift:
    """What ``migrated`` lacks, defines differently, or has beyond ``code``."""
    return Drift(
        missing=[
            f"{key} ({code[key]})" for key in sorted(code.keys() - migrated.keys())
        ],
        changed=[
            f"{key}: code {code[key]!r}, migrations {migrated[key]!r}"
            for key in sorted(code.keys() & migrated.keys())
            if code[key] != migrated[key]
        ],
        extra=[
            f"{key} ({migrated[key]})" for key in sorted(migrated.keys() - code.keys())
        ],
    )


def pin_search_path(engine: AsyncEngine, schema: str) -> None:
    """Make every NEW connection of ``engine`` create and find tables in ``schema``.

    Call it before the engine opens its first connection.
    """
    statement = f'SET SESSION search_path TO "{_identifier(schema)}"'

    @event.listens_for(engine.sync_engine, "connect")
    def _pin(dbapi_connection: Any, _record: Any) -> None:
        # Outside a transaction, or the pool's rollback would undo the SET.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.autocommit = autocommit


async def drift(
    engine: AsyncEngine, create_in: Callable[[str], Awaitable[None]]
) -> Drift:
    """Compare ``engine``'s current schema with what ``create_in(schema)`` creates.

    ``create_in`` runs the code's DDL into the scratch schema it is given (typically
    on an engine passed through :func:`pin_search_path`); the scratch schema is
    dropped afterwards whatever happens.
    """
    scratch = f"tandem_drift_{uuid.uuid4().hex[:12]}"
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{scratch}"'))
    try:
        await create_in(scratch)
        code = await snapshot(engine, scratch)
        migrated = await snapshot(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{scratch}" CASCADE'))
    return compare(code, migrated)
