"""Settings of the notifications process."""

from __future__ import annotations

from chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "notifications"
