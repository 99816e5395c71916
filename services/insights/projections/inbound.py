"""What insights does with every event it consumes, in the consumer's transaction.

Each event is screened and stripped of free text (``erasure.py``), kept as a fact
(``facts.py``) and handed to every read model that follows its type
(``read_models.py``), all in the consumer's one transaction, so redelivery changes
nothing. ``PersonErased`` / ``AdvisorErased`` forget the person in every store instead,
and they, ``PersonDeactivated`` and ``PersonReactivated`` keep the keyed revocation
view (the person's tokens refused) from the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

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
