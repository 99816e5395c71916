"""Routes of a person's own notifications and preferences, over ``Notifications``
(``application/inbox.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.inputs import ONE_LINE, Ref
from contracts.api.notifications import (
    Inbox,
    MarkedRead,
    NotificationView,
    PreferencesIn,
    PreferencesView,
)
from services.notifications.api.deps import NotificationsDep

router = APIRouter(tags=["inbox"])


@router.get("/notifications/me", responses=problems(422))
async def my_inbox(
    principal: PrincipalDep,
    notifications: NotificationsDep,
    unread_only: Annotated[bool, Query()] = False,
    before: Annotated[str | None, Query(max_length=200, pattern=ONE_LINE)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Inbox:
    """The caller's notifications, newest first, with the unread count."""
    return await notifications.inbox(
        principal, unread_only=unread_only, before=before, limit=limit
    )


@router.post("/notifications/me/read", responses=problems(422))
async def mark_all_read(
    principal: PrincipalDep, notifications: NotificationsDep
) -> MarkedRead:
    """Mark every one of the caller's notifications read."""
    return await notifications.mark_all_read(principal)


@router.post("/notifications/me/{notification_id}/read", responses=problems(404))
async def mark_read(
    notification_id: Ref, principal: PrincipalDep, notifications: NotificationsDep
) -> NotificationView:
    """Mark one of the caller's notifications read."""
    return await notifications.mark_read(principal, notification_id)


@router.get("/notifications/me/preferences")
async def my_preferences(
    principal: PrincipalDep, notifications: NotificationsDep
) -> PreferencesView:
    """How the caller chose to be told (the defaults if they chose nothing)."""
    return await notifications.preferences(principal)


@router.put("/notifications/me/preferences", responses=problems(422))
async def choose_preferences(
    body: PreferencesIn, principal: PrincipalDep, notifications: NotificationsDep
) -> PreferencesView:
    """Change the caller's preferences: the fields given (null clears an address or
    the quiet hours); those omitted keep their value."""
    return await notifications.choose(principal, body)
