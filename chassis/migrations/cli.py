"""Command line: ``python -m chassis.migrations COMMAND --service NAME``.

The database comes from ``DATABASE_URL`` (the same variable the service reads) or
``--database-url``. Exit status: 0 done, 1 ``check`` found the database behind or
drifted, 2 the command could not run (bad input, unreachable database ...).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from chassis.migrations.code_ddl import app_ddl, app_factory
from chassis.migrations.drift import drift
from chassis.migrations.revisions import new_revision
from chassis.migrations.runner import (
    MigrationError,
    current,
    describe,
    downgrade,
    head,
    migrations_path,
    script_directory,
    upgrade,
)

OK, BEHIND, FAILED = 0, 1, 2


class _DatabaseSettings(BaseSettings):
    """Only what a migration needs, read exactly as ``ServiceSettings`` reads it."""

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", case_sensitive=False
    )

    database_url: str | None = None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chassis.migrations",
        description="Alembic migrations of one Tandem service's PostgreSQL database.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help_: str, *, database: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.add_argument("--service", required=True, help="profiles, matching, ...")
        if database:
            sub.add_argument(
                "--database-url", help="defaults to the DATABASE_URL variable"
            )
        return sub

    command("upgrade", "bring the database to head (or --to REV)").add_argument(
        "--to", default="head", metavar="REV"
    )
    command("downgrade", "undo revisions down to REV ('base' drops all)").add_argument(
        "--to", required=True, metavar="REV"
    )
    command("current", "print the revision the database is at")
    command(
        "check",
        "exit 1 unless the database is at head and the code's DDL creates nothing "
        "the migrations do not",
    ).add_argument(
        "--app",
        required=True,
        metavar="MODULE:FACTORY",
        help="the service's app factory, e.g. services.profiles.main:build_app",
    )
    command(
        "revision", "add an empty revision after head", database=False
    ).add_argument("-m", "--message", required=True)
    return parser


def _database_url(given: str | None) -> str:
    url = given or _DatabaseSettings().database_url
    if not url:
        raise MigrationError("DATABASE_URL is not set (or pass --database-url)")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise MigrationError(f"DATABASE_URL is not a database URL: {exc}") from exc
    if parsed.get_backend_name() != "postgresql":
        raise MigrationError(
            f"migrations apply to PostgreSQL only, not {parsed.get_backend_name()}: "
            "the embedded demo (SQLite) creates its tables from the code at start"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _say(line: str) -> None:
    print(line, flush=True)


async def _with_engine(args: argparse.Namespace) -> int:
    url = _database_url(args.database_url)
    engine = create_async_engine(url, poolclass=NullPool)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        return await _dispatch(args, engine, url)
    except (OSError, SQLAlchemyError) as exc:
        raise MigrationError(f"cannot use the database at {shown}: {exc}") from exc
    finally:
        await engine.dispose()


async def _dispatch(args: argparse.Namespace, engine: AsyncEngine, url: str) -> int:
    service: str = args.service
    if args.command == "upgrade":
        outcome = await upgrade(engine, service, args.to)
        before = outcome.before
        if outcome.stamped:
            _say(
                f"{service}: tables predate migrations; stamped at baseline "
                f"{outcome.stamped}"
            )
            before = (outcome.stamped,)
        if before != outcome.after:
            _say(f"{service}: upgraded {describe(before)} -> {describe(outcome.after)}")
        else:
            _say(f"{service}: at {describe(outcome.after)}, nothing to run")
        return OK
    if args.command == "downgrade":
        outcome = await downgrade(engine, service, args.to)
        _say(
            f"{service}: downgraded {describe(outcome.before)} -> "
            f"{describe(outcome.after)}"
        )
        return OK
    newest = head(service)
    at = await current(engine, service)
    if args.command == "current":
        state = "head" if at == (newest,) else f"head is {newest}"
        _say(f"{service}: {describe(at)} ({state})")
        return OK
    # check
    if at != (newest,):
        _say(
            f"{service}: database at {describe(at)}, head is {newest}; run "
            f"`python -m chassis.migrations upgrade --service {service}`"
        )
        return BEHIND
    build_app, settings_type = app_factory(args.app)
    found = await drift(engine, app_ddl(build_app, settings_type, url))
    if not found.clean:
        _say(
            f"{service}: the code's DDL differs from the migrations; add a revision "
            f"(`python -m chassis.migrations revision --service {service} -m ...`):"
        )
        for line in found.lines():
            _say(line)
        return BEHIND
    _say(f"{service}: at head {newest}; the schema matches the code's DDL")
    for line in found.lines():  # objects only the migrations create: worth a look
        _say(line)
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "revision":
            script_directory(args.service)  # a clear error for an unknown service
            folder = migrations_path(args.service)
            assert folder is not None
            path = new_revision(folder, args.message)
            _say(f"{args.service}: wrote {path}")
            return OK
        return asyncio.run(_with_engine(args))
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return FAILED
