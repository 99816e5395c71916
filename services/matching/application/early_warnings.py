"""Matching listens to insights: a stalled relationship gets a re-pairing suggestion.

The rule, as a programme owner expects it: matching never ends a relationship on its
own, it puts a replacement on the coordinator's desk.

- ``EarlyWarningRaised`` at level ``at_risk`` with a stall among its reasons (no
  session for too long: ``no_session_for_N_days``; repeated cancellations:
  ``cancellation_streak_N``), or at level ``idle`` (no session past the programme's
  idle limit), opens a re-pairing: ``Planning.repair`` records ``RepairingRequested``
  (``requested_by="insights"``) on the pairing and proposes the mentee's next best
  mentor with ``replaces`` set. The proposal waits for the coordinator's approval and
  both people's acceptance like any other; the current pair runs on until the
  replacement is confirmed, and only then ends as rematched. A coordinator who
  rejects the proposal keeps the pair as it is.
- ``at_risk`` only because of open escalations: nothing here. The escalation is
  already with a coordinator, whose resolution (``repair_requested``) re-pairs
  through ``escalations.py``; acting on both would propose twice.
- ``needs_check_in``: nothing here; it asks for a coordinator's check-in, not a new
  mentor.

Idempotent: the consumer applies an event once; a second warning about the same
pairing (``idle`` after ``at_risk``, or a redelivery after a crash) finds the
re-pairing under way and changes nothing. A relationship id is its pairing's id.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import system_principal
from chassis.envelope import Envelope
from chassis.errors import TandemError
from chassis.messaging import Handler
from contracts.matching import ReasonCode, RequestedBy
from services.matching.application.planning import Planning

log = logging.getLogger(__name__)
STALL_REASONS = ("no_session_for_", "cancellation_streak_")


def calls_for_repairing(level: str, reasons: list[str]) -> bool:
    """Whether a warning at ``level`` with ``reasons`` opens a re-pairing."""
    if level == "idle":
        return True
    return level == "at_risk" and any(r.startswith(STALL_REASONS) for r in reasons)


def on_early_warning(planning: Planning) -> Handler:
    async def handle(env: Envelope, conn: AsyncConnection) -> None:
        level, reasons = env.data.get("level", ""), list(env.data.get("reasons", []))
        if not calls_for_repairing(level, reasons):
            return
        pairing_id = env.data["relationship_id"]
        reason = f"insights early warning {level}: {', '.join(reasons)}"
        try:
            await planning.repair_within(
                conn,
                system_principal(env.tenant),
                pairing_id,
                reason,
                code=ReasonCode.EARLY_WARNING,
                requested_by=RequestedBy.INSIGHTS,
            )
        except TandemError as exc:  # under way already, ended, nobody left
            log.info("no re-pairing for %s on %s: %s", pairing_id, level, exc)

    return handle
