"""The notifications service's HTTP API: a person's inbox and their preferences.

Every route is the caller's own: the person is the token's subject, the organisation
its tenant; another person's notification reads as not found. A notification's
``facts`` are ids, moments (RFC 3339 with an offset) and numbers as text, never text a
person typed. Quiet hours are local ``HH:MM`` times in the person's time zone (the one
profiles holds for them).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from chassis.inputs import MULTI_LINE, ONE_LINE, Email, RequestBody
from contracts.notifications import Channel, NotificationKind


class NotificationView(BaseModel):
    """One notification in the person's inbox."""

    notification_id: str
    kind: NotificationKind
    subject_id: str = Field(description="the pairing, session or relationship told of")
    facts: dict[str, str] = Field(
        description="ids and moments of what happened (kind-specific keys)"
    )
    created_at: str
    read: bool
    read_at: str | None = None


class Inbox(BaseModel):
    """A page of the person's notifications, newest first."""

    items: list[NotificationView]
    unread: int = Field(description="all the person's unread notifications")
    next_cursor: str | None = Field(
        None, description="pass as ``before`` for the next page; null: no more"
    )


class MarkedRead(BaseModel):
    marked: int = Field(description="notifications that were unread and now are read")


class QuietHoursModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="local time the quiet hours begin, HH:MM")
    end: time = Field(description="local time they end (may be the next day)")


class PreferencesIn(RequestBody):
    """What a person chooses; in-app is always on and needs no mention."""

    channels: list[Channel] = Field(
        default_factory=lambda: [Channel.IN_APP, Channel.EMAIL], max_length=4
    )
    unsubscribed: bool = Field(
        False, description="silence everything but what the programme requires"
    )
    quiet_hours: QuietHoursModel | None = None
    daily_digest: bool = Field(
        False, description="gather what is not required into one message a day"
    )
    locale: str = Field("en", max_length=2, pattern="^(en|fr|de)$")
    email: Email | None = Field(None, description="where the email channel writes")
    slack_webhook: HttpUrl | None = Field(
        None, description="a Slack incoming-webhook URL for the slack channel"
    )
    teams_webhook: HttpUrl | None = Field(
        None, description="a Teams incoming-webhook URL for the teams channel"
    )


class PreferencesView(BaseModel):
    channels: list[Channel]
    unsubscribed: bool
    quiet_hours: QuietHoursModel | None
    daily_digest: bool
    locale: str
    time_zone: str = Field(description="the person's IANA zone, from profiles")
    email: str | None
    slack_connected: bool = Field(description="a Slack webhook is set (never shown)")
    teams_connected: bool = Field(description="a Teams webhook is set (never shown)")
    required_kinds: list[NotificationKind] = Field(
        description="what the person hears even when unsubscribed"
    )


class TemplateIn(RequestBody):
    """A tenant's wording of one kind of message (Jinja2, rendered sandboxed with
    ``kind``, ``facts`` and ``link``)."""

    subject: str = Field(min_length=1, max_length=8000, pattern=ONE_LINE)
    body: str = Field(min_length=1, max_length=8000, pattern=MULTI_LINE)


class TemplateView(BaseModel):
    kind: NotificationKind
    channel: Channel
    locale: str
    subject: str
    body: str


# -- outbound webhooks (Standard Webhooks) -------------------------------------------


# A webhook type's name as integrators write it (``pairing.confirmed``).
WebhookType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_.]+$")]


class EndpointIn(RequestBody):
    """An integrator's endpoint: where signed webhook events are posted."""

    url: HttpUrl = Field(description="https URL of a public host")
    event_types: list[WebhookType] = Field(
        default_factory=list,
        max_length=20,
        description="the webhook types it takes (e.g. pairing.confirmed); none: all",
    )
    description: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class RotateIn(RequestBody):
    overlap_s: int = Field(
        24 * 3600, ge=0, le=30 * 24 * 3600, description="the old secret keeps signing"
    )


class EndpointView(BaseModel):
    endpoint_id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(
        None, description="why delivery stopped (sustained failure)"
    )
    failing_since: str | None = None
    created_at: str


class EndpointCreated(BaseModel):
    endpoint: EndpointView
    secret: str = Field(description="the signing secret (whsec_...), shown this once")


class WebhookAttemptView(BaseModel):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryView(BaseModel):
    delivery_id: str = Field(description="the webhook-id header of every attempt")
    event_type: str
    status: str = Field(description="pending, sent or dead")
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None
    next_attempt_at: str | None
    log: list[WebhookAttemptView]


class WebhookLog(BaseModel):
    items: list[WebhookDeliveryView]


class RulesModel(RequestBody):
    """An organisation's time-based rules (days unless named otherwise; 0 turns a
    rule off). Absent members keep their defaults."""

    inactive_days: int = Field(
        30, ge=0, le=730, description="no session nor answer for this long: a warning"
    )
    notice_days: int = Field(
        7, ge=1, le=90, description="after an unanswered warning: closed as inactive"
    )
    session_reminder_hours: int = Field(
        24, ge=0, le=168, description="a session starting within this: both told"
    )
    milestone_due_days: int = Field(
        7, ge=0, le=90, description="a milestone due within this: the mentee told"
    )
    cadence_grace_days: int = Field(
        3, ge=0, le=90, description="past the agreed cadence by this: a nudge"
    )
    pulse_first_days: int = Field(
        30, ge=0, le=365, description="the first match-quality pulse, after the start"
    )
    pulse_every_days: int = Field(
        60, ge=0, le=365, description="then a pulse this often (0: only the first)"
    )
    warning_persists_days: int = Field(
        7, ge=0, le=365, description="an early warning still raised: coordinators told"
    )
    recommendation_decision_days: int = Field(
        7,
        ge=0,
        le=365,
        description="a council's recommendation undecided this long: its deciders told",
    )


class KeptOpen(BaseModel):
    """A member of the pair answered: the relationship stays open."""

    relationship_id: str
    answered_at: datetime
    warning_cancelled: bool = Field(
        description="an inactivity warning was in force and is withdrawn"
    )


class SlackBotIn(RequestBody):
    """The organisation's Slack bot token (a Slack app's ``xoxb-`` token with the
    ``chat:write`` and ``users:read.email`` scopes): write-only, never shown back."""

    bot_token: str = Field(
        min_length=15,
        max_length=255,
        pattern=r"^xoxb-[A-Za-z0-9-]+$",
        description="a Slack bot token (xoxb-...)",
    )


class SlackBotView(BaseModel):
    """Whether the organisation's Slack bot is set (the token is never shown)."""

    connected: bool
    updated_at: str | None = Field(None, description="when the token was last set")
