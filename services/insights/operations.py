"""Programme operations: participation, waiting list, mentor utilisation, advisor
hours and pulse surveys (definitions in ``domain/operations.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from chassis.events import utcnow
from services.insights import equity
from services.insights import facts as fact_log
from services.insights.domain import operations as domain

router = APIRouter(tags=["equity"])


@router.get("/operations")
async def programme_operations(
    request: Request, principal: equity.Overseer
) -> dict[str, Any]:
    """Participation vs eligible, waiting list, utilisation, hours, pulse surveys."""
    rows = await equity.people(request, principal.tenant)
    async with request.app.state.runtime.engine.connect() as conn:
        history = await fact_log.replay(conn, principal.tenant)
    facts = [
        (e.type, e.data, e.time.isoformat())
        for e in history
        if e.type in domain.FACT_TYPES
    ]
    return domain.operations_report(rows, facts, utcnow().date())
