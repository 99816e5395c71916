"""Pairing patterns: outcome rates by pairing characteristics, with Wilson intervals,
and the weight changes they suggest to matching, each with its evidence (definitions
in ``domain/stats.py``). Matching never asks for them: the gateway hands them to
matching's weights preview and apply, as the coordinator chooses.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine

from services.insights.domain import stats
from services.insights.domain.equity import pairing_observations
from services.insights.projections import equity as people_view


class Report(TypedDict):
    """Outcome rates per pairing characteristic, and suggested matching weights."""

    pairings: int
    confidence: float
    characteristics: stats.Rates
    suggested_weights: list[stats.Suggestion]


class Patterns:
    """The pairing patterns of a tenant (overseers)."""

    def __init__(self, engine: AsyncEngine, *, alpha: float = stats.ALPHA) -> None:
        self.engine = engine
        self.alpha = alpha  # the significance level (the equity report's setting)

    async def report(self, tenant: str) -> Report:
        """Outcome rates per pairing characteristic, and suggested matching weights."""
        async with self.engine.connect() as conn:
            rows = await people_view.people(conn, tenant)
        observations = pairing_observations({r["person_id"]: r for r in rows})
        rates = stats.pattern_rates(observations)
        return {
            "pairings": len(observations),
            "confidence": 0.95,
            "characteristics": rates,
            "suggested_weights": stats.suggested_weights(
                observations, alpha=self.alpha
            ),
        }
