"""How far behind insights is: consumer lag and projection lag, as metrics and JSON.

- **Projection lag**: per applied event, from its CloudEvents ``time`` (when the write
  service recorded it) to the commit of insights' transaction that recorded the fact
  and updated the read models, in ms. Taken at the commit itself (an engine
  ``commit`` listener), so it includes relay, broker, consumer and database.
  OpenTelemetry histogram ``tandem.projection.lag`` (``chassis.telemetry``).
- **Consumer lag**: messages between the consumer group's position and the high
  watermarks of its assigned partitions (``KafkaSubscriber.lag``), sampled every
  ``SAMPLE_S`` and on each ``GET /admin/lag``. OpenTelemetry gauge
  ``tandem.consumer.offset_lag``. ``None`` with a transport that cannot tell.

Both carry the attribute ``consumer`` (insights' consumer group). The chassis has no
scrape endpoint (metrics leave by OTLP when configured); ``GET /admin/lag`` shows the
same figures as JSON, with percentiles over the last ``WINDOW`` events. An admin sees
their own organisation's projection lag only (its last ``TENANT_WINDOW`` events); the
process-wide figures - every tenant's events, and the consumer's offset lag, which
counts every tenant's messages - are the operator's (``?all_tenants=true``).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import TypedDict

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from chassis.runtime import ServiceRuntime
from chassis.telemetry import (
    consumer_offset_lag,
    metrics_recorded,
    projection_lag_ms,
)
from contracts.api.insights import LagScope
from services.insights.application.scope import ALL, Scope

SAMPLE_S = 5.0
WINDOW = 1000
TENANT_WINDOW = 200  # recent lags kept per tenant
MAX_TENANTS = 1000  # tenants whose recent lags are kept (least recently seen go)
PENDING = "insights_lag_pending"  # connection info key: event times awaiting commit


class ProjectionLag(TypedDict):
    window: int
    last: float | None
    p50: float | None
    p99: float | None
    max: float | None


class Report(TypedDict):
    scope: LagScope
    consumer: str
    consumer_lag_messages: int | None
    consumer_lag_sampled_at: str | None
    projection_lag_ms: ProjectionLag
    applied_since_start: int


class Figures(Report):
    sample_ms: int


class LagMonitor:
    """Keeps the recent projection lags and the last sampled consumer lag."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.applied = 0
        # tenant → (its recent lags, its events applied since start)
        self.tenants: OrderedDict[str, tuple[deque[float], list[int]]] = OrderedDict()
        self.consumer_lag: int | None = None
        self.sampled_at: str | None = None
        sync_engine = runtime.engine.sync_engine
        event.listen(sync_engine, "commit", self._committed)
        event.listen(sync_engine, "rollback", self._rolled_back)

    @property
    def consumer(self) -> str:
        """The consumer group the figures are of (the runtime's, once mounted)."""
        consumer = self.runtime.consumer
        return consumer.name if consumer is not None else self.runtime.name

    def applying(self, env: Envelope, conn: AsyncConnection) -> None:
        """Note an event whose effects ``conn``'s transaction is writing."""
        conn.info.setdefault(PENDING, []).append((env.tenant, env.time))

    def _committed(self, conn: Connection) -> None:
        times = conn.info.pop(PENDING, None)
        if not times:
            return
        now = datetime.now(UTC)
        lags = [
            (tenant, max(0.0, (now - at).total_seconds() * 1000))
            for tenant, at in times
        ]
        self.recent.extend(ms for _, ms in lags)
        self.applied += len(lags)
        for tenant, ms in lags:
            self._of(tenant, ms)
        # Not fed while no reader would see it (one ``record`` costs tens of µs).
        if metrics_recorded():
            attributes = {"consumer": self.consumer}
            for _, ms in lags:
                projection_lag_ms.record(ms, attributes)

    def _of(self, tenant: str, ms: float) -> None:
        kept = self.tenants.get(tenant)
        if kept is None:
            kept = self.tenants[tenant] = (deque(maxlen=TENANT_WINDOW), [0])
            if len(self.tenants) > MAX_TENANTS:
                self.tenants.popitem(last=False)
        else:
            self.tenants.move_to_end(tenant)
        kept[0].append(ms)
        kept[1][0] += 1

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(PENDING, None)

    async def sample(self) -> None:
        """Read the consumer's offset lag from the broker (when it can tell)."""
        consumer = self.runtime.consumer
        subscriber = consumer.subscriber if consumer else None
        lag = getattr(subscriber, "lag", None)
        if lag is None:
            return
        self.consumer_lag = await lag()
        self.sampled_at = datetime.now(UTC).isoformat()
        consumer_offset_lag.set(self.consumer_lag, {"consumer": self.consumer})

    def report(self, scope: Scope = ALL) -> Report:
        """Every tenant's figures (``ALL``), or one tenant's projection lag only."""
        if scope is ALL:
            recent, applied = self.recent, self.applied
        else:
            kept = self.tenants.get(scope)
            recent, applied = (kept[0], kept[1][0]) if kept else (deque(), 0)
        ordered = sorted(recent)

        def pct(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        everyone = scope is ALL
        return {
            "scope": LagScope.ALL_TENANTS if everyone else LagScope.TENANT,
            "consumer": self.consumer,
            # The broker's offsets count every tenant's messages: the operator's.
            "consumer_lag_messages": self.consumer_lag if everyone else None,
            "consumer_lag_sampled_at": self.sampled_at if everyone else None,
            "projection_lag_ms": {
                "window": len(ordered),
                "last": round(recent[-1], 1) if recent else None,
                "p50": pct(0.5),
                "p99": pct(0.99),
                "max": round(ordered[-1], 1) if ordered else None,
            },
            "applied_since_start": applied,
        }

    async def figures(self, scope: Scope) -> Figures:
        """The report of ``scope``, the consumer's lag sampled first for ``ALL``."""
        started = time.monotonic()
        if scope is ALL:
            await self.sample()
        return {
            **self.report(scope),
            "sample_ms": round(1000 * (time.monotonic() - started)),
        }
