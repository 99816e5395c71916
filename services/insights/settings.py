"""Settings of the insights process."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import Field, SecretStr

from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "insights"
    k_anonymity: int = Field(
        default=5, ge=2, description="smallest group ever reported"
    )
    idle_days_to_flag: int = Field(default=45, ge=1)
    # Keys the suppression thresholds of equity cells (domain/disclosure.py); unset:
    # derived from JWT_SECRET. Never in a report, so no reader can recompute them.
    disclosure_secret: SecretStr | None = Field(
        default=None, validation_alias="INSIGHTS_DISCLOSURE_SECRET"
    )

    @property
    def disclosure_key(self) -> bytes:
        if self.disclosure_secret is not None:
            return self.disclosure_secret.get_secret_value().encode()
        return hmac.new(
            self.jwt_secret.get_secret_value().encode(),
            b"tandem insights disclosure",
            hashlib.sha256,
        ).digest()
