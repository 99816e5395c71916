"""Settings of the insights process."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import Field, SecretStr

from chassis.disclosure import key_for
from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "insights"
    k_anonymity: int = Field(
        default=5, ge=2, description="smallest group ever reported"
    )
    idle_days_to_flag: int = Field(default=45, ge=1)
    # Early warnings wait while a relationship's past is being written (a fact dated
    # in the past recorded less than this ago: a history import, a demo seeding);
    # the health sweep, every ``health_sweep_s``, raises them afterwards.
    history_grace_s: float = Field(default=600.0, ge=0)
    health_sweep_s: float = Field(default=300.0, gt=0)
    # Equity: a group is flagged "adverse impact" only when Fisher's exact test
    # against the best group gives p below this (domain/stats.py compare_rates).
    equity_significance: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        validation_alias="INSIGHTS_EQUITY_SIGNIFICANCE",
        description="significance level of the equity report's tests",
    )
    # Keys the suppression thresholds of equity cells (domain/disclosure.py); unset:
    # derived from JWT_SECRET. Never in a report, so no reader can recompute them.
    disclosure_secret: SecretStr | None = Field(
        default=None, validation_alias="INSIGHTS_DISCLOSURE_SECRET"
    )

    @property
    def disclosure_key(self) -> bytes:
        secret = self.disclosure_secret
        return key_for(
            secret.get_secret_value() if secret is not None else None,
            self.jwt_secret.get_secret_value(),
            "insights",
        )

    @property
    def tombstone_key(self) -> bytes:
        """Keys the HMAC under which erased people are remembered (never their id)."""
        return hmac.new(
            self.disclosure_key, b"insights erasure tombstones", hashlib.sha256
        ).digest()
