"""Settings of the matching process."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "matching"
    proposal_ttl_hours: int = Field(
        default=14 * 24, ge=1, description="Proposal lifetime"
    )
    expiry_sweep_s: float = Field(default=60, gt=0)
