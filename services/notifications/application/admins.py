"""The tenant's admins, as this service learns them.

``admin`` is a role of the token only: no integration event names a tenant's admins.
So an admin is known from their own calls: every request that an admin's token
authenticated and answered (2xx/3xx: a refused request changes nothing) records
(tenant, person) in ``notification_admins`` before its answer starts (once per
process per admin; the answer waits for that one write). They are
then told what the tenant's admins are told (an integrator's webhook endpoint
disabled after sustained failure). An erased admin is forgotten with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.auth.principal import Principal, Role
from chassis.events import utcnow
from services.notifications.projections import schedule

log = logging.getLogger(__name__)


class AdminsSeen:
    """Keeps the admins who reach the service (an ASGI middleware factory)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.known: set[tuple[str, str]] = set()

    async def saw(self, principal: Principal) -> None:
        key = (principal.tenant, principal.subject)
        if key in self.known or Role.ADMIN not in principal.roles:
            return
        try:
            async with self.engine.begin() as conn:
                await schedule.see_admin(conn, *key, utcnow())
        except Exception:  # never fail the admin's own request for it
            log.exception("could not record an admin of %s", principal.tenant)
            return
        self.known.add(key)

    def middleware(self) -> Callable[[ASGIApp], ASGIApp]:
        seen = self

        def wrap(app: ASGIApp) -> ASGIApp:
            async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http":
                    await app(scope, receive, send)
                    return

                async def sending(message: Message) -> None:
                    # Only an answered request: a refused one changes nothing.
                    if message["type"] == "http.response.start" and (
                        message.get("status", 500) < 400
                    ):
                        principal = scope.get("state", {}).get("principal")
                        if isinstance(principal, Principal):
                            await seen.saw(principal)
                    await send(message)

                await app(scope, receive, sending)

            return asgi

        return wrap

    def forget(self, tenant: str, person: str) -> None:
        self.known.discard((tenant, person))
