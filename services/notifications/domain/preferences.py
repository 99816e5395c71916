"""A person's say over how they are told: channels, unsubscription, quiet hours and
the daily digest.

The in-app inbox always holds a notification the person receives: it is the record
the other channels point to. Unsubscribing silences every kind but the ones the
programme requires (``REQUIRED_KINDS``). Quiet hours and the digest only move when the
other channels are reached, in the person's own time zone; nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chassis.errors import FieldError, ValidationFailed
from contracts.notifications import REQUIRED_KINDS, Channel, NotificationKind

LOCALES = ("en", "fr", "de")
DEFAULT_CHANNELS = frozenset({Channel.IN_APP, Channel.EMAIL})
# The local hour at which a daily digest goes out.
DIGEST_AT = time(8, 0)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; UTC when profiles gave none we know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class QuietHours:
    """A local span of the day (it may wrap past midnight) in which nothing is sent."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValidationFailed(
                [FieldError("quiet_hours", "start and end must differ")]
            )

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The first moment at or after ``local`` outside the quiet hours."""
        if not self.contains(local.time().replace(tzinfo=None)):
            return local
        end = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0
        )
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True)
class Preferences:
    """What a person chose; the defaults are what someone who chose nothing gets."""

    channels: frozenset[Channel] = DEFAULT_CHANNELS
    unsubscribed: bool = False
    quiet_hours: QuietHours | None = None
    daily_digest: bool = False
    locale: str = "en"
    time_zone: str = "UTC"
    # The person's own address for the email channel (they typed it; erased with them).
    email: str | None = field(default=None, repr=False)
    # Their Slack and Teams incoming webhooks (secrets in the URL: never shown back).
    slack_webhook: str | None = field(default=None, repr=False)
    teams_webhook: str | None = field(default=None, repr=False)
    # The person's organisation has a Slack bot: Slack reaches them by direct
    # message (found by ``email``) without a webhook of their own. Not theirs to set.
    slack_bot: bool = False

    def __post_init__(self) -> None:
        if self.locale not in LOCALES:
            raise ValidationFailed(
                [FieldError("locale", f"one of {', '.join(LOCALES)}")]
            )

    def receives(self, kind: NotificationKind) -> bool:
        """Whether the person is told of ``kind`` at all."""
        return kind in REQUIRED_KINDS or not self.unsubscribed

    def channels_for(self, kind: NotificationKind) -> list[Channel]:
        """The channels a notice of ``kind`` goes out on (in-app first, always)."""
        if not self.receives(kind):
            return []
        others = sorted(c for c in self.channels if c is not Channel.IN_APP)
        reachable = {
            Channel.EMAIL: self.email,
            Channel.SLACK: self.slack_webhook or (self.slack_bot and self.email),
            Channel.TEAMS: self.teams_webhook,
        }
        others = [c for c in others if reachable.get(c)]
        return [Channel.IN_APP, *others]

    def deliver_at(self, now: datetime, kind: NotificationKind) -> datetime:
        """When a channel other than in-app may carry a notice of ``kind`` made at
        ``now`` (UTC): at once, after the quiet hours, or with the next digest.
        What the programme requires never waits for the digest."""
        local = now.astimezone(zone(self.time_zone))
        if self.daily_digest and kind not in REQUIRED_KINDS:
            at = local.replace(
                hour=DIGEST_AT.hour, minute=DIGEST_AT.minute, second=0, microsecond=0
            )
            local = at if at >= local else at + timedelta(days=1)
        elif self.quiet_hours is not None:
            local = self.quiet_hours.ends_after(local)
        return local.astimezone(UTC)
