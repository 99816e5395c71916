"""Settings of the insights process."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "insights"
    k_anonymity: int = Field(
        default=5, ge=2, description="smallest group ever reported"
    )
    idle_days_to_flag: int = Field(default=45, ge=1)
