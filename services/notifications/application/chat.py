"""The chat channels: Slack (incoming webhook, Block Kit) and Microsoft Teams
(incoming webhook, an Adaptive Card).

A person connects a channel by giving their incoming-webhook URL. Only hosts the
deployment allows are accepted (Slack's and Microsoft's by default), over HTTPS, so
a preference cannot turn the service into a client of someone's internal network.
A message carries the rendered subject and body and, where the portal's address is
known, buttons that open the notification there (its action links do the rest).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from chassis.errors import FieldError, ValidationFailed
from services.notifications.application.email import DeliveryFailed

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
    """Posts a JSON message to an incoming webhook; anything but 2xx fails."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, payload: dict[str, Any]) -> None:
        try:
            resp = await self.client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise DeliveryFailed(f"webhook answered {resp.status_code}")
