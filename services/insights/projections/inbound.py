"""What insights does with every event it consumes, in the consumer's transaction.

Each event is screened and stripped of free text (``erasure.py``), kept as a fact
(``facts.py``) and handed to every read model that follows its type
(``read_models.py``), all in the consumer's one transaction, so redelivery changes
nothing. ``PersonErased`` / ``AdvisorErased`` forget the person in every store instead,
and they, ``PersonDeactivated`` and ``PersonReactivated`` keep the keyed revocation
view (the person's tokens refused) from the same transaction.

``apply_many`` does the same for a polled batch (the consumer's ``batch_handler``)
with a number of statements that does not grow with the batch: the events between two
erasures are screened together, kept as facts in one ``executemany`` per table and
handed to each read model together (``ReadModels.apply_many``), which reads the rows
they touch in one statement, folds each row once and writes them in one statement. An
erasure in the batch is applied in its place, between the events before and after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from services.insights.projections import facts
from services.insights.projections.erasure import (
    ERASURES,
    REVOKING,
    Erasures,
    KeyedRevocations,
    strip,
)
from services.insights.projections.read_models import ReadModels

# Events that report a job's progress (profiles' HRIS imports) rather than something
# that happened to a person or a relationship: no read model is computed from them.
TRANSIENT = frozenset({"ImportProgressed", "ImportFinished"})
# Told of every event whose effects a transaction is writing (the lag monitor).
Applying = Callable[[Envelope, AsyncConnection], None]


class Inbound:
    """The consumer's handler of every event (kept as a fact even when no read model
    needs it yet: a later one computes from it on rebuild)."""

    def __init__(
        self,
        read_models: ReadModels,
        erasures: Erasures,
        revocations: KeyedRevocations,
        applying: Applying,
    ) -> None:
        self.read_models = read_models
        self.erasures = erasures
        self.revocations = revocations
        self.applying = applying

    async def apply(self, env: Envelope, conn: AsyncConnection) -> None:
        self.applying(env, conn)
        if env.type in TRANSIENT:  # progress reports of a job, not history
            return
        if env.type in REVOKING:
            await self.revocations.apply(conn, env)
        if env.type in ERASURES:
            await self.erasures.erase(conn, env)
            return
        kept = await self.erasures.screen(conn, strip(env))
        if kept is None:  # an erased person's own event, arrived after the erasure
            return
        await facts.record(kept, conn)
        await self.read_models.apply(kept, conn)

    async def apply_many(self, envs: Sequence[Envelope], conn: AsyncConnection) -> None:
        """``apply`` of each event, in order, with the statements grouped."""
        run: list[Envelope] = []  # the events since the last erasure
        for env in envs:
            self.applying(env, conn)
            if env.type in TRANSIENT:
                continue
            if env.type in REVOKING:  # read by no read model: in place is the same
                await self.revocations.apply(conn, env)
            if env.type in ERASURES:
                await self._keep(run, conn)
                run = []
                await self.erasures.erase(conn, env)
                continue
            run.append(env)
        await self._keep(run, conn)

    async def _keep(self, envs: list[Envelope], conn: AsyncConnection) -> None:
        if not envs:
            return
        screened = await self.erasures.screen_many(conn, [strip(e) for e in envs])
        kept = [e for e in screened if e is not None]
        await facts.record_many(kept, conn)
        await self.read_models.apply_many(kept, conn)
