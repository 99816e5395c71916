"""Request ids: one id per HTTP request, echoed to the caller and put in every log.

A caller (the gateway, a load balancer) may send ``X-Request-ID``; a sane value is
kept so one id follows a request across services, anything else is replaced.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"

_request_id: ContextVar[str | None] = ContextVar("tandem_request_id", default=None)
# Short, printable, no spaces or quotes: safe to log and to echo in a header.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _request_id.get()


def request_id_of(scope: Scope) -> str | None:
    """The id stored on a request's scope (works after the middleware has returned)."""
    found = scope.get("state", {}).get("request_id")
    return found if isinstance(found, str) else None


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _SANE_ID.match(text) else None
    return None


class RequestIdMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would break streaming and
    context variables) that assigns the request id and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        # On the scope too, so ``request.state.request_id`` works everywhere.
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)
