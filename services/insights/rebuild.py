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
calls every part's resetter (``app.state.resetters``) and reads all facts, in the
order they happened, once. Parts that can fold facts in memory register a
``Rebuilder`` (``app.state.rebuilders``): during the single pass each gets every fact
(``fold``, no I/O), and at the end writes its rows once, in bulk (``write``). Fact
handlers that no rebuilder stands in for are replayed one fact at a time, as live.
A rebuilder must give exactly what its handlers give live for the same facts in the
same order (``tests/insights`` compare rebuild with live); it reuses the domain's own
``apply`` so there is one definition of each fold.

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

Scorecards keep no tables (they are computed from facts on request), so they are
trivially equal before and after. What a tenant sees is unchanged by a rebuild except
for repairs. The share lock on the facts pauses the consumer for every tenant while a
rebuild runs (its events wait, none is lost): a tenant's rebuild reads only that
tenant's facts, so the pause is as short as that history. Progress lives in this
process's memory, per scope: ask the replica that was told to rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.fastapi import PrincipalDep
from chassis.db import is_sqlite
from chassis.envelope import Envelope
from chassis.errors import Conflict
from services.insights import facts
from services.insights.scope import AllTenants, Scope, scope_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin", tags=["admin"])
YIELD_EVERY = 2000  # facts folded between yields, so progress requests get answered
REBUILD_LOCK = 7_264_401  # advisory lock: one rebuild at a time across replicas
Resetter = Callable[[AsyncConnection, str | None], Awaitable[None]]


class Batch(Protocol):
    """One rebuild's in-memory fold of a part's read model."""

    def fold(self, env: Envelope) -> None: ...

    async def write(self, conn: AsyncConnection) -> None: ...


@dataclass(frozen=True)
class Rebuilder:
    """Stands in for ``handlers`` during a rebuild with a fold in memory (``start``)."""

    handlers: frozenset[Callable[..., Awaitable[None]]]
    start: Callable[[], Batch]


def _idle() -> dict[str, Any]:
    return {
        "status": "idle",
        "phase": None,
        "processed": 0,
        "total": 0,
        "started_at": None,
        "finished_at": None,
        "error": None,
    }


async def replay_into(
    app: Any, conn: AsyncConnection, progress: dict, tenant: str | None = None
) -> None:
    """Reset every part and replay the facts into it, within ``conn``: one tenant's
    rows from that tenant's facts, or (``tenant`` None) every tenant's."""
    if not is_sqlite(conn.engine):
        await conn.execute(text("LOCK TABLE facts IN SHARE MODE"))
    progress["phase"] = "resetting"
    resetters: list[Resetter] = app.state.resetters
    for reset in resetters:
        await reset(conn, tenant)
    progress["phase"] = "reading facts"
    history = await facts.replay(conn, tenant)
    progress["total"] = len(history)
    progress["phase"] = "replaying"
    rebuilders: list[Rebuilder] = app.state.rebuilders
    batches = [r.start() for r in rebuilders]
    covered = frozenset().union(*(r.handlers for r in rebuilders))
    one_by_one = {
        kind: kept
        for kind, handlers in app.state.fact_handlers.items()
        if (kept := [h for h in handlers if h not in covered])
    }
    for n, env in enumerate(history, 1):
        for batch in batches:
            batch.fold(env)
        for handle in one_by_one.get(env.type, ()):
            await handle(env, conn)
        progress["processed"] = n
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    progress["phase"] = "writing"
    for batch in batches:
        await batch.write(conn)
    progress["phase"] = "committing"


async def run(app: Any, scope: Scope) -> None:
    """One rebuild of ``scope`` (a tenant, or ``ALL``), start to finish (the
    background task ``POST`` starts), after the rebuilds queued before it."""
    progress = app.state.rebuilds[scope]
    try:
        async with app.state.rebuild_turn:
            progress.update(status="running", phase="waiting for the facts lock")
            async with app.state.runtime.engine.begin() as conn:
                if not is_sqlite(conn.engine):
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": REBUILD_LOCK}
                    )
                await replay_into(app, conn, progress, scope)
        progress["status"] = "done"
    except Exception as exc:  # reported to the operator, the old models keep serving
        log.exception("insights rebuild of %s failed", scope or "every tenant")
        progress.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        progress["phase"] = None
        progress["finished_at"] = datetime.now(UTC).isoformat()


@router.post("/rebuild", status_code=202)
async def start_rebuild(
    request: Request, principal: PrincipalDep, all_tenants: AllTenants = False
) -> dict[str, Any]:
    """Start rebuilding your organisation's read models from its facts (admins);
    every organisation's with `all_tenants=true` (operators)."""
    scope = scope_of(principal, all_tenants, "a rebuild")
    app = request.app
    current = app.state.rebuilds.get(scope)
    if current is not None and current["status"] in ("queued", "running"):
        raise Conflict("a rebuild of these read models is already under way")
    app.state.rebuilds[scope] = progress = {
        **_idle(),
        "status": "queued",
        "phase": "waiting for the rebuilds before it",
        "started_at": datetime.now(UTC).isoformat(),
    }
    app.state.rebuild_tasks[scope] = asyncio.create_task(run(app, scope))
    return dict(progress)


@router.get("/rebuild")
async def rebuild_progress(
    request: Request, principal: PrincipalDep, all_tenants: AllTenants = False
) -> dict:
    """Progress of the current (or last) rebuild of your organisation's read models
    (or, `all_tenants=true`, of the operator's full rebuild)."""
    scope = scope_of(principal, all_tenants, "a rebuild's progress")
    return dict(request.app.state.rebuilds.get(scope) or _idle())


def install(app: Any, runtime: Any) -> None:
    app.state.rebuilds = {}  # scope (a tenant, or ALL) → progress of its last rebuild
    app.state.rebuild_tasks = {}
    app.state.rebuild_turn = asyncio.Lock()
    app.include_router(router)

    async def stop() -> None:  # a rebuild cut short rolls back: the old models stay
        tasks = [t for t in app.state.rebuild_tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    runtime.on_stop.append(stop)
