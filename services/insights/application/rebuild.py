"""Rebuild every insights read model from the facts, while the old ones keep serving.

``POST /admin/rebuild`` starts it in the background; ``GET /admin/rebuild`` reports
``status`` (idle, queued, running, done, failed), ``phase``, ``processed`` and
``total`` facts while it runs. An admin rebuilds their own organisation's read models
from its own facts (every read model is keyed by tenant, and no fact of one tenant
folds into another's rows); ``?all_tenants=true`` rebuilds every organisation's and is
the operator's alone (``scope.py``). Rebuilds run one at a time (an in-process queue,
and an advisory lock across replicas): two organisations' admins never refuse or
disturb each other, they wait their turn.

How: one database transaction first takes ``LOCK TABLE facts IN SHARE MODE``, then
calls every read model's resetter and reads all facts, in the order they happened,
once. Read models that can fold facts in memory register a ``Rebuilder``: during the
single pass each gets every fact (``fold``, no I/O), and at the end writes its rows
once, in bulk (``write``). Fact handlers that no rebuilder stands in for are replayed
one fact at a time, as live (``projections/read_models.py``).

Why one transaction and not shadow tables switched by rename: PostgreSQL's MVCC already
gives what "build fresh tables while the old ones keep serving, then switch" asks.
Readers keep seeing the old rows until the commit and the new ones after, never a mix
(and never block: the resetters' ``DELETE`` does not lock out readers, unlike
``TRUNCATE`` or a rename, which take an ACCESS EXCLUSIVE lock). A failure or a stop
rolls back to the old models untouched. The cost is the dead rows a vacuum reclaims.
The share lock holds the consumer back for the duration (recording a fact needs a
conflicting lock), so no event can land between the replay's read of the facts and
the commit; it resumes, on top of the rebuilt state, right after. Taking the lock
first, before touching any read model, keeps this free of deadlocks.

Progress: ``phase`` (waiting for the facts lock, resetting, reading facts, replaying,
writing, committing), with ``processed`` of ``total`` facts during the replay.

Scorecards "now" read ``scorecard_parts``, rebuilt here like every read model;
scorecards "as of" a moment fold the facts, so they are trivially equal before and
after. What a tenant sees is unchanged by a rebuild except
for repairs. The share lock on the facts pauses the consumer for every tenant while a
rebuild runs (its events wait, none is lost): a tenant's rebuild reads only that
tenant's facts, so the pause is as short as that history. Progress lives in this
process's memory, per scope: ask the replica that was told to rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import Conflict
from contracts.api.insights import RebuildStatus
from services.insights.application.scope import Scope
from services.insights.projections.read_models import Progress, ReadModels

log = logging.getLogger(__name__)
REBUILD_LOCK = 7_264_401  # advisory lock: one rebuild at a time across replicas


def _idle() -> Progress:
    return {
        "status": RebuildStatus.IDLE,
        "phase": None,
        "processed": 0,
        "total": 0,
        "started_at": None,
        "finished_at": None,
        "error": None,
    }


class Rebuilds:
    """The rebuilds this process runs, one at a time, and their progress per scope."""

    def __init__(self, engine: AsyncEngine, read_models: ReadModels) -> None:
        self.engine = engine
        self.read_models = read_models
        self.progress: dict[Scope, Progress] = {}  # scope → its last rebuild
        self.tasks: dict[Scope, asyncio.Task[None]] = {}
        self.turn = asyncio.Lock()

    def start(self, scope: Scope) -> Progress:
        """Queue a rebuild of ``scope`` (a tenant, or ``ALL``) in the background;
        ``Conflict`` while one of the same scope is queued or running."""
        current = self.progress.get(scope)
        if current is not None and current["status"] in (
            RebuildStatus.QUEUED,
            RebuildStatus.RUNNING,
        ):
            raise Conflict("a rebuild of these read models is already under way")
        progress: Progress = {
            **_idle(),
            "status": RebuildStatus.QUEUED,
            "phase": "waiting for the rebuilds before it",
            "started_at": datetime.now(UTC).isoformat(),
        }
        self.progress[scope] = progress
        self.tasks[scope] = asyncio.create_task(self.run(scope))
        return progress.copy()

    def progress_of(self, scope: Scope) -> Progress:
        """Progress of the current (or last) rebuild of ``scope``."""
        return (self.progress.get(scope) or _idle()).copy()

    async def run(self, scope: Scope) -> None:
        """One rebuild of ``scope``, start to finish (the background task ``start``
        starts), after the rebuilds queued before it."""
        progress = self.progress[scope]
        try:
            async with self.turn:
                progress["status"] = RebuildStatus.RUNNING
                progress["phase"] = "waiting for the facts lock"
                async with self.engine.begin() as conn:
                    if not is_sqlite(conn.engine):
                        await conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"),
                            {"k": REBUILD_LOCK},
                        )
                    await self.read_models.rebuild(conn, progress, scope)
            progress["status"] = RebuildStatus.DONE
        except (
            Exception
        ) as exc:  # reported to the operator, the old models keep serving
            log.exception("insights rebuild of %s failed", scope or "every tenant")
            progress["status"] = RebuildStatus.FAILED
            progress["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            progress["phase"] = None
            progress["finished_at"] = datetime.now(UTC).isoformat()

    async def stop(self) -> None:
        """A rebuild cut short rolls back: the old models stay."""
        tasks = [t for t in self.tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
