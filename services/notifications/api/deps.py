"""Dependency aliases of the notifications API: the application objects the service's
part provides (``chassis.service.provided``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from chassis.service import provided
from services.notifications.application.inbox import Notifications

NotificationsDep = Annotated[Notifications, Depends(provided(Notifications))]

__all__ = ["NotificationsDep"]
