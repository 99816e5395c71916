"""Queries of the notifications part: the caller's inbox and preferences, and the
organisation's webhook endpoints (admins and integration clients)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import strawberry
from strawberry.types import Info

from contracts.api import notifications as api
from gateway.answers import read, read_list
from gateway.connections import from_pages
from gateway.context import ctx
from gateway.ids import local_id
from gateway.notifications.types import (
    Notification,
    NotificationConnection,
    NotificationPreferences,
    WebhookDelivery,
    WebhookEndpoint,
)
from gateway.upstream import upstream_path

SERVICE = "notifications"


@strawberry.type
class NotificationsQuery:
    @strawberry.field(
        description="Your notifications, newest first, with how many are unread."
    )
    async def my_notifications(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="At most this many.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="A cursor this API returned.")
        ] = None,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only the unread ones.")
        ] = False,
    ) -> NotificationConnection:
        c = ctx(info)
        unread = 0

        async def fetch(
            before: str | None, limit: int
        ) -> tuple[Sequence[api.NotificationView], str | None]:
            nonlocal unread
            inbox = read(
                api.Inbox,
                await c.caller.get(
                    SERVICE,
                    "/notifications/me",
                    unread_only=str(unread_only).lower(),
                    before=before,
                    limit=min(limit, 200),
                ),
                SERVICE,
            )
            unread = inbox.unread
            return inbox.items, inbox.next_cursor

        page = await from_pages(
            fetch, Notification.from_model, first, after, upstream_limit=200
        )
        return NotificationConnection(
            edges=page.edges, page_info=page.page_info, unread_count=unread
        )

    @strawberry.field(description="How you chose to be told (the defaults if not).")
    async def my_notification_preferences(self, info: Info) -> NotificationPreferences:
        c = ctx(info)
        answer = read(
            api.PreferencesView,
            await c.caller.get(SERVICE, "/notifications/me/preferences"),
            SERVICE,
        )
        return NotificationPreferences.from_model(answer)

    @strawberry.field(
        description="The organisation's webhook endpoints (admins and integrations)."
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        c = ctx(info)
        answer = read_list(
            api.EndpointView,
            await c.caller.get(SERVICE, "/webhooks/endpoints"),
            SERVICE,
        )
        return [WebhookEndpoint.from_model(e) for e in answer]

    @strawberry.field(
        description="An endpoint's latest messages and every attempt to deliver "
        "them (admins and integrations)."
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint: Annotated[
            strawberry.ID,
            strawberry.argument(description="The endpoint (a WebhookEndpoint)."),
        ],
        first: Annotated[
            int, strawberry.argument(description="At most this many (1 to 200).")
        ] = 50,
    ) -> list[WebhookDelivery]:
        c = ctx(info)
        eid = local_id(endpoint, "WebhookEndpoint", "endpoint")
        answer = read(
            api.WebhookLog,
            await c.caller.get(
                SERVICE,
                upstream_path("/webhooks/endpoints/{eid}/deliveries", eid=eid),
                limit=max(1, min(first, 200)),
            ),
            SERVICE,
        )
        return [WebhookDelivery.from_model(d) for d in answer.items]
