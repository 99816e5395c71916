"""Run a service's Alembic revisions against its PostgreSQL database.

Each service keeps its revisions in ``services/<name>/migrations/versions`` and its
own version table (``alembic_version_<name>``), so two services may even share a
database without reading each other's history. Alembic is driven programmatically
(no ``alembic.ini``, no ``env.py``): the async engine hands a synchronous connection
to Alembic through ``AsyncConnection.run_sync``.

Every change runs in ONE transaction that first takes a PostgreSQL advisory lock
derived from the service name: replicas starting together queue on the lock, the
first migrates, the others find the database at head and do nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# The event store's table: present in every service database created by a start.
_STORE_TABLE = "events"


class MigrationError(Exception):
    """A migration command cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class Outcome:
    """Where an upgrade found the database and where it left it."""

    service: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    stamped: str | None = None  # the baseline a pre-migrations database was stamped at

    @property
    def changed(self) -> bool:
        return self.before != self.after


def version_table(service: str) -> str:
    """The service's own Alembic version table."""
    return f"alembic_version_{service}"


def lock_key(service: str) -> int:
    """The advisory lock (a signed 64-bit key) that serialises the service's migrations."""
    digest = hashlib.sha256(f"tandem.migrations.{service}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migrations_path(service: str) -> Path | None:
    """``services/<service>/migrations`` if that service has revisions, else None."""
    if not _SERVICE_NAME.match(service):
        return None
    try:
        spec = importlib.util.find_spec(f"services.{service}.migrations")
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)))
    return path if (path / "versions").is_dir() else None


def known_services() -> list[str]:
    """Names of the services that ship migrations (for error messages)."""
    try:
        spec = importlib.util.find_spec("services")
    except ModuleNotFoundError:
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    roots = [Path(p) for p in spec.submodule_search_locations]
    return sorted(
        folder.name
        for root in roots
        for folder in root.iterdir()
        if (folder / "migrations" / "versions").is_dir()
    )


def script_directory(service: str) -> ScriptDirectory:
    """The service's Alembic script directory, or a MigrationError naming the known ones."""
    path = migrations_path(service)
    if path is None:
        known = ", ".join(known_services()) or "none found"
        raise MigrationError(
            f"no migrations for service {service!r} (services with migrations: {known})"
        )
    return ScriptDirectory(str(path))


def head(service: str) -> str:
    """The newest revision of the service's migrations."""
    script = script_directory(service)
    try:
        current = script.get_current_head()
    except (CommandError, RevisionError) as exc:
        raise MigrationError(f"{service}: {exc}") from exc
    if current is None:
        raise MigrationError(f"{service}: the migrations folder has no revisions")
    return current


def _require_postgres(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        raise MigrationError(
            f"migrations apply to PostgreSQL only, not {engine.dialect.name}: the "
            "embedded demo (SQLite) creates its tables from the code at start"
        )


# Alembic installs its ``op``/``context`` proxies module-wide while it runs, and a
# migration on an async engine yields to the event loop at every statement. Two
# migrations in one loop (two services starting together in a test, say) must therefore
# take turns. One lock per running loop, forgotten with the loop.
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _locked(engine: AsyncEngine, service: str) -> AsyncIterator[AsyncConnection]:
    loop = asyncio.get_running_loop()
    turn = _turns.setdefault(loop, asyncio.Lock())
    async with turn, engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(service)}
        )
        yield conn


def _heads(conn: Connection, service: str) -> tuple[str, ...]:
    context = MigrationContext.configure(
        conn, opts={"version_table": version_table(service)}
    )
    return tuple(context.get_current_heads())


def _run(
    conn: Connection,
    script: ScriptDirectory,
    service: str,
    step: Callable[[Any, MigrationContext], Any],
    destination: str,
) -> None:
    with EnvironmentContext(
        Config(), script, fn=step, destination_rev=destination
    ) as env:
        env.configure(connection=conn, version_table=version_table(service))
        # The caller's transaction is already open: Alembic joins it.
        with env.begin_transaction():
            env.run_migrations()


def _stamp_sync(
    conn: Connection, script: ScriptDirectory, service: str, revision: str
) -> None:
    _run(
        conn,
        script,
        service,
        lambda rev, _: script._stamp_revs((revision,), rev),
        revision,
    )


def _upgrade_sync(
    conn: Connection, script: ScriptDirectory, service: str, revision: str
) -> Outcome:
    before = _heads(conn, service)
    stamped = None
    if not before and inspect(conn).has_table(_STORE_TABLE):
        # Tables from a start that predates migrations: they ARE the baseline.
        bases = script.get_bases()
        if len(bases) != 1:
            raise MigrationError(
                f"{service}: expected one base revision, found {bases}"
            )
        stamped = bases[0]
        _stamp_sync(conn, script, service, stamped)
        log.info("%s: tables predate migrations; stamped at %s", service, stamped)
    _run(
        conn,
        script,
        service,
        lambda rev, _: script._upgrade_revs(revision, rev),
        revision,
    )
    return Outcome(service, before, _heads(conn, service), stamped)


def _downgrade_sync(
    conn: Connection, script: ScriptDirectory, service: str, revision: str
) -> Outcome:
    before = _heads(conn, service)
    _run(
        conn,
        script,
        service,
        lambda rev, _: script._downgrade_revs(revision, rev),
        revision,
    )
    return Outcome(service, before, _heads(conn, service))


async def _change(
    engine: AsyncEngine,
    service: str,
    revision: str,
    sync: Callable[[Connection, ScriptDirectory, str, str], Any],
) -> Any:
    _require_postgres(engine)
    script = script_directory(service)
    try:
        async with _locked(engine, service) as conn:
            return await conn.run_sync(sync, script, service, revision)
    except (CommandError, RevisionError) as exc:
        raise MigrationError(f"{service}: {exc}") from exc


async def upgrade(engine: AsyncEngine, service: str, revision: str = "head") -> Outcome:
    """Bring the service's database to ``revision`` (default: head).

    A database whose tables were created before migrations existed (the event store
    is there, the version table is not) is stamped at the baseline first.
    """
    outcome: Outcome = await _change(engine, service, revision, _upgrade_sync)
    if outcome.changed:
        log.info("%s: migrated %s -> %s", service, outcome.before, outcome.after)
    return outcome


async def downgrade(engine: AsyncEngine, service: str, revision: str) -> Outcome:
    """Undo the service's revisions down to ``revision`` (``base`` drops everything)."""
    outcome: Outcome = await _change(engine, service, revision, _downgrade_sync)
    return outcome


async def stamp(engine: AsyncEngine, service: str, revision: str) -> None:
    """Record ``revision`` as current without running anything."""
    await _change(engine, service, revision, _stamp_sync)


async def current(engine: AsyncEngine, service: str) -> tuple[str, ...]:
    """The revision(s) the database is at; empty when it has none."""
    _require_postgres(engine)
    async with engine.connect() as conn:
        return await conn.run_sync(_heads, service)


async def migrate_on_start(engine: AsyncEngine, service: str) -> Outcome | None:
    """Upgrade to head at start: PostgreSQL services that ship migrations only.

    SQLite (the embedded demo) and services without a migrations folder (test
    doubles) keep the plain idempotent DDL and get None.
    """
    if engine.dialect.name != "postgresql" or migrations_path(service) is None:
        return None
    return await upgrade(engine, service)


def describe(revisions: Sequence[str]) -> str:
    """``0001`` / ``0001, 0002`` / ``none`` for messages."""
    return ", ".join(revisions) if revisions else "none"
