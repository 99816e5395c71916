"""Per-service database migrations with Alembic.

Each service keeps its revisions in ``services/<name>/migrations/versions`` (revision
``0001`` is the baseline: the schema the code created before migrations) and its own
version table. ``ServiceRuntime.prepare()`` upgrades a PostgreSQL database to head on
start (``MIGRATE_ON_START``, default on) before the idempotent DDL, which stays as a
safety net and as the only path for the embedded SQLite demo. Operators and CI use::

    python -m chassis.migrations upgrade --service profiles
    python -m chassis.migrations downgrade --service profiles --to 0001
    python -m chassis.migrations current --service profiles
    python -m chassis.migrations check --service profiles \\
        --app services.profiles.main:build_app
    python -m chassis.migrations revision --service profiles -m "add people.pronouns"
"""

from chassis.migrations.drift import Drift, compare, drift, pin_search_path, snapshot
from chassis.migrations.revisions import new_revision
from chassis.migrations.runner import (
    MigrationError,
    Outcome,
    current,
    downgrade,
    head,
    known_services,
    lock_key,
    migrate_on_start,
    migrations_path,
    script_directory,
    stamp,
    upgrade,
    version_table,
)

__all__ = [
    "Drift",
    "MigrationError",
    "Outcome",
    "compare",
    "current",
    "downgrade",
    "drift",
    "head",
    "known_services",
    "lock_key",
    "migrate_on_start",
    "migrations_path",
    "new_revision",
    "pin_search_path",
    "script_directory",
    "snapshot",
    "stamp",
    "upgrade",
    "version_table",
]
