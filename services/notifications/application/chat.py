"""The chat channels: Slack (incoming webhook or the organisation's bot, Block Kit)
and Microsoft Teams (incoming webhook, an Adaptive Card).

Slack's bot: an admin gives the organisation's bot token (``SlackBot.configure``); it
is sealed at rest (``SecretBox``: AES-256-GCM, bound to its purpose and tenant) and
never shown back. A person who chose Slack without a webhook of their own is then
reached by direct message: the bot finds their Slack user by the email address of
their preferences (``users.lookupByEmail``) and posts the same Block Kit message to
that user (``chat.postMessage``). Slack answers HTTP 200 with ``ok: false`` and an
``error`` code when it refuses: that is a failed delivery (the error kept, retried by
the outbox), as is any other status.

A person connects a channel by giving their incoming-webhook URL. Only hosts the
deployment allows are accepted (Slack's and Microsoft's by default), over HTTPS, so
a preference cannot turn the service into a client of someone's internal network.
A message carries the rendered subject and body and, where the portal's address is
known, buttons that open the notification there (its action links do the rest).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.errors import FieldError, ValidationFailed
from chassis.events import utcnow
from contracts.api.notifications import SlackBotView
from services.notifications.application.email import DeliveryFailed
from services.notifications.projections.schedule import stamp

MAX_TEXT = 2900  # below Block Kit's 3000 characters per text object


@dataclass(frozen=True)
class Button:
    title: str
    url: str
    style: str | None = None  # Slack: "primary" or "danger"


class WebhookHosts:
    """Which webhook URLs a person may give."""

    def __init__(self, patterns: Sequence[str], *, allow_http: bool = False) -> None:
        self.patterns = [p.lower() for p in patterns]
        self.allow_http = allow_http

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        host = (parts.hostname or "").lower()
        if parts.scheme not in schemes or not host or parts.username:
            return False
        return any(fnmatch.fnmatchcase(host, p) for p in self.patterns)

    def check(self, field: str, url: object) -> str | None:
        if url is None:
            return None
        text = str(url)
        if not self.allows(text):
            raise ValidationFailed(
                [FieldError(field, "not an incoming-webhook address this service uses")]
            )
        return text


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(subject: str, body: str, buttons: Sequence[Button]) -> dict[str, Any]:
    """A Block Kit message: a header, the text, and the action buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _slack_escape(body)[:MAX_TEXT]},
        },
    ]
    if buttons:
        elements = []
        for n, b in enumerate(buttons):
            element: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": b.title[:75]},
                "url": b.url,
                "action_id": f"tandem-{n}",
            }
            if b.style:
                element["style"] = b.style
            elements.append(element)
        blocks.append({"type": "actions", "elements": elements})
    return {"text": subject, "blocks": blocks}


def teams_message(subject: str, body: str, buttons: Sequence[Button]) -> dict[str, Any]:
    """An incoming-webhook message carrying one Adaptive Card (schema 1.4)."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": body[:MAX_TEXT], "wrap": True},
        ],
    }
    if buttons:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": b.title, "url": b.url} for b in buttons
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class ChatSender:
    """Posts a JSON message to an incoming webhook; anything but 2xx fails. With
    ``bot`` (wired by ``main.py``), a Slack message for someone without a webhook
    goes to them directly through their organisation's Slack bot."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.bot: SlackBot | None = None

    async def slack(
        self,
        conn: AsyncConnection,
        tenant: str,
        webhook: str | None,
        email: str | None,
        payload: dict[str, Any],
    ) -> None:
        """The person's own webhook when they gave one, else the tenant's bot."""
        if webhook:
            await self.post(webhook, payload)
        elif self.bot is not None:
            await self.bot.direct(conn, tenant, email, payload)
        else:
            raise DeliveryFailed("no Slack webhook to post to")

    async def post(self, url: str, payload: dict[str, Any]) -> None:
        try:
            resp = await self.client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise DeliveryFailed(f"webhook answered {resp.status_code}")


SEALED = "sealed:v1:"


class SecretBox:
    """Seals a tenant's secrets at rest: AES-256-GCM under the service's key, the
    (purpose, tenant) bound as associated data so a sealed value opens nowhere else."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secrets key must be 32 bytes")
        self._aead = AESGCM(key)

    @staticmethod
    def _bound(purpose: str, tenant: str) -> bytes:
        return f"{purpose}\x1f{tenant}".encode()

    def seal(self, purpose: str, tenant: str, value: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), self._bound(purpose, tenant))
        return SEALED + base64.b64encode(nonce + sealed).decode()

    def open(self, purpose: str, tenant: str, sealed: str) -> str:
        if not sealed.startswith(SEALED):
            raise ValueError("not a sealed value")
        raw = base64.b64decode(sealed[len(SEALED) :])
        try:
            return self._aead.decrypt(
                raw[:12], raw[12:], self._bound(purpose, tenant)
            ).decode()
        except InvalidTag:
            raise ValueError("sealed under another key, purpose or tenant") from None


BOT = "slack_bot"
ADMINS = (Role.ADMIN,)


class SlackBot:
    """A tenant's Slack bot: its sealed token, and direct messages through it."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: httpx.AsyncClient,
        box: SecretBox,
        *,
        api_url: str = "https://slack.com/api",
    ) -> None:
        self.engine = engine
        self.client = client
        self.box = box
        self.api_url = api_url.rstrip("/")

    async def view(self, me: Principal) -> SlackBotView:
        me.require(*ADMINS)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT updated_at FROM notification_slack_bots "
                        "WHERE tenant = :t"
                    ),
                    {"t": me.tenant},
                )
            ).first()
        if row is None:
            return SlackBotView(connected=False)
        return SlackBotView(connected=True, updated_at=row.updated_at)

    async def configure(self, me: Principal, token: str) -> SlackBotView:
        """Set (or replace) the organisation's bot token, sealed; never shown back."""
        me.require(*ADMINS)
        at = stamp(utcnow())
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO notification_slack_bots (tenant, token_sealed, "
                    "updated_at) VALUES (:t, :s, :a) ON CONFLICT (tenant) DO UPDATE "
                    "SET token_sealed = excluded.token_sealed, "
                    "updated_at = excluded.updated_at"
                ),
                {"t": me.tenant, "s": self.box.seal(BOT, me.tenant, token), "a": at},
            )
        return SlackBotView(connected=True, updated_at=at)

    async def remove(self, me: Principal) -> None:
        me.require(*ADMINS)
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM notification_slack_bots WHERE tenant = :t"),
                {"t": me.tenant},
            )

    async def token_for(self, conn: AsyncConnection, tenant: str) -> str | None:
        sealed = await conn.scalar(
            text("SELECT token_sealed FROM notification_slack_bots WHERE tenant = :t"),
            {"t": tenant},
        )
        return None if sealed is None else self.box.open(BOT, tenant, sealed)

    async def direct(
        self,
        conn: AsyncConnection,
        tenant: str,
        email: str | None,
        payload: dict[str, Any],
    ) -> None:
        """Post ``payload`` (Block Kit) to the person's Slack user, found by email."""
        token = await self.token_for(conn, tenant)
        if token is None:
            raise DeliveryFailed("no Slack webhook and no Slack bot to post with")
        if not email:
            raise DeliveryFailed("slack: the person gave no email to be found by")
        found = await self._call(token, "users.lookupByEmail", form={"email": email})
        user = (found.get("user") or {}).get("id")
        if not isinstance(user, str) or not user:
            raise DeliveryFailed("slack users.lookupByEmail: no user id")
        await self._call(token, "chat.postMessage", body={"channel": user, **payload})

    async def _call(
        self,
        token: str,
        method: str,
        *,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"}
        try:
            if body is not None:
                headers["content-type"] = "application/json; charset=utf-8"
                resp = await self.client.post(
                    f"{self.api_url}/{method}",
                    content=json.dumps(body).encode(),
                    headers=headers,
                )
            else:
                resp = await self.client.post(
                    f"{self.api_url}/{method}", data=form or {}, headers=headers
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"slack {method}: {type(exc).__name__}") from exc
        if resp.status_code // 100 != 2:
            raise DeliveryFailed(f"slack {method} answered {resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            raise DeliveryFailed(f"slack {method}: not a JSON answer") from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise DeliveryFailed(f"slack {method}: {str(error or 'not ok')[:200]}")
        return answer
