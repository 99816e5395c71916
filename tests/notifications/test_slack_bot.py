"""A tenant's Slack bot (issue 21): its token is write-only and sealed at rest; a
person who chose Slack without a webhook of their own gets a direct message, found by
their email (``users.lookupByEmail``) and posted with ``chat.postMessage``.

Slack's Web API is a real HTTP server on loopback that checks the request shape
(``Authorization: Bearer``, a form for the lookup, a JSON body with ``channel`` and
``blocks`` for the post) and answers as Slack does, ``ok: false`` with an ``error``
code included: a failed delivery, its error kept, retried by the outbox.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text

from services.notifications.application.chat import SecretBox
from services.notifications.main import _secrets_key
from tests.notifications.conftest import person_token, proposed, publish, until_applied
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"


class SlackApi:
    """Slack's Web API as far as the bot uses it; refuses a malformed request."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], Any]] = []
        self.users: dict[str, str] = {}  # email → Slack user id
        # user id → the errors chat.postMessage answers first (then ok).
        self.post_errors: dict[str, list[str]] = {}
        self.shape_errors: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = api.answer(self.path, headers, raw)
                data = json.dumps(answer).encode()
                self.send_response(200)  # Slack answers 200, errors in the body
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def _wrong(self, why: str) -> dict[str, Any]:
        self.shape_errors.append(why)
        return {"ok": False, "error": "invalid_arguments"}

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        kind = headers.get("content-type", "")
        if path == "/api/users.lookupByEmail":
            if not kind.startswith("application/x-www-form-urlencoded"):
                return self._wrong(f"lookup sent as {kind}")
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self.calls.append((path, headers, form))
            user = self.users.get(form.get("email", ""))
            if user is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user}}
        if path == "/api/chat.postMessage":
            if kind != "application/json; charset=utf-8":
                return self._wrong(f"post sent as {kind}")
            body = json.loads(raw)
            self.calls.append((path, headers, body))
            channel = body.get("channel")
            if not isinstance(channel, str) or not isinstance(body.get("blocks"), list):
                return self._wrong("no channel or blocks")
            if channel not in self.users.values():
                return {"ok": False, "error": "channel_not_found"}
            pending = self.post_errors.get(channel)
            if pending:
                return {"ok": False, "error": pending.pop(0)}
            return {"ok": True, "channel": "D0" + channel, "ts": "1700000000.000100"}
        return {"ok": False, "error": "unknown_method"}

    def posts(self, channel: str) -> list[dict[str, Any]]:
        return [
            body
            for path, _h, body in self.calls
            if path == "/api/chat.postMessage" and body.get("channel") == channel
        ]


@contextmanager
def slack_api() -> Iterator[SlackApi]:
    api = SlackApi()
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()


async def _choose(client, tenant: str, person: str, **chosen: Any) -> None:
    resp = await client.put(
        "/notifications/me/preferences",
        json=chosen,
        headers=person_token(tenant, person),
    )
    assert resp.status_code == 200, resp.text


async def _deliveries(app, tenant: str, person: str) -> list[Any]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT status, attempts, last_error FROM deliveries "
                "WHERE tenant = :t AND recipient_id = :p AND channel = 'slack'"
            ),
            {"t": tenant, "p": person},
        )
        return list(rows)


async def test_the_bot_token_is_write_only_sealed_and_the_admins(notifications, tenant):
    app, client = notifications
    admin = token(tenant, "admin", sub="admin-1")
    assert (await client.get("/notifications/slack-bot", headers=admin)).json() == {
        "connected": False,
        "updated_at": None,
    }
    for who in ("coordinator", "mentee", "integration"):
        refused = await client.put(
            "/notifications/slack-bot",
            json={"bot_token": BOT_TOKEN},
            headers=token(tenant, who, sub=f"{who}-1"),
        )
        assert refused.status_code == 403, who
    for bad in ("xoxp-user-token-123456", "xoxb-short", "xoxb-" + "a" * 300, 7, ""):
        refused = await client.put(
            "/notifications/slack-bot", json={"bot_token": bad}, headers=admin
        )
        assert refused.status_code == 422, bad
    assert (await client.get("/notifications/slack-bot", headers=admin)).json()[
        "connected"
    ] is False

    put = await client.put(
        "/notifications/slack-bot", json={"bot_token": BOT_TOKEN}, headers=admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["connected"] is True and BOT_TOKEN not in put.text
    got = await client.get("/notifications/slack-bot", headers=admin)
    assert got.json()["connected"] is True and BOT_TOKEN not in got.text
    other = token(f"{tenant}-x", "admin", sub="admin-1")
    assert (await client.get("/notifications/slack-bot", headers=other)).json()[
        "connected"
    ] is False

    async with app.state.runtime.engine.connect() as conn:
        sealed = await conn.scalar(
            text("SELECT token_sealed FROM notification_slack_bots WHERE tenant = :t"),
            {"t": tenant},
        )
    assert sealed.startswith("sealed:v1:") and "xoxb" not in sealed
    box = SecretBox(_secrets_key(app.state.runtime.settings))
    assert box.open("slack_bot", tenant, sealed) == BOT_TOKEN
    with pytest.raises(ValueError):
        box.open("slack_bot", f"{tenant}-x", sealed)  # bound to its tenant

    gone = await client.delete("/notifications/slack-bot", headers=admin)
    assert gone.status_code == 204
    assert (await client.get("/notifications/slack-bot", headers=admin)).json()[
        "connected"
    ] is False


async def test_a_person_without_a_webhook_gets_a_direct_message_from_the_bot(
    notifications_with, kafka_bootstrap, tenant
):
    with slack_api() as api:
        api.users = {"ada@acme.example": "U0ADA", "bo@acme.example": "U0BO"}
        api.post_errors = {"U0BO": ["ratelimited", "internal_error"]}
        settings = {
            "NOTIFICATIONS_SLACK_API_URL": api.url,
            "NOTIFICATIONS_RETRY_BASE_S": 0.05,
            "retry_cap_s": 0.2,
            "NOTIFICATIONS_RETRY_MAX_ATTEMPTS": 4,
        }
        async with notifications_with(**settings) as (app, client):
            admin = token(tenant, "admin", sub="admin-1")
            put = await client.put(
                "/notifications/slack-bot", json={"bot_token": BOT_TOKEN}, headers=admin
            )
            assert put.status_code == 200, put.text
            # Ada and Bo chose Slack and gave their email; Cy's email is unknown to
            # the workspace.
            for person, email in (
                ("ada", "ada@acme.example"),
                ("bo", "bo@acme.example"),
                ("cy", "cy@acme.example"),
            ):
                await _choose(client, tenant, person, channels=["slack"], email=email)
            ids = await publish(
                kafka_bootstrap,
                [proposed(tenant, "mentor-x", p) for p in ("ada", "bo", "cy")],
            )
            await until_applied(app, ids)

            async def settled(person: str) -> list[Any] | None:
                rows = await _deliveries(app, tenant, person)
                done = rows and all(r.status in ("sent", "dead") for r in rows)
                return rows if done else None

            [ada] = await until(lambda: settled("ada"), "Ada's direct message", 30)
            assert ada.status == "sent" and ada.attempts == 1
            [message] = api.posts("U0ADA")
            assert message["channel"] == "U0ADA"
            assert isinstance(message["text"], str) and message["text"]
            header, section, *_ = message["blocks"]
            assert header["type"] == "header" and section["type"] == "section"
            lookups = [c for c in api.calls if c[0] == "/api/users.lookupByEmail"]
            assert {"email": "ada@acme.example"} in [c[2] for c in lookups]
            assert api.shape_errors == []

            # Slack refused Bo's twice (ok: false): retried, then delivered once.
            [bo] = await until(lambda: settled("bo"), "Bo's direct message", 30)
            assert bo.status == "sent" and bo.attempts == 3, bo
            assert len(api.posts("U0BO")) == 3

            # Cy is not in the workspace: every attempt fails, the error kept.
            [cy] = await until(lambda: settled("cy"), "Cy's delivery to die", 30)
            assert cy.status == "dead" and cy.attempts == 4
            assert cy.last_error == "slack users.lookupByEmail: users_not_found"
            assert api.posts("U0CY") == []


async def test_without_a_bot_nobody_without_a_webhook_is_reached_on_slack(
    notifications_with, kafka_bootstrap, tenant
):
    with slack_api() as api:
        async with notifications_with(NOTIFICATIONS_SLACK_API_URL=api.url) as (
            app,
            client,
        ):
            await _choose(
                client, tenant, "dee", channels=["slack"], email="dee@acme.example"
            )
            ids = await publish(kafka_bootstrap, [proposed(tenant, "mentor-y", "dee")])
            await until_applied(app, ids)
            assert await _deliveries(app, tenant, "dee") == []  # none enqueued
            assert api.calls == []
