"""Settings of the sessions process."""

from __future__ import annotations

from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "sessions"
