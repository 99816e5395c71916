"""Acting from a message: minting signed action links and carrying one out.

``ActionLinks.mint`` makes the link a message carries (the email's, and the Slack
and Teams buttons'); ``preview`` says what a link will do without doing it;
``perform`` spends the link's nonce (single use, in ``action_links_used``) and then
asks the service that owns the subject to do that one thing, on the person's
behalf, with a token for that person that lives a minute. If the owning service
cannot be reached the nonce is given back, so the person may try again; a refusal
(already declined, not theirs) spends it. An action this service owns itself
(``keep_open``: the answer to a pulse or an inactivity warning) is carried out here,
by a performer ``main.py`` wires (``local``), with the same single use.

The links a message carries (``buttons_for``): an approved pairing's Accept and
Decline, a session reminder's Confirm session, a match-quality pulse's and an
inactivity warning's Keep it open; each for its recipient only.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth.revocation import Revocations
from chassis.errors import Forbidden, ServiceUnavailable, TandemError
from chassis.events import utcnow
from contracts.notifications import NotificationKind
from services.notifications.application.chat import Button
from services.notifications.domain import actions as a
from services.notifications.projections.outbox import Claimed

# (service, path template) of each action; the subject fills ``{subject}``.
CALLS: dict[a.Action, tuple[str, str]] = {
    a.Action.ACCEPT_PAIRING: ("matching", "/pairings/{subject}/accept"),
    a.Action.DECLINE_PAIRING: ("matching", "/pairings/{subject}/decline"),
    a.Action.CONFIRM_SESSION: ("sessions", "/sessions/{subject}/held"),
    a.Action.ANSWER_PULSE: ("sessions", "/pulse-surveys/{subject}/responses"),
}


class TamperedLink(Forbidden):
    code = "ActionLinkInvalid"
    title = "Not a valid action link"


class LinkGone(TandemError):
    status = 410
    code = "ActionLinkGone"
    title = "This link has expired or was already used"


class ActionRefused(TandemError):
    status = 409
    code = "ActionRefused"
    title = "The action could not be carried out"


@dataclass(frozen=True)
class ActionPreview:
    action: str
    description: str
    subject_id: str
    expires_at: int


@dataclass(frozen=True)
class ActionDone:
    action: str
    subject_id: str
    status: int


# Carries out an action of this service's own for the claim's person; raises a
# ``TandemError`` (a 4xx: refused) when it may not be done.
LocalAction = Callable[[a.ActionClaim], Awaitable[None]]
# (tenant, person, role) → a bearer token for that person, short-lived.
Minter = Callable[[str, str, str], str]
Poster = Callable[[str, str, dict[str, Any], str], Awaitable[httpx.Response]]


class ActionLinks:
    def __init__(
        self,
        engine: AsyncEngine,
        secret: bytes,
        *,
        base_url: str,
        post: Poster,
        mint_for: Minter,
        ttl_s: int = 7 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.revocations = Revocations(engine)
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.post = post
        self.mint_for = mint_for
        self.ttl_s = ttl_s
        self.clock = clock
        self.local: dict[a.Action, LocalAction] = {}

    def mint(
        self,
        tenant: str,
        person_id: str,
        role: str,
        action: a.Action,
        subject_id: str,
        answers: tuple[int, ...] = (),
        ttl_s: int | None = None,
    ) -> str:
        """The URL of a new link (``<base>/notifications/act/<token>``)."""
        claim = a.ActionClaim(
            tenant=tenant,
            person_id=person_id,
            role=role,
            action=action,
            subject_id=subject_id,
            expires_at=int(self.clock()) + (self.ttl_s if ttl_s is None else ttl_s),
            nonce=a.new_nonce(),
            answers=answers,
        )
        return f"{self.base_url}/notifications/act/{a.sign(claim, self.secret)}"

    def buttons_for(self, d: Claimed) -> list[Button]:
        """The action links a message carries (Slack and Teams buttons, the email's
        links), for its recipient only: accept or decline an approved pairing;
        confirm the session a reminder is about; keep a relationship open from its
        match-quality pulse or its inactivity warning. The token carries no
        programme role: the owning service checks the person is a party."""
        facts = d.facts or {}
        mint = self.mint
        who = (d.tenant, d.recipient_id, "participant")
        pairing = facts.get("pairing_id")
        if d.kind == NotificationKind.PAIRING_APPROVED and pairing:
            return [
                Button(
                    "Accept", mint(*who, a.Action.ACCEPT_PAIRING, pairing), "primary"
                ),
                Button(
                    "Decline", mint(*who, a.Action.DECLINE_PAIRING, pairing), "danger"
                ),
            ]
        session = facts.get("session_id")
        if d.kind == NotificationKind.SESSION_TOMORROW and session:
            url = mint(*who, a.Action.CONFIRM_SESSION, session)
            return [Button("Confirm session", url, "primary")]
        relationship = facts.get("relationship_id")
        keeps = (NotificationKind.MATCH_PULSE, NotificationKind.INACTIVITY_WARNING)
        if d.kind in keeps and relationship and a.Action.KEEP_OPEN in self.local:
            title = (
                "Going well: keep it open"
                if d.kind == NotificationKind.MATCH_PULSE
                else "Keep it open"
            )
            url = mint(*who, a.Action.KEEP_OPEN, relationship)
            return [Button(title, url, "primary")]
        return []

    async def _valid(self, token: str) -> a.ActionClaim:
        """The link's claim, if its person may still act: a link is a credential as
        a bearer token is, and a deactivated or erased person's is refused too
        (before its nonce is spent, and before any action, this service's own
        included)."""
        claim = self._claim(token)
        if await self.revocations.reason(claim.tenant, claim.person_id) is not None:
            raise LinkGone("this link no longer works")
        return claim

    def _claim(self, token: str) -> a.ActionClaim:
        try:
            return a.verify(token, self.secret, self.clock())
        except a.BadLink as exc:
            raise TamperedLink(str(exc)) from None
        except a.ExpiredLink as exc:
            raise LinkGone(str(exc)) from None

    async def _used(self, nonce: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM action_links_used WHERE nonce = :n"), {"n": nonce}
            )
            return found.first() is not None

    async def preview(self, token: str) -> ActionPreview:
        claim = await self._valid(token)
        if await self._used(claim.nonce):
            raise LinkGone("this link was already used")
        return ActionPreview(
            action=claim.action.value,
            description=a.DESCRIPTIONS[claim.action],
            subject_id=claim.subject_id,
            expires_at=claim.expires_at,
        )

    async def perform(self, token: str) -> ActionDone:
        claim = await self._valid(token)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO action_links_used (nonce, tenant, action, "
                        "used_at) VALUES (:n, :t, :a, :at)"
                    ),
                    {
                        "n": claim.nonce,
                        "t": claim.tenant,
                        "a": claim.action.value,
                        "at": utcnow().isoformat(),
                    },
                )
        except IntegrityError:
            raise LinkGone("this link was already used") from None
        performer = self.local.get(claim.action)
        if performer is not None:
            try:
                await performer(claim)
            except TandemError as exc:
                if exc.status >= 500:
                    await self._give_back(claim.nonce)
                    raise
                raise ActionRefused(f"refused: {exc}") from None
            return ActionDone(
                action=claim.action.value, subject_id=claim.subject_id, status=200
            )
        if claim.action not in CALLS:
            raise ActionRefused(f"{claim.action} is not carried out here")
        service, template = CALLS[claim.action]
        path = template.format(subject=quote(claim.subject_id, safe=""))
        body: dict[str, Any] = {}
        if claim.action is a.Action.DECLINE_PAIRING:
            body = {"reason": "declined from a notification"}
        elif claim.action is a.Action.ANSWER_PULSE:
            body = {"answers": list(claim.answers)}
        bearer = self.mint_for(claim.tenant, claim.person_id, claim.role)
        try:
            response = await self.post(service, path, body, bearer)
        except httpx.HTTPError:
            response = None
        if response is None or response.status_code >= 500:
            await self._give_back(claim.nonce)
            raise ServiceUnavailable(f"the {service} service is unavailable")
        if response.status_code >= 400:
            raise ActionRefused(f"{service} refused: {_detail(response)}")
        return ActionDone(
            action=claim.action.value,
            subject_id=claim.subject_id,
            status=response.status_code,
        )

    async def _give_back(self, nonce: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM action_links_used WHERE nonce = :n"), {"n": nonce}
            )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase
