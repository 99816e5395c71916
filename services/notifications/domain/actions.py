"""Signed action links: one thing a person may do from a message, without logging in.

A token is ``<claims>.<signature>``, both base64url: the claims (JSON) bind the
tenant, the person, their role, the action, its subject (a pairing, session or
survey), the answer for a pulse, an expiry and a nonce; the signature is
HMAC-SHA256 of the encoded claims under the service's action secret. Changing any
byte breaks the signature (tampered → 403); a token past its expiry is gone (410);
the nonce is spent on first use (a second use → 410). The token names one action on
one subject, so it can do nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum

MAX_TOKEN = 2048


class Action(StrEnum):
    ACCEPT_PAIRING = "accept_pairing"
    DECLINE_PAIRING = "decline_pairing"
    CONFIRM_SESSION = "confirm_session"
    ANSWER_PULSE = "answer_pulse"
    # The answer to a match-quality pulse or an inactivity warning: the relationship
    # goes on (carried out by notifications itself, as ``keep-open``).
    KEEP_OPEN = "keep_open"


# What each action tells the person it will do (shown before they confirm).
DESCRIPTIONS = {
    Action.ACCEPT_PAIRING: "Accept the proposed mentoring pairing",
    Action.DECLINE_PAIRING: "Decline the proposed mentoring pairing",
    Action.CONFIRM_SESSION: "Confirm that the session took place",
    Action.ANSWER_PULSE: "Answer the pulse survey",
    Action.KEEP_OPEN: "Say the mentoring relationship is going on (keep it open)",
}


class BadLink(Exception):
    """Not a token this service signed (or altered since)."""


class ExpiredLink(Exception):
    """A genuine token past its expiry."""


@dataclass(frozen=True)
class ActionClaim:
    tenant: str
    person_id: str
    role: str
    action: Action
    subject_id: str
    expires_at: int  # unix seconds
    nonce: str
    answers: tuple[int, ...] = ()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def sign(claim: ActionClaim, secret: bytes) -> str:
    body = _b64(
        json.dumps(
            {
                "t": claim.tenant,
                "p": claim.person_id,
                "r": claim.role,
                "a": claim.action.value,
                "s": claim.subject_id,
                "x": claim.expires_at,
                "n": claim.nonce,
                "v": list(claim.answers),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
    )
    return f"{body}.{_sign(secret, body)}"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def verify(token: str, secret: bytes, now: float) -> ActionClaim:
    """The claim of a genuine, unexpired token; :class:`BadLink` or
    :class:`ExpiredLink` otherwise (the signature is checked before anything else)."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
        raise BadLink("not an action link")
    body, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(_sign(secret, body), signature):
        raise BadLink("not an action link of this service")
    try:
        data = json.loads(_unb64(body))
        claim = ActionClaim(
            tenant=str(data["t"]),
            person_id=str(data["p"]),
            role=str(data["r"]),
            action=Action(data["a"]),
            subject_id=str(data["s"]),
            expires_at=int(data["x"]),
            nonce=str(data["n"]),
            answers=tuple(int(v) for v in data["v"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadLink("not an action link") from exc
    if now >= claim.expires_at:
        raise ExpiredLink("this link has expired")
    return claim
