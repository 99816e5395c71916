"""Per-service Alembic migrations on the real PostgreSQL server.

The drift test is the one that bites: change a service's DDL without a revision and
the migrated schema no longer equals the code's, so this fails until a revision is
written (``python -m chassis.migrations revision --service NAME -m ...``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from chassis.events import EventMetadata, NewEvent
from chassis.migrations import (
    MigrationError,
    current,
    downgrade,
    drift,
    head,
    lock_key,
    migrations_path,
    new_revision,
    pin_search_path,
    snapshot,
    upgrade,
)
from chassis.migrations.cli import main as cli
from chassis.migrations.code_ddl import app_ddl, app_factory
from tests.apps import serving
from tests.support.waiting import until

pytestmark = pytest.mark.postgres

SERVICES = [
    "profiles",
    "matching",
    "sessions",
    "advisors",
    "insights",
    "notifications",
]
ROOT = Path(__file__).resolve().parents[2]


def service_ddl(service: str, database_url: str):  # type: ignore[no-untyped-def]
    """The service's start-up schema, its app factory named by the caller."""
    return app_ddl(*app_factory(f"services.{service}.main:build_app"), database_url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        return {row[0] for row in rows}


def run_cli(database_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "chassis.migrations", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_migrated_schema_is_the_code_ddl_and_round_trips(
    service: str, engine: AsyncEngine, database_url: str
) -> None:
    outcome = await upgrade(engine, service)
    assert outcome.before == () and outcome.after == (head(service),)

    found = await drift(engine, service_ddl(service, database_url))
    assert found.missing == [] and found.changed == [] and found.extra == []
    assert "relation events" in await snapshot(engine)

    await downgrade(engine, service, "base")
    assert await current(engine, service) == ()
    assert await tables(engine) == {f"alembic_version_{service}"}

    await upgrade(engine, service)
    assert await current(engine, service) == (head(service),)


async def test_drift_names_what_the_code_creates_without_a_revision(
    engine: AsyncEngine, database_url: str
) -> None:
    await upgrade(engine, "insights")
    code_ddl = service_ddl("insights", database_url)

    async def code_with_a_new_column_and_table(schema: str) -> None:
        await code_ddl(schema)
        scratch = create_async_engine(database_url, poolclass=NullPool)
        pin_search_path(scratch, schema)
        async with scratch.begin() as conn:
            await conn.execute(text("ALTER TABLE facts ADD COLUMN weight INTEGER"))
            await conn.execute(text("CREATE TABLE cohort_goals (id TEXT PRIMARY KEY)"))
        await scratch.dispose()

    found = await drift(engine, code_with_a_new_column_and_table)
    assert not found.clean
    assert "column facts.weight (integer)" in found.missing
    assert "relation cohort_goals (table)" in found.missing
    # the scratch schema is gone again
    async with engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tandem_drift%'")
        )
    assert left == 0


def test_check_exits_1_before_head_and_0_at_head(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--service", "matching", "--database-url", database_url]
    top = head("matching")
    check = ["check", "--app", "services.matching.main:build_app"]
    assert cli([*check, *args]) == 1
    assert f"head is {top}" in capsys.readouterr().out

    # the exact start step the deployment runs
    done = run_cli(database_url, "upgrade", "--service", "matching")
    out, _ = done.communicate(timeout=120)
    assert done.returncode == 0, out
    assert f"matching: upgraded none -> {top}" in out

    assert cli([*check, *args]) == 0
    assert "schema matches the code's DDL" in capsys.readouterr().out
    assert cli(["current", *args]) == 0
    assert f"matching: {top} (head)" in capsys.readouterr().out


def test_bad_input_gets_a_clear_error_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        cli(["upgrade", "--service", "payroll", "--database-url", "postgresql://h/d"])
        == 2
    )
    err = capsys.readouterr().err
    assert "no migrations for service 'payroll'" in err and "profiles" in err

    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    assert cli(["upgrade", "--service", "profiles", "--database-url", sqlite]) == 2
    assert "PostgreSQL only" in capsys.readouterr().err

    nobody = "postgresql://tandem@127.0.0.1:1/tandem"
    assert cli(["current", "--service", "insights", "--database-url", nobody]) == 2
    assert "cannot use the database at" in capsys.readouterr().err


async def test_database_from_an_older_start_is_stamped_not_broken(
    engine: AsyncEngine, database_url: str
) -> None:
    main = importlib.import_module("services.insights.main")
    app = main.build_app(
        main.Settings(database_url=database_url, migrate_on_start=False)
    )
    runtime = app.state.runtime
    await runtime.prepare()  # the pre-migrations start: plain DDL only
    await runtime.store.append(
        "thing-1",
        "Thing",
        0,
        [NewEvent("ThingHappened", {"n": 1})],
        EventMetadata(tenant="t1"),
    )
    await runtime.engine.dispose()
    assert await current(engine, "insights") == ()

    outcome = await upgrade(engine, "insights")
    assert outcome.stamped == "0001" and outcome.after == (head("insights"),)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM events")) == 1


async def test_replicas_starting_together_take_turns(
    engine: AsyncEngine, database_url: str
) -> None:
    # Hold the lock as if a first replica were migrating; two more start meanwhile.
    key = lock_key("sessions")
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        replicas = [
            run_cli(database_url, "upgrade", "--service", "sessions") for _ in "ab"
        ]

        async def both_queued() -> bool:
            waiting = await holder.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted AND classid::bigint = :high AND objid::bigint = :low"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            )
            return bool(waiting >= 2)

        def one_exited() -> str | None:
            for p in replicas:
                if p.poll() is not None:
                    return f"a replica exited ({p.returncode}): {p.communicate()[0]}"
            return None

        await until(
            both_queued,
            "both replicas to queue on the lock",
            60,
            interval_s=0.05,
            give_up=one_exited,
        )
        assert await current(engine, "sessions") == ()
        await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        await holder.commit()

    outputs = [p.communicate(timeout=120)[0] for p in replicas]
    assert [p.returncode for p in replicas] == [0, 0], outputs
    assert sorted("upgraded" in out for out in outputs) == [False, True], outputs
    assert await current(engine, "sessions") == (head("sessions"),)


async def test_a_service_started_on_postgres_ends_at_head(
    engine: AsyncEngine, database_url: str
) -> None:
    main = importlib.import_module("services.advisors.main")
    app = main.build_app(main.Settings(database_url=database_url, environment="test"))
    async with serving(app, "advisors") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert await current(engine, "advisors") == (head("advisors"),)


def test_revision_adds_an_empty_step_after_head(tmp_path: Path) -> None:
    source = migrations_path("profiles")
    assert source is not None
    folder = tmp_path / "migrations"
    shutil.copytree(source, folder)

    before = ScriptDirectory(str(folder)).get_current_head()
    assert before is not None
    after = f"{int(before) + 1:04d}"
    path = new_revision(folder, "Add people.pronouns")
    assert path.name == f"{after}_add_people_pronouns.py"
    script = ScriptDirectory(str(folder))
    assert script.get_current_head() == after
    assert script.get_revision(after).down_revision == before
    with pytest.raises(MigrationError, match="needs a message"):
        new_revision(folder, "  ")
