"""Matching listens to notifications: a relationship closed as inactive (its pair was
warned, and neither answered nor met within the notice period) ends its pairing with
reason ``inactive``; sessions concludes the relationship from ``PairingEnded``.

A relationship id is its pairing's id. Idempotent: the consumer applies an event
once, and a pairing already ended (or never confirmed here) is left as it is.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import system_principal
from chassis.envelope import Envelope
from chassis.messaging import Handler
from contracts.matching import PairingState, ReasonCode
from services.matching.application.pairings import Pairings

log = logging.getLogger(__name__)


def on_inactivity_closed(pairings: Pairings) -> Handler:
    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        pairing_id = str(env.data["relationship_id"])
        pairing = await pairings.pairings.find(pairing_id, env.tenant, connection=conn)
        if pairing is None or pairing.state != PairingState.CONFIRMED:
            log.info("inactivity closing of %s: no confirmed pairing", pairing_id)
            return
        pairing.end(ReasonCode.INACTIVE)
        await pairings.pairings.save(
            pairing,
            pairings.metadata_for(system_principal(env.tenant)),
            connection=conn,
        )

    return handle
