"""The read models insights keeps from its facts, and their rebuild from the facts.

Each read model registers (``ReadModels.add``) the fact types it follows and its
handler, a resetter that clears its rows for a rebuild, and optionally a batch fold
(``Rebuilder``) that stands in for the handler during a rebuild.

``rebuild``: in the caller's transaction, first ``LOCK TABLE facts IN SHARE MODE``,
then every resetter, then all facts read once in the order they happened (as light
tuples, ``facts.Kept``, with their moment's ISO text written by the server). A batch
may compute its rows from the whole history on the machine's other core, in a forked
child (``begin``, ``aside.py``: relationship health and the scorecard parts, pure
Python as long as all the rest); the others fold every fact during the single pass
(``fold``, no I/O). Each then writes its rows once, in bulk (``write``: ``COPY`` on
PostgreSQL, the scope's rows being all new after its reset); fact handlers no batch
stands in for are replayed one fact at a time, as live. A batch must give exactly what its handler gives live for the
same facts in the same order (``tests/insights`` compare rebuild with live); it reuses
the domain's own ``apply`` so there is one definition of each fold. Why one
transaction, and how it keeps serving meanwhile: ``application/rebuild.py``.
"""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.db import is_sqlite
from chassis.envelope import Envelope
from contracts.api.insights import RebuildStatus
from services.insights.projections import facts
from services.insights.projections.facts import FactHandler, Kept

YIELD_EVERY = 2000  # facts folded between yields, so progress requests get answered
Resetter = Callable[[AsyncConnection, str | None], Awaitable[None]]
# A read model's handler of several new facts at once (in order): the same rows as its
# ``FactHandler`` applied to each in turn.
ManyHandler = Callable[[Sequence[Envelope], AsyncConnection], Awaitable[None]]
# A rebuild's progress as the admin route reports it (phase, processed, total, ...).


class Progress(TypedDict):
    """Where a rebuild stands (``application/rebuild.py``; ``GET /admin/rebuild``)."""

    status: RebuildStatus
    phase: str | None
    processed: int
    total: int
    started_at: str | None
    finished_at: str | None
    error: str | None


class Batch(Protocol):
    """One rebuild's in-memory fold of a read model. ``begin`` sees the whole
    history first: a batch that computes its rows from it on its own (aside, on the
    other core: ``aside.py``) answers True and is not folded; the others get every
    fact in ``fold``, a run at a time, in the order they happened. Then each
    ``write``s its rows in turn, and is ``close``d whatever happened (what it
    started aside is dropped)."""

    def begin(self, history: Sequence[Kept]) -> bool: ...

    def fold(self, facts: Sequence[Kept]) -> None: ...

    async def write(self, conn: AsyncConnection) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Rebuilder:
    """Stands in for ``handlers`` during a rebuild with a fold in memory (``start``)."""

    handlers: frozenset[FactHandler]
    start: Callable[[], Batch]


class ReadModels:
    """Every read model kept from the facts: handlers by fact type, resetters and
    rebuilders."""

    def __init__(self) -> None:
        self.handlers: defaultdict[str, list[FactHandler]] = defaultdict(list)
        self.resetters: list[Resetter] = []
        self.rebuilders: list[Rebuilder] = []
        # Per read model: the kinds it follows, its handler, its handler of many.
        self.models: list[tuple[frozenset[str], FactHandler, ManyHandler | None]] = []

    def add(
        self,
        kinds: Iterable[str],
        handler: FactHandler,
        *,
        reset: Resetter,
        batch: Callable[[], Batch] | None = None,
        many: ManyHandler | None = None,
    ) -> None:
        """A read model that ``handler`` keeps from facts of ``kinds`` (``many``: the
        same for several facts at once, with statements that do not grow with them)."""
        kinds = tuple(kinds)
        self.models.append((frozenset(kinds), handler, many))
        for kind in kinds:
            self.handlers[kind].append(handler)
        self.resetters.append(reset)
        if batch is not None:
            self.rebuilders.append(Rebuilder(frozenset({handler}), batch))

    async def apply(self, env: Envelope, conn: AsyncConnection) -> None:
        """Hand a new fact to every read model that follows its type."""
        for handle in self.handlers.get(env.type, ()):
            await handle(env, conn)

    async def apply_many(self, envs: Sequence[Envelope], conn: AsyncConnection) -> None:
        """``apply`` of each new fact in turn, read model by read model (each reads
        and writes its own rows only, so the order across read models is free)."""
        for kinds, handle, many in self.models:
            mine = [env for env in envs if env.type in kinds]
            if not mine:
                continue
            if many is not None:
                await many(mine, conn)
            else:
                for env in mine:
                    await handle(env, conn)

    async def rebuild(
        self, conn: AsyncConnection, progress: Progress, tenant: str | None = None
    ) -> None:
        """Reset every read model and replay the facts into it, within ``conn``: one
        tenant's rows from that tenant's facts, or (``tenant`` None) every tenant's."""
        # The history and the folds are many long-lived containers: the collector's
        # passes over them (every few thousand allocations) cost more than the fold
        # itself. Paused for the rebuild (nothing it builds is cyclic garbage).
        collecting = gc.isenabled()
        gc.disable()
        try:
            await self._rebuild(conn, progress, tenant)
        finally:
            if collecting:
                gc.enable()

    async def _rebuild(
        self, conn: AsyncConnection, progress: Progress, tenant: str | None
    ) -> None:
        if not is_sqlite(conn.engine):
            await conn.execute(text("LOCK TABLE facts IN SHARE MODE"))
        progress["phase"] = "resetting"
        for reset in self.resetters:
            await reset(conn, tenant)
        progress["phase"] = "reading facts"
        history = await facts.replay_kept(conn, tenant)
        progress["total"] = len(history)
        progress["phase"] = "replaying"
        batches = [r.start() for r in self.rebuilders]
        try:
            folding = [batch for batch in batches if not batch.begin(history)]
            covered = frozenset[FactHandler]().union(
                *(r.handlers for r in self.rebuilders)
            )
            one_by_one = {
                kind: kept
                for kind, handlers in self.handlers.items()
                if (kept := [h for h in handlers if h not in covered])
            }
            # A run of facts at a time to every batch (each folds its own rows only,
            # so the order across batches is free), then to the handlers replayed
            # one by one.
            for start in range(0, len(history), YIELD_EVERY):
                run = history[start : start + YIELD_EVERY]
                for batch in folding:
                    batch.fold(run)
                if one_by_one:
                    for fact in run:
                        handlers = one_by_one.get(fact.type)
                        if handlers:
                            env = fact.envelope()
                            for handle in handlers:
                                await handle(env, conn)
                progress["processed"] = start + len(run)
                await asyncio.sleep(0)
            progress["phase"] = "writing"
            # Those folded here first: the others' rows may still be computed aside.
            for batch in [*folding, *(b for b in batches if b not in folding)]:
                await batch.write(conn)
        finally:
            for batch in batches:
                batch.close()
        progress["phase"] = "committing"
