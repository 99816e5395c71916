"""Equity reports: who takes part, gets matched and progresses, per group.

Computed from ``equity_people``, the people view (``projections/equity.py``); the
reports are pure functions of it (definitions in ``domain/equity.py``; disclosure
control in ``domain/disclosure.py``): counts rounded to 5, small groups and cells
withheld (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.errors import FieldError, ValidationFailed
from chassis.events import utcnow
from chassis.inputs import EARLIEST
from services.insights.domain import equity as domain
from services.insights.projections import equity as people_view

CSV_FIELDS = (
    "group",
    "suppressed",
    "registered",
    "participants",
    "participation_rate",
    "matched",
    "match_rate",
    "match_rate_low",
    "match_rate_high",
    "match_rate_impact",
    "match_rate_p_value",
    "match_rate_verdict",
    "match_rate_flagged",
    "median_days_to_match",
    "mean_match_score",
    "promoted",
    "promotion_rate",
    "promotion_rate_low",
    "promotion_rate_high",
    "promotion_rate_impact",
    "promotion_rate_p_value",
    "promotion_rate_verdict",
    "promotion_rate_flagged",
    "departed",
)
Report = domain.Report


def _flat(row: Mapping[str, object]) -> dict[str, object]:
    """A row with each interval as its two bounds (``*_low``, ``*_high``)."""
    out: dict[str, object] = {}
    for name, value in row.items():
        if name.endswith("_interval"):
            low, high = value if isinstance(value, tuple | list) else (None, None)
            out[f"{name.removesuffix('_interval')}_low"] = low
            out[f"{name.removesuffix('_interval')}_high"] = high
        else:
            out[name] = value
    return out


def csv_rows(report: Report) -> Iterator[dict[str, object]]:
    """The report as CSV rows: one per group, then the total (empty for None); an
    interval as its two bounds."""
    total: dict[str, object] = {"group": "total", **report["total"]}
    for row in [*report["groups"], total]:
        yield {k: "" if v is None else v for k, v in _flat(row).items()}


def csv_name(dimension: str) -> str:
    return f"equity-{dimension}-{utcnow().date().isoformat()}.csv"


class Equity:
    """The equity report of a tenant (overseers: the route checks the role)."""

    def __init__(
        self, engine: AsyncEngine, *, k: int, key: bytes, alpha: float = 0.05
    ) -> None:
        self.engine = engine
        self.k = k
        self.key = key
        self.alpha = alpha

    async def people(self, tenant: str) -> list[domain.Row]:
        """The tenant's people view."""
        async with self.engine.connect() as conn:
            return await people_view.people(conn, tenant)

    async def report(
        self,
        tenant: str,
        dimension: str,
        cohort_id: str | None,
        as_of: date | None = None,
    ) -> Report:
        """Participation, matching and outcomes per group of ``dimension``, now or
        as it stood at the end of ``as_of`` (a past or present day)."""
        if not domain.valid_dimension(dimension):
            raise ValidationFailed([FieldError("dimension", "unknown dimension")])
        today = utcnow().date()
        if as_of is not None and not EARLIEST <= as_of <= today:
            raise ValidationFailed(
                [FieldError("as_of", f"must be between {EARLIEST} and today")]
            )
        return domain.equity_report(
            await self.people(tenant),
            dimension,
            k=self.k,
            as_of=as_of or today,
            cohort_id=cohort_id,
            key=self.key,
            alpha=self.alpha,
            past=as_of is not None,
        )
