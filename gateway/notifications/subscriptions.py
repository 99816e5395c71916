"""``notificationReceived``: the signed-in person's new notifications, live.

notifications publishes no event of its own: the gateway's hub wakes the
subscription on any event of the person's organisation (the pairing, session and
early-warning events the service turns into notifications), and then reads the
person's inbox (``contracts.api.notifications``) for what is new; a slow poll also
catches notices made without an event (schedules). A person only ever follows their
own inbox: there is no argument to name anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from chassis.envelope import Envelope
from contracts.api import notifications as api
from gateway.answers import read
from gateway.context import ctx
from gateway.notifications.types import Notification

SERVICE = "notifications"
POLL_S = 5.0  # without any event, the inbox is read this often
SETTLE = (0.1, 0.25, 0.5, 1.0, 2.0)  # after an event: reads until something is new


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description="Your notifications as they arrive (only your own)."
    )
    async def notification_received(
        self, info: Info
    ) -> AsyncGenerator[Notification, None]:
        c = ctx(info)
        principal = c.principal

        def accepts(_env: Envelope) -> bool:
            return True

        async def newest() -> list[api.NotificationView]:
            inbox = read(
                api.Inbox,
                await c.caller.get(SERVICE, "/notifications/me", limit=50),
                SERVICE,
            )
            return inbox.items

        async with c.hub.listen(principal.tenant, accepts) as queue:
            # Listening first, then learning what is already there: nothing is missed.
            seen = {n.notification_id for n in await newest()}
            while True:
                woke = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), POLL_S)
                    woke = True
                while not queue.empty():  # one read for a burst of events
                    queue.get_nowait()
                fresh: list[api.NotificationView] = []
                for pause in SETTLE if woke else (0.0,):
                    await asyncio.sleep(pause)
                    fresh = [n for n in await newest() if n.notification_id not in seen]
                    if fresh:
                        break
                for n in reversed(fresh):  # oldest first
                    seen.add(n.notification_id)
                    yield Notification.from_model(n)
