"""GraphQL types of the notifications part, built from the service's answers
(``contracts.api.notifications``)."""

from __future__ import annotations

import enum
from datetime import datetime, time

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from contracts.api import notifications as api
from gateway.connections import Connection
from gateway.enums import v
from gateway.ids import global_id


@strawberry.enum(description="What a notification tells of.")
class NotificationKind(enum.Enum):
    PAIRING_PROPOSED = v("pairing_proposed", "A pairing was proposed to you.")
    PAIRING_APPROVED = v("pairing_approved", "A coordinator approved your pairing.")
    PAIRING_CONFIRMED = v("pairing_confirmed", "Your relationship has started.")
    SESSION_SCHEDULED = v("session_scheduled", "A session was scheduled.")
    EARLY_WARNING = v("early_warning", "A relationship shows signs of going quiet.")
    SESSION_TOMORROW = v("session_tomorrow", "A session starts within a day.")
    MILESTONE_DUE = v("milestone_due", "A milestone is due soon.")
    CADENCE_MISSED = v("cadence_missed", "No session for the agreed cadence.")
    MATCH_PULSE = v("match_pulse", "How is the match going? A short survey.")
    INACTIVITY_WARNING = v(
        "inactivity_warning",
        "No sign of life for a while: answer to keep the relationship open.",
    )
    RELATIONSHIP_CLOSED = v(
        "relationship_closed", "The relationship was closed after the notice period."
    )
    WARNING_PERSISTS = v(
        "warning_persists", "An early warning is still raised (coordinators)."
    )
    RECOMMENDATION_AWAITING = v(
        "recommendation_awaiting",
        "A council's recommendation awaits your decision (sponsors, coordinators).",
    )
    WEBHOOK_DISABLED = v(
        "webhook_disabled",
        "An integrator's webhook endpoint kept failing and was disabled "
        "(coordinators and admins).",
    )


@strawberry.enum(description="Where a notification reaches a person.")
class NotificationChannel(enum.Enum):
    IN_APP = v("in_app", "The in-app inbox (always on).")
    EMAIL = v("email", "Email.")
    SLACK = v("slack", "A Slack incoming webhook.")
    TEAMS = v("teams", "A Microsoft Teams incoming webhook.")


@strawberry.enum(description="The language a person's messages are written in.")
class NotificationLocale(enum.Enum):
    EN = v("en", "English (also the fallback).")
    FR = v("fr", "French.")
    DE = v("de", "German.")


@strawberry.enum(description="A type of event an integrator's endpoint receives.")
class WebhookEventType(enum.Enum):
    PAIRING_PROPOSED = v("pairing.proposed", "A pairing was proposed.")
    PAIRING_APPROVED = v("pairing.approved", "A pairing was approved.")
    PAIRING_CONFIRMED = v("pairing.confirmed", "A pairing was confirmed.")
    SESSION_SCHEDULED = v("session.scheduled", "A session was scheduled.")
    RELATIONSHIP_EARLY_WARNING = v(
        "relationship.early_warning", "An early warning was raised."
    )


@strawberry.enum(description="Where a webhook message stands.")
class WebhookDeliveryStatus(enum.Enum):
    PENDING = v("pending", "Not delivered yet (due now or after a backoff).")
    SENT = v("sent", "The endpoint answered 2xx.")
    DEAD = v("dead", "Every attempt failed; kept, and may be replayed.")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# The node type of a notification's subject, per kind (every kind has one).
SUBJECT_TYPES: dict[str, str] = {
    "pairing_proposed": "Pairing",
    "pairing_approved": "Pairing",
    "pairing_confirmed": "Pairing",
    "session_scheduled": "Session",
    "session_tomorrow": "Session",
    "milestone_due": "Milestone",
    "early_warning": "Relationship",
    "cadence_missed": "Relationship",
    "match_pulse": "Relationship",
    "inactivity_warning": "Relationship",
    "relationship_closed": "Relationship",
    "warning_persists": "Relationship",
    "webhook_disabled": "WebhookEndpoint",
    "recommendation_awaiting": "Recommendation",
}


@strawberry.type(description="One notification in a person's inbox.")
class Notification:
    id: relay.GlobalID = strawberry.field(description="The notification's id.")
    kind: NotificationKind = strawberry.field(description="What it tells of.")
    subject_id: strawberry.ID = strawberry.field(
        description="The global id of the pairing, session or relationship told of."
    )
    facts: JSON = strawberry.field(
        description="Ids and moments of what happened (kind-specific keys; never "
        "text a person typed)."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    read: bool = strawberry.field(description="Whether the person has read it.")
    read_at: datetime | None = strawberry.field(description="When it was read.")

    @classmethod
    def from_model(cls, m: api.NotificationView) -> Notification:
        subject = SUBJECT_TYPES[m.kind.value]
        return cls(
            id=global_id("Notification", m.notification_id),
            kind=NotificationKind(m.kind.value),
            subject_id=strawberry.ID(str(global_id(subject, m.subject_id))),
            facts=JSON(dict(m.facts)),
            created_at=datetime.fromisoformat(m.created_at),
            read=m.read,
            read_at=_moment(m.read_at),
        )


@strawberry.type(description="A page of a person's notifications, newest first.")
class NotificationConnection(Connection[Notification]):
    unread_count: int = strawberry.field(
        default=0, description="All the person's unread notifications."
    )


@strawberry.type(description="Local hours in which nothing but what is required.")
class QuietHours:
    start: time = strawberry.field(description="Local time they begin.")
    end: time = strawberry.field(description="Local time they end (may be next day).")


@strawberry.type(description="How a person chose to be told.")
class NotificationPreferences:
    channels: list[NotificationChannel] = strawberry.field(
        description="The channels chosen."
    )
    unsubscribed: bool = strawberry.field(
        description="Everything but what the programme requires is silenced."
    )
    quiet_hours: QuietHours | None = strawberry.field(description="Quiet hours.")
    daily_digest: bool = strawberry.field(
        description="What is not required comes in one message a day."
    )
    locale: NotificationLocale = strawberry.field(description="The language.")
    time_zone: str = strawberry.field(description="The person's IANA time zone.")
    email: str | None = strawberry.field(description="Where email is written.")
    slack_connected: bool = strawberry.field(description="A Slack webhook is set.")
    teams_connected: bool = strawberry.field(description="A Teams webhook is set.")
    required_kinds: list[NotificationKind] = strawberry.field(
        description="What the person hears even when unsubscribed."
    )

    @classmethod
    def from_model(cls, m: api.PreferencesView) -> NotificationPreferences:
        return cls(
            channels=[NotificationChannel(c.value) for c in m.channels],
            unsubscribed=m.unsubscribed,
            quiet_hours=QuietHours(start=m.quiet_hours.start, end=m.quiet_hours.end)
            if m.quiet_hours
            else None,
            daily_digest=m.daily_digest,
            locale=NotificationLocale(m.locale),
            time_zone=m.time_zone,
            email=m.email,
            slack_connected=m.slack_connected,
            teams_connected=m.teams_connected,
            required_kinds=[NotificationKind(k.value) for k in m.required_kinds],
        )


def _event_types(values: list[str]) -> list[WebhookEventType]:
    known = {t.value for t in WebhookEventType}
    return [WebhookEventType(t) for t in values if t in known]


@strawberry.type(description="An integrator's endpoint for signed webhook events.")
class WebhookEndpoint:
    id: relay.GlobalID = strawberry.field(description="The endpoint's id.")
    url: str = strawberry.field(description="Where events are posted.")
    event_types: list[WebhookEventType] = strawberry.field(
        description="The types it receives (empty: all)."
    )
    description: str = strawberry.field(description="The integrator's label.")
    enabled: bool = strawberry.field(description="Whether delivery goes on.")
    disabled_reason: str | None = strawberry.field(
        description="Why delivery stopped (sustained failure)."
    )
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt has failed."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_model(cls, m: api.EndpointView) -> WebhookEndpoint:
        return cls(
            id=global_id("WebhookEndpoint", m.endpoint_id),
            url=m.url,
            event_types=_event_types(m.event_types),
            description=m.description,
            enabled=m.enabled,
            disabled_reason=m.disabled_reason,
            failing_since=_moment(m.failing_since),
            created_at=datetime.fromisoformat(m.created_at),
        )


@strawberry.type(description="One attempt to deliver a webhook message.")
class WebhookAttempt:
    at: datetime = strawberry.field(description="When it was made.")
    status_code: int | None = strawberry.field(description="The HTTP status answered.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")
    duration_ms: int = strawberry.field(description="How long it took.")


@strawberry.type(description="One webhook message and its attempts.")
class WebhookDelivery:
    id: relay.GlobalID = strawberry.field(
        description="The delivery's id (its webhook-id header)."
    )
    event_type: WebhookEventType | None = strawberry.field(
        description="The event type (null: a type this schema does not know yet)."
    )
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Attempts so far.")
    last_error: str | None = strawberry.field(description="The last failure.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    sent_at: datetime | None = strawberry.field(description="When it was delivered.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next."
    )
    log: list[WebhookAttempt] = strawberry.field(description="Every attempt.")

    @classmethod
    def from_model(cls, m: api.WebhookDeliveryView) -> WebhookDelivery:
        types = _event_types([m.event_type])
        return cls(
            id=global_id("WebhookDelivery", m.delivery_id),
            event_type=types[0] if types else None,
            status=WebhookDeliveryStatus(m.status),
            attempts=m.attempts,
            last_error=m.last_error,
            created_at=datetime.fromisoformat(m.created_at),
            sent_at=_moment(m.sent_at),
            next_attempt_at=_moment(m.next_attempt_at),
            log=[
                WebhookAttempt(
                    at=datetime.fromisoformat(a.at),
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in m.log
            ],
        )
