"""The delivery outbox: what the other channels carry, and the dispatcher that sends it.

``enqueue`` runs inside the consumer's transaction that keeps the notification: a row
per channel the person chose, due at once, after their quiet hours, or with their
daily digest. ``dispatch`` (a background job) claims what is due, sends every claimed
delivery concurrently, each under its own timeout, and records each outcome on its
own: a broken SMTP server fails its deliveries, which wait with exponential backoff
(``domain/delivery.py``), while the others go out. A delivery that fails every
attempt is dead (kept, with its last error). Email digests: a person's due digest
deliveries go out as one message.

The dispatcher (``pump``) does not poll: the transaction that queues deliveries wakes
it when it commits (``application/waking.py``: PostgreSQL ``NOTIFY``, heard by every
replica; the in-process signal on SQLite), and between wakes it sleeps until the next
delivery falls due (a retry, the end of quiet hours, a digest), or the fallback
interval at most, a safety net for a lost notification.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.events import utcnow
from contracts.notifications import REQUIRED_KINDS, Channel, NotificationKind
from services.notifications.application.chat import (
    Button,
    ChatSender,
    slack_message,
    teams_message,
)
from services.notifications.application.email import DeliveryFailed, EmailSender
from services.notifications.application.templates import Templates
from services.notifications.application.waking import Waker
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.notices import Notice
from services.notifications.domain.preferences import Preferences
from services.notifications.projections import outbox, preferences
from services.notifications.projections.outbox import Claimed, Due

log = logging.getLogger(__name__)
# A claimed delivery is held this long past the send timeout before it is due again
# (a dispatcher that died mid-send).
LEASE_MARGIN_S = 30.0
# The channel of the PostgreSQL notification that wakes the dispatchers.
CHANNEL = "tandem_notifications_deliveries"
# Nothing was claimed yet a delivery is due (another replica holds it): look again
# after this, not at once.
RECHECK_S = 0.05

# Sends one claimed delivery (its message rendered); raises DeliveryFailed.
ChannelSender = Callable[
    [AsyncConnection, Sequence[Claimed], Preferences], Awaitable[None]
]


class Withheld(Exception):
    """The delivery must not go out at all (its person may no longer be told)."""


async def _revoked(conn: AsyncConnection, tenant: str, person_id: str) -> bool:
    found = await conn.scalar(
        text("SELECT 1 FROM revoked_subjects WHERE tenant = :t AND subject = :s"),
        {"t": tenant, "s": person_id},
    )
    return found is not None


class Outbox:
    """Enqueues deliveries with notifications; sends them when due."""

    def __init__(
        self,
        engine: AsyncEngine,
        templates: Templates,
        *,
        email: EmailSender | None,
        chat: ChatSender | None = None,
        policy: RetryPolicy,
        batch: int = 100,
        send_timeout_s: float = 15.0,
    ) -> None:
        self.engine = engine
        self.templates = templates
        self.email = email
        self.chat = chat
        self.policy = policy
        self.batch = batch
        self.send_timeout_s = send_timeout_s
        # Signed action links for a message (``application/actions.py``), if wired.
        self.action_buttons: Callable[[Claimed], list[Button]] | None = None
        self.random = random.Random()
        self.senders: dict[Channel, ChannelSender] = {
            Channel.EMAIL: self._send_email,
            Channel.SLACK: self._send_slack,
            Channel.TEAMS: self._send_teams,
        }
        self.waker = Waker(engine, CHANNEL)
        self.sleeps = 0  # how many times ``pump`` went to sleep (for tests)

    async def enqueue(
        self,
        conn: AsyncConnection,
        tenant: str,
        notice: Notice,
        notification_id: str,
        chosen: Preferences,
        now: datetime,
    ) -> None:
        """A delivery per channel the person chose besides in-app."""
        rows = self.due(tenant, notice, notification_id, chosen, now)
        if rows:
            await self.waker.notify(conn)
        for d in rows:
            await outbox.enqueue(
                conn,
                tenant=d.tenant,
                notification_id=d.notification_id,
                recipient_id=d.recipient_id,
                channel=d.channel,
                due=d.due,
                digest=d.digest,
                now=d.now,
            )

    async def enqueue_many(self, conn: AsyncConnection, rows: Sequence[Due]) -> None:
        """``enqueue`` of many notifications' deliveries (``due``), one statement."""
        if rows:
            await self.waker.notify(conn)
        await outbox.enqueue_many(conn, rows)

    @staticmethod
    def due(
        tenant: str,
        notice: Notice,
        notification_id: str,
        chosen: Preferences,
        now: datetime,
    ) -> list[Due]:
        """The deliveries ``enqueue`` keeps: one per channel chosen besides in-app,
        due at once, after quiet hours, or with the daily digest."""
        due = chosen.deliver_at(now, notice.kind)
        digest = chosen.daily_digest and notice.kind not in REQUIRED_KINDS
        return [
            Due(
                tenant=tenant,
                notification_id=notification_id,
                recipient_id=notice.recipient_id,
                channel=channel,
                due=due,
                digest=digest,
                now=now,
            )
            for channel in chosen.channels_for(notice.kind)
            if channel is not Channel.IN_APP
        ]

    async def pump(self, fallback_s: float) -> int:
        """Send what is due, batch after batch, then sleep until woken (a committed
        transaction queued deliveries), until the next delivery falls due, or
        ``fallback_s`` at most; how many were sent. The service runs it in a loop."""
        if self.waker.closed:
            await asyncio.sleep(RECHECK_S)  # until the service's loop ends
            return 0
        await self.waker.listen()
        sent = 0
        while True:
            self.waker.clear()  # first: a wake while sending is not lost
            claimed, delivered = await self._dispatch()
            sent += delivered
            if claimed < self.batch:
                break
        async with self.engine.connect() as conn:
            due = await outbox.next_due(conn)
        wait = fallback_s
        if due is not None:
            wait = min(fallback_s, (due - utcnow()).total_seconds())
            if wait <= 0:
                wait = 0.0 if claimed else min(fallback_s, RECHECK_S)
        if wait > 0:
            self.sleeps += 1
            await self.waker.wait(wait)
        return sent

    async def close(self) -> None:
        """Stop listening; a waiting ``pump`` returns (the service stops)."""
        await self.waker.close()

    async def dispatch(self) -> int:
        """Send what is due (one claimed batch); how many deliveries were sent."""
        return (await self._dispatch())[1]

    async def _dispatch(self) -> tuple[int, int]:
        """One claimed batch sent: how many were claimed, how many sent."""
        now = utcnow()
        lease = now + timedelta(seconds=self.send_timeout_s + LEASE_MARGIN_S)
        async with self.engine.begin() as conn:
            claimed = await outbox.claim(conn, now, lease, self.batch)
        if not claimed:
            return 0, 0
        # A person's due digest deliveries of one channel go out together.
        groups: dict[tuple[str, str, Channel, bool], list[Claimed]] = defaultdict(list)
        for item in claimed:
            key = (
                item.tenant,
                item.recipient_id if item.digest else item.delivery_id,
                item.channel,
                item.digest,
            )
            groups[key].append(item)
        results = await asyncio.gather(
            *(self._deliver(group) for group in groups.values())
        )
        return len(claimed), sum(results)

    async def _deliver(self, group: Sequence[Claimed]) -> int:
        first = group[0]
        error: str | None = None
        try:
            sender = self.senders.get(first.channel)
            if sender is None:
                raise DeliveryFailed(f"channel {first.channel} is not configured")
            async with self.engine.connect() as conn:
                if await _revoked(conn, first.tenant, first.recipient_id):
                    raise Withheld("the person was deactivated or erased")
                chosen = await preferences.load(conn, first.tenant, first.recipient_id)
                await asyncio.wait_for(
                    sender(conn, group, chosen), timeout=self.send_timeout_s
                )
        except Withheld as exc:
            async with self.engine.begin() as conn:
                for d in group:
                    await outbox.failed(conn, d.delivery_id, str(exc), None)
            return 0
        except DeliveryFailed as exc:
            error = str(exc)
        except TimeoutError:
            error = f"timed out after {self.send_timeout_s:.0f}s"
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("delivery %s failed unexpectedly", first.delivery_id)
            error = f"{type(exc).__name__}: {exc}"
        now = utcnow()
        async with self.engine.begin() as conn:
            if error is None:
                await outbox.sent(conn, [d.delivery_id for d in group], now)
                return len(group)
            for d in group:
                retry = self.policy.next_attempt(
                    now, d.attempts + 1, self.random.random()
                )
                await outbox.failed(conn, d.delivery_id, error, retry)
        return 0

    async def _send_email(
        self, conn: AsyncConnection, group: Sequence[Claimed], chosen: Preferences
    ) -> None:
        if self.email is None:
            raise DeliveryFailed("no SMTP server is configured")
        if not chosen.email:
            raise DeliveryFailed("the person gave no email address")
        parts = [
            await self._render(conn, d, Channel.EMAIL, chosen.locale) for d in group
        ]
        if len(parts) == 1 and not group[0].digest:
            subject, body = parts[0]
            acts = self.action_buttons(group[0]) if self.action_buttons else []
            if acts:
                body += "\n\n" + "\n".join(f"{b.title}: {b.url}" for b in acts)
        else:
            subject = self.templates.digest_subject(chosen.locale, len(parts))
            body = "\n\n".join(f"{s}\n{b}" for s, b in parts)
        key = group[0].delivery_id
        await self.email.send(chosen.email, subject, body, idempotency_key=key)

    async def _chat_parts(
        self,
        conn: AsyncConnection,
        group: Sequence[Claimed],
        channel: Channel,
        chosen: Preferences,
    ) -> tuple[str, str, list[Button]]:
        parts = [await self._render(conn, d, channel, chosen.locale) for d in group]
        if len(parts) == 1 and not group[0].digest:
            subject, body = parts[0]
            return subject, body, self.buttons(group[0])
        subject = self.templates.digest_subject(chosen.locale, len(parts))
        return subject, "\n\n".join(f"*{s}*\n{b}" for s, b in parts), []

    def buttons(self, d: Claimed) -> list[Button]:
        """Open the notification in the portal; answer a proposal from the message
        (signed action links, when wired, come first)."""
        if self.action_buttons:
            acts = self.action_buttons(d)
            if acts:
                return acts
        link = self.templates.link
        if not link:
            return []
        base = link.rstrip("/")
        facts = d.facts or {}
        if d.kind == NotificationKind.PAIRING_PROPOSED and facts.get("pairing_id"):
            pairing = f"{base}/pairings/{facts['pairing_id']}"
            return [
                Button("Accept", f"{pairing}?answer=accept", "primary"),
                Button("Decline", f"{pairing}?answer=decline", "danger"),
            ]
        return [Button("Open", f"{base}/notifications/{d.notification_id}")]

    async def _send_slack(
        self, conn: AsyncConnection, group: Sequence[Claimed], chosen: Preferences
    ) -> None:
        if self.chat is None or not (chosen.slack_webhook or chosen.slack_bot):
            raise DeliveryFailed("no Slack webhook to post to")
        subject, body, buttons = await self._chat_parts(
            conn, group, Channel.SLACK, chosen
        )
        # The person's webhook, else their organisation's bot (a direct message).
        await self.chat.slack(
            conn,
            group[0].tenant,
            chosen.slack_webhook,
            chosen.email,
            slack_message(subject, body, buttons),
        )

    async def _send_teams(
        self, conn: AsyncConnection, group: Sequence[Claimed], chosen: Preferences
    ) -> None:
        if self.chat is None or not chosen.teams_webhook:
            raise DeliveryFailed("no Teams webhook to post to")
        subject, body, buttons = await self._chat_parts(
            conn, group, Channel.TEAMS, chosen
        )
        await self.chat.post(
            chosen.teams_webhook, teams_message(subject, body, buttons)
        )

    async def _render(
        self, conn: AsyncConnection, d: Claimed, channel: Channel, locale: str
    ) -> tuple[str, str]:
        rendered = await self.templates.render(
            conn,
            tenant=d.tenant,
            kind=d.kind,
            channel=channel,
            locale=locale,
            facts=d.facts or {},
        )
        return rendered.subject, rendered.body
