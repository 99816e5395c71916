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
scrape endpoint (metrics leave by OTLP when configured); ``GET /admin/lag`` (admin)
shows the same figures as JSON, with percentiles over the last ``WINDOW`` events.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth import Role
from chassis.auth.fastapi import PrincipalDep
from chassis.envelope import Envelope
from chassis.telemetry import consumer_offset_lag, projection_lag_ms

router = APIRouter(prefix="/admin", tags=["admin"])
SAMPLE_S = 5.0
WINDOW = 1000
PENDING = "insights_lag_pending"  # connection info key: event times awaiting commit


class LagMonitor:
    """Keeps the recent projection lags and the last sampled consumer lag."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.consumer = runtime.consumer.name if runtime.consumer else "insights"
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.applied = 0
        self.consumer_lag: int | None = None
        self.sampled_at: str | None = None
        sync_engine = runtime.engine.sync_engine
        event.listen(sync_engine, "commit", self._committed)
        event.listen(sync_engine, "rollback", self._rolled_back)

    def applying(self, env: Envelope, conn: AsyncConnection) -> None:
        """Note an event whose effects ``conn``'s transaction is writing."""
        conn.info.setdefault(PENDING, []).append(env.time)

    def _committed(self, conn: Any) -> None:
        times = conn.info.pop(PENDING, None)
        if not times:
            return
        now = datetime.now(UTC)
        for at in times:
            ms = max(0.0, (now - at).total_seconds() * 1000)
            self.recent.append(ms)
            self.applied += 1
            projection_lag_ms.record(ms, {"consumer": self.consumer})

    def _rolled_back(self, conn: Any) -> None:
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

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.recent)

        def pct(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            "consumer": self.consumer,
            "consumer_lag_messages": self.consumer_lag,
            "consumer_lag_sampled_at": self.sampled_at,
            "projection_lag_ms": {
                "window": len(ordered),
                "last": round(self.recent[-1], 1) if self.recent else None,
                "p50": pct(0.5),
                "p99": pct(0.99),
                "max": round(ordered[-1], 1) if ordered else None,
            },
            "applied_since_start": self.applied,
        }


@router.get("/lag")
async def lag(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Consumer lag (messages) and projection lag (ms) of insights, now."""
    principal.require(Role.ADMIN)
    monitor: LagMonitor = request.app.state.lag
    started = time.monotonic()
    await monitor.sample()
    return {**monitor.report(), "sample_ms": round(1000 * (time.monotonic() - started))}


def install(app: Any, runtime: Any) -> LagMonitor:
    monitor = LagMonitor(runtime)
    app.state.lag = monitor
    app.include_router(router)
    runtime.every("lag-sample", monitor.sample, SAMPLE_S)
    return monitor
