"""Settings of the matching process."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chassis.disclosure import key_for
from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "matching"
    proposal_ttl_hours: int = Field(
        default=14 * 24, ge=1, description="Proposal lifetime"
    )
    expiry_sweep_s: float = Field(default=60, gt=0)
    # The smallest group a fairness report shows (callers may ask for more, never
    # less), as insights' equity reports.
    k_anonymity: int = Field(
        default=5, ge=2, description="smallest group ever reported"
    )
    # Keys the suppression thresholds of fairness reports (domain/fairness.py);
    # unset: derived from JWT_SECRET.
    disclosure_secret: SecretStr | None = Field(
        default=None, validation_alias="MATCHING_DISCLOSURE_SECRET"
    )

    @property
    def disclosure_key(self) -> bytes:
        secret = self.disclosure_secret
        return key_for(
            secret.get_secret_value() if secret is not None else None,
            self.jwt_secret.get_secret_value(),
            "matching",
        )
