"""Programme operations: participation, waiting list, mentor utilisation, advisor
hours and pulse surveys (definitions in ``domain/operations.py``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.events import utcnow
from services.insights.domain import operations as domain
from services.insights.projections import equity as people_view
from services.insights.projections import facts as fact_log


class Operations:
    """The programme operations report of a tenant (overseers)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def report(self, tenant: str) -> domain.Report:
        """Participation vs eligible, waiting list, utilisation, hours, pulse surveys."""
        async with self.engine.connect() as conn:
            rows = await people_view.people(conn, tenant)
            # Only the facts the report reads (not every fact of the tenant).
            kept = await fact_log.of_types(conn, tenant, domain.FACT_TYPES)
        facts = [(kind, data, at.isoformat()) for kind, data, at in kept]
        return domain.operations_report(rows, facts, utcnow().date())
