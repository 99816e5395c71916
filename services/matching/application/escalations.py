"""Matching listens to sessions: an escalation a coordinator resolved with
``repair_requested`` re-pairs the mentee (the relationship id is the pairing id)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import system_principal
from chassis.envelope import Envelope
from chassis.errors import TandemError
from chassis.messaging import Handler
from contracts.matching import RequestedBy
from services.matching.application.planning import Planning

log = logging.getLogger(__name__)
REASON = "a coordinator resolved an escalation with a request to re-pair"


def on_escalation_resolved(planning: Planning) -> Handler:
    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        if env.data.get("outcome") != "repair_requested":
            return
        try:
            await planning.repair_within(
                conn,
                system_principal(env.tenant),
                env.data["relationship_id"],
                REASON,
                requested_by=RequestedBy.COORDINATOR,
            )
        except TandemError as exc:  # under way already, nobody left, not confirmed
            log.info("no re-pairing for %s: %s", env.data["relationship_id"], exc)

    return handle
