"""A person's own notifications and preferences: ``Notifications``.

Every query and command is the caller's: the person is the principal's subject, the
organisation its tenant. Nobody reads or marks another person's notification, not a
coordinator, not an admin: an inbox is private, and another's reads as not found.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

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
        """Change the caller's preferences: each field ``body`` names takes its value
        (a null address or quiet hours clears it), every field it omits keeps the
        one chosen before (so saving a choice without re-sending a Slack or Teams
        address keeps it connected)."""
        given = body.model_fields_set
        changes: dict[str, Any] = {}
        if "channels" in given:
            changes["channels"] = frozenset({Channel.IN_APP, *body.channels})
        for name in ("unsubscribed", "daily_digest", "locale", "email"):
            if name in given:
                changes[name] = getattr(body, name)
        if "quiet_hours" in given:
            quiet = body.quiet_hours
            changes["quiet_hours"] = (
                QuietHours(quiet.start, quiet.end) if quiet else None
            )
        for name in ("slack_webhook", "teams_webhook"):
            if name in given:
                changes[name] = self.hooks.check(name, getattr(body, name))
        async with self.engine.begin() as conn:
            before = await preferences.load(conn, me.tenant, me.subject)
            chosen = replace(before, **changes)
            await preferences.save(conn, me.tenant, me.subject, chosen, utcnow())
        return _preferences_view(chosen)
