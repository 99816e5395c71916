"""Outbound webhooks for integrators, per the Standard Webhooks specification.

An inbound event of interest becomes one webhook event (``type``, ``timestamp``,
``data``: ids, moments and closed codes; never a note, feedback, a reason a person
typed, a score's explanation or a demographic). Each message is signed:
``webhook-id`` (the same on every retry, for the receiver's idempotency),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a space-separated
list of ``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}``, one per secret
still valid: during a rotation the old and the new secret both sign, so a receiver
can switch over without dropping a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import insights as i
from contracts import matching as m
from contracts.sessions import meetings as s

SECRET_PREFIX = "whsec_"
# Webhook event type ← inbound event type.
EVENT_TYPES: dict[str, str] = {
    "PairingProposed": "pairing.proposed",
    "PairingApproved": "pairing.approved",
    "PairingConfirmed": "pairing.confirmed",
    "SessionScheduled": "session.scheduled",
    "EarlyWarningRaised": "relationship.early_warning",
}
WEBHOOK_TYPES = tuple(sorted(EVENT_TYPES.values()))


@dataclass(frozen=True)
class WebhookEvent:
    type: str
    data: Mapping[str, Any]
    people: tuple[str, ...]  # the person ids it names (forgotten with them)


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,`` signature per secret."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(_key(x), content, hashlib.sha256).digest()).decode()
        for x in secrets_
    )


def matches(filters: Sequence[str], event_type: str) -> bool:
    """An endpoint with no filter takes every type."""
    return not filters or event_type in filters


def webhook_event(payload: object) -> WebhookEvent | None:
    """What integrators are told of an inbound event (None: nothing)."""
    if isinstance(payload, m.PairingProposed):
        return WebhookEvent(
            EVENT_TYPES["PairingProposed"],
            {
                "pairing_id": payload.pairing_id,
                "mentor_id": payload.mentor_id,
                "mentee_id": payload.mentee_id,
                "expires_at": payload.expires_at.isoformat(),
            },
            (payload.mentor_id, payload.mentee_id),
        )
    if isinstance(payload, (m.PairingApproved, m.PairingConfirmed)):
        name = (
            "PairingApproved"
            if isinstance(payload, m.PairingApproved)
            else ("PairingConfirmed")
        )
        return WebhookEvent(
            EVENT_TYPES[name],
            {
                "pairing_id": payload.pairing_id,
                "mentor_id": payload.mentor_id,
                "mentee_id": payload.mentee_id,
                "starts_on": payload.starts_on.isoformat()
                if payload.starts_on
                else None,
            },
            (payload.mentor_id, payload.mentee_id),
        )
    if isinstance(payload, s.SessionScheduled):
        return WebhookEvent(
            EVENT_TYPES["SessionScheduled"],
            {
                "session_id": payload.session_id,
                "relationship_id": payload.relationship_id,
                "starts_at": payload.starts_at.isoformat(),
                "minutes": payload.minutes,
            },
            (),
        )
    if isinstance(payload, i.EarlyWarningRaised):
        return WebhookEvent(
            EVENT_TYPES["EarlyWarningRaised"],
            {
                "relationship_id": payload.relationship_id,
                "mentor_id": payload.mentor_id,
                "mentee_id": payload.mentee_id,
                "level": str(payload.level),
            },
            (payload.mentor_id, payload.mentee_id),
        )
    return None
