"""Pairing patterns: outcome rates by pairing characteristics, with Wilson intervals,
and the weight changes they suggest to matching (definitions in ``domain/stats.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.insights import equity
from services.insights.domain import stats
from services.insights.domain.equity import pairing_observations

router = APIRouter(tags=["equity"])


@router.get("/patterns")
async def pairing_patterns(
    request: Request, principal: equity.Overseer
) -> dict[str, Any]:
    """Outcome rates per pairing characteristic, and suggested matching weights."""
    rows = await equity.people(request, principal.tenant)
    observations = pairing_observations({r["person_id"]: r for r in rows})
    rates = stats.pattern_rates(observations)
    return {
        "pairings": len(observations),
        "confidence": 0.95,
        "characteristics": rates,
        "suggested_weights": stats.suggested_weights(rates),
    }
