"""A person's own notifications and preferences: ``Notifications``.

Every query and command is the caller's: the person is the principal's subject, the
organisation its tenant. Nobody reads or marks another person's notification, not a
coordinator, not an admin: an inbox is private, and another's reads as not found.
"""

from __future__ import annotations

import base64
import binascii
import re

from chassis.auth.principal import Principal
from chassis.errors import FieldError, NotFound, ValidationFailed
from chassis.events import utcnow
from chassis.runtime import ServiceRuntime
from contracts.api.notifications import (
    Inbox,
    MarkedRead,
    NotificationView,
    PreferencesIn,
    PreferencesView,
    QuietHoursModel,
)
from contracts.notifications import REQUIRED_KINDS, Channel
from services.notifications.application.chat import WebhookHosts
from services.notifications.domain.preferences import Preferences, QuietHours
from services.notifications.projections import inbox, preferences
from services.notifications.projections.inbox import Row

MAX_PAGE = 200
_CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.+-]{8,40}\|[0-9a-f-]{36}$")


def _cursor(row: Row) -> str:
    raw = f"{row.created_at}|{row.notification_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str) -> str:
    """The (created_at, id) position an opaque cursor stands for; 422 if forged."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not _CURSOR.match(raw):
        raise ValidationFailed([FieldError("before", "not a cursor this API gave")])
    return raw


class NotificationNotFound(NotFound):
    code = "NotificationNotFound"
    title = "No such notification"


def _view(row: Row) -> NotificationView:
    return NotificationView(
        notification_id=row.notification_id,
        kind=row.kind,
        subject_id=row.subject_id,
        facts=dict(row.facts),
        created_at=row.created_at,
        read=row.read_at is not None,
        read_at=row.read_at,
    )


def _preferences_view(chosen: Preferences) -> PreferencesView:
    quiet = chosen.quiet_hours
    return PreferencesView(
        channels=sorted(chosen.channels | {Channel.IN_APP}),
        unsubscribed=chosen.unsubscribed,
        quiet_hours=QuietHoursModel(start=quiet.start, end=quiet.end)
        if quiet
        else None,
        daily_digest=chosen.daily_digest,
        locale=chosen.locale,
        time_zone=chosen.time_zone,
        email=chosen.email,
        slack_connected=chosen.slack_webhook is not None,
        teams_connected=chosen.teams_webhook is not None,
        required_kinds=sorted(REQUIRED_KINDS),
    )


class Notifications:
    """The inbox and preferences of the calling person."""

    def __init__(self, runtime: ServiceRuntime, hooks: WebhookHosts) -> None:
        self.engine = runtime.engine
        self.hooks = hooks

    async def inbox(
        self,
        me: Principal,
        *,
        unread_only: bool = False,
        before: str | None = None,
        limit: int = 50,
    ) -> Inbox:
        """The caller's notifications, newest first, and how many are unread."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self.engine.connect() as conn:
            rows = await inbox.page(
                conn,
                me.tenant,
                me.subject,
                unread_only=unread_only,
                before=None if before is None else _position(before),
                limit=limit + 1,
            )
            unread = await inbox.unread(conn, me.tenant, me.subject)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = _cursor(rows[-1]) if more else None
        return Inbox(items=[_view(r) for r in rows], unread=unread, next_cursor=cursor)

    async def mark_read(self, me: Principal, notification_id: str) -> NotificationView:
        """Mark one of the caller's notifications read (again: no change)."""
        async with self.engine.begin() as conn:
            await inbox.mark_read(
                conn, me.tenant, me.subject, utcnow(), notification_id
            )
            row = await inbox.one(conn, me.tenant, me.subject, notification_id)
        if row is None:
            raise NotificationNotFound(f"no notification {notification_id} of yours")
        return _view(row)

    async def mark_all_read(self, me: Principal) -> MarkedRead:
        async with self.engine.begin() as conn:
            marked = await inbox.mark_read(conn, me.tenant, me.subject, utcnow())
        return MarkedRead(marked=marked)

    async def preferences(self, me: Principal) -> PreferencesView:
        async with self.engine.connect() as conn:
            chosen = await preferences.load(conn, me.tenant, me.subject)
        return _preferences_view(chosen)

    async def choose(self, me: Principal, body: PreferencesIn) -> PreferencesView:
        """Replace the caller's preferences with ``body``."""
        quiet = body.quiet_hours
        async with self.engine.begin() as conn:
            zone = (await preferences.load(conn, me.tenant, me.subject)).time_zone
            chosen = Preferences(
                channels=frozenset({Channel.IN_APP, *body.channels}),
                unsubscribed=body.unsubscribed,
                quiet_hours=QuietHours(quiet.start, quiet.end) if quiet else None,
                daily_digest=body.daily_digest,
                locale=body.locale,
                time_zone=zone,
                email=body.email,
                slack_webhook=self.hooks.check("slack_webhook", body.slack_webhook),
                teams_webhook=self.hooks.check("teams_webhook", body.teams_webhook),
            )
            await preferences.save(conn, me.tenant, me.subject, chosen, utcnow())
        return _preferences_view(chosen)
