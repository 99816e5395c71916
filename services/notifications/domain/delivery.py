"""How the outbox retries: exponential backoff with jitter, then a dead letter.

A failed delivery waits ``base * 2**(attempt-1)`` seconds (capped), less a random
part of up to half of it so that deliveries failing together do not retry together.
After ``max_attempts`` it is dead: kept, visible, never retried on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 3600.0
    max_attempts: int = 8

    def delay_s(self, attempts: int, jitter: float) -> float:
        """The wait after the ``attempts``-th failure; ``jitter`` is in [0, 1)."""
        full = float(min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1)))
        return full * (1 - jitter / 2)

    def next_attempt(
        self, now: datetime, attempts: int, jitter: float
    ) -> datetime | None:
        """When to try again after ``attempts`` failures; None: give up (dead)."""
        if attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay_s(attempts, jitter))
