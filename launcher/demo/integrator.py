"""The demo integrator: a tiny webhook receiver the embedded demo serves itself.

Development only, and only so that the demo's webhook endpoint has somewhere to
deliver: ``./tandem up`` mounts it at ``/demo-integrator`` on the platform it serves,
and the seeder registers ``<platform>/demo-integrator/webhooks`` as the organisation's
endpoint (plain HTTP on loopback, which the embedded notifications service accepts in
development only). It does what any integrator must: it verifies each message's
Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) with the endpoint's secret and refuses one that does not verify
(401) or is stale (more than five minutes off), and it keeps what it received, once per
``webhook-id`` (a retried message is the same message). ``GET`` lists what it kept.

To show a retry in the delivery log, it can be told to answer ``503`` to the next
message's first attempt (``refuse_next``); the notifications service tries it again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

PATH = "/demo-integrator"
HOOK = "/webhooks"
TOLERANCE_S = 5 * 60


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Whether one of the ``v1`` signatures is ``secret``'s HMAC of the message
    (``{id}.{timestamp}.{body}``) and its timestamp is within five minutes."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_S:
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    content = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


@dataclass
class Received:
    webhook_id: str
    type: str
    attempts: int  # how many times it was posted here (a retry is the same message)
    accepted: bool


@dataclass
class DemoIntegrator:
    """The receiver's state: the secret it verifies with (set once registered)."""

    secret: str | None = None
    refuse_next: int = 0  # answer 503 to this many new messages' first attempt
    received: dict[str, Received] = field(default_factory=dict)
    rejected: int = 0  # posts whose signature did not verify

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        """The status to answer one post."""
        if self.secret is None or not verify(self.secret, headers, body, time.time()):
            self.rejected += 1
            return 401
        msg_id = headers["webhook-id"]
        seen = self.received.get(msg_id)
        if seen is None:
            try:
                kind = str(json.loads(body).get("type", ""))
            except (ValueError, AttributeError):
                return 400
            seen = self.received[msg_id] = Received(msg_id, kind, 0, False)
            if self.refuse_next > 0:
                self.refuse_next -= 1
                seen.attempts += 1
                return 503  # "not now": the platform retries the same message
        seen.attempts += 1
        seen.accepted = True
        return 204

    def summary(self) -> dict[str, Any]:
        kept = list(self.received.values())
        return {
            "verifying": self.secret is not None,
            "received": sum(1 for r in kept if r.accepted),
            "retried": sum(1 for r in kept if r.attempts > 1),
            "rejected": self.rejected,
            "messages": [
                {
                    "webhookId": r.webhook_id,
                    "type": r.type,
                    "attempts": r.attempts,
                    "accepted": r.accepted,
                }
                for r in kept[-50:]
            ],
        }


def integrator_app(state: DemoIntegrator) -> FastAPI:
    """The receiver as an app to mount at ``PATH``."""
    app = FastAPI(
        title="Demo integrator (development only)",
        description="Receives the demo organisation's signed webhooks.",
    )

    @app.post(HOOK, status_code=204)
    async def receive(request: Request) -> Response:
        """Verify and keep one webhook message."""
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        return Response(status_code=state.receive(headers, body))

    @app.get(HOOK)
    async def received() -> dict[str, Any]:
        """What this receiver kept since the platform started."""
        return state.summary()

    return app


def loopback_base(host: str, port: int) -> str:
    """Where the platform itself answers on this machine (a wildcard bind is
    reached on loopback)."""
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
