"""Every current-state table of the notifications service: the one schema source.

The chassis creates them at start (``ServicePart.tables``); the Alembic revisions in
``migrations/`` create the same schema on PostgreSQL, which the drift test checks.
Moments are ISO 8601 UTC text (fixed width, so they sort as they compare). Who may not
be told (erased or deactivated people) is the chassis's ``revoked_subjects``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, MetaData, Table, UniqueConstraint, false

from chassis.tables import int_column as _number
from chassis.tables import key_column as _key
from chassis.tables import text_column as _text

metadata = MetaData()

# Each person's time zone, from profiles (quiet hours and the digest are local).
notification_people = Table(
    "notification_people",
    metadata,
    _key("tenant"),
    _key("person_id"),
    _text("time_zone", default="UTC"),
)

# The pair of each relationship, from sessions' RelationshipStarted: a session names
# its relationship only.
notification_relationships = Table(
    "notification_relationships",
    metadata,
    _key("tenant"),
    _key("relationship_id"),
    _text("mentor_id"),
    _text("mentee_id"),
)

# Sessions' events that arrived before their relationship (another partition): kept
# until RelationshipStarted comes, then told.
notification_parked = Table(
    "notification_parked",
    metadata,
    _key("tenant"),
    _key("event_id"),
    _text("relationship_id"),
    _text("person_id", nullable=True),
    _text("event_type"),
    _text("schema_version"),
    _text("data"),
    Index("notification_parked_relationship", "tenant", "relationship_id"),
)

# The in-app inbox: one row per (event, recipient), its id derived from both, so the
# idempotency key is stored with the effect.
notifications = Table(
    "notifications",
    metadata,
    _key("notification_id"),
    _text("tenant"),
    _text("recipient_id"),
    _text("kind"),
    _text("event_id"),
    _text("subject_id"),
    _text("facts", default="{}"),
    _text("created_at"),
    _text("read_at", nullable=True),
    UniqueConstraint("tenant", "event_id", "recipient_id", name="notifications_once"),
    Index("notifications_inbox", "tenant", "recipient_id", "created_at"),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    _key("tenant"),
    _key("person_id"),
    _text("channels"),
    Column("unsubscribed", Boolean, nullable=False, server_default=false()),
    _text("quiet_start", nullable=True),
    _text("quiet_end", nullable=True),
    Column("daily_digest", Boolean, nullable=False, server_default=false()),
    _text("locale", default="en"),
    _text("email", nullable=True),
    _text("updated_at"),
    _text("slack_webhook", nullable=True),
    _text("teams_webhook", nullable=True),
)

# The delivery outbox: one row per (notification, channel), written in the
# transaction that keeps the notification, so nothing told is lost; the dispatcher
# sends what is due and retries with backoff (domain/delivery.py).
deliveries = Table(
    "deliveries",
    metadata,
    _key("delivery_id"),
    _text("tenant"),
    _text("notification_id"),
    _text("recipient_id"),
    _text("channel"),
    _text("status", default="pending"),
    Column("digest", Boolean, nullable=False, server_default=false()),
    _number("attempts", default=0),
    _text("next_attempt_at"),
    _text("last_error", nullable=True),
    _text("created_at"),
    _text("sent_at", nullable=True),
    Index("deliveries_due", "status", "next_attempt_at"),
    Index("deliveries_notification", "tenant", "notification_id"),
    Index("deliveries_recipient", "tenant", "recipient_id"),
)

# A tenant's own wording of a kind of message, per channel and locale (Jinja2,
# rendered sandboxed); the built-in wording stands where there is none.
notification_templates = Table(
    "notification_templates",
    metadata,
    _key("tenant"),
    _key("kind"),
    _key("channel"),
    _key("locale"),
    _text("subject"),
    _text("body"),
    _text("updated_at"),
)

# -- outbound webhooks (Standard Webhooks) ----------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _key("endpoint_id"),
    _text("tenant"),
    _text("url"),
    _text("event_types", default="[]"),
    _text("description", default=""),
    Column("enabled", Boolean, nullable=False),
    _text("disabled_reason", nullable=True),
    _text("failing_since", nullable=True),
    _text("created_at"),
    Index("webhook_endpoints_tenant", "tenant"),
)

# Signing secrets; a rotated-out one keeps signing until ``expires_at``.
webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    _key("endpoint_id"),
    _key("secret_id"),
    _text("secret"),
    _text("created_at"),
    _text("expires_at", nullable=True),
)

# One message per (endpoint, event): its id is the ``webhook-id`` of every attempt.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _key("delivery_id"),
    _text("tenant"),
    _text("endpoint_id"),
    _text("event_id"),
    _text("event_type"),
    _text("body"),
    _text("people", default=""),
    _text("status", default="pending"),
    _number("attempts", default=0),
    _text("next_attempt_at"),
    _text("last_error", nullable=True),
    _text("created_at"),
    _text("sent_at", nullable=True),
    UniqueConstraint("endpoint_id", "event_id", name="webhook_deliveries_once"),
    Index("webhook_deliveries_due", "status", "next_attempt_at"),
    Index("webhook_deliveries_endpoint", "tenant", "endpoint_id", "created_at"),
)

# The delivery log: every attempt and what the receiver answered.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _key("attempt_id"),
    _text("tenant"),
    _text("delivery_id"),
    _text("at"),
    _number("status_code", nullable=True),
    _text("error", nullable=True),
    _number("duration_ms"),
    Index("webhook_attempts_delivery", "delivery_id", "at"),
)

# -- the time-based rules (domain/rules.py) and what the sweep needs --------------------

# A tenant's rules, as a coordinator set them (JSON of ``Rules``; none: the defaults).
notification_rules = Table(
    "notification_rules",
    metadata,
    _key("tenant"),
    _text("rules"),
    _text("updated_at"),
)

# Per relationship (its pair is in ``notification_relationships``): the latest sign of
# life (start, session held at its effective time, an answer to a warning), the agreed
# cadence, and the inactivity warning in force. Any of its events may come first.
notification_schedule = Table(
    "notification_schedule",
    metadata,
    _key("tenant"),
    _key("relationship_id"),
    _text("started_at", nullable=True),
    _text("last_held_at", nullable=True),
    _text("answered_at", nullable=True),
    _number("cadence_days", nullable=True),
    _text("state", default="active"),
    _text("warned_at", nullable=True),
    _text("warned_for", nullable=True),
    _text("closed_at", nullable=True),
    Index("notification_schedule_state", "state"),
)

# Sessions still to come (a reminder the day before), by their current start.
notification_upcoming = Table(
    "notification_upcoming",
    metadata,
    _key("tenant"),
    _key("session_id"),
    _text("relationship_id"),
    _text("starts_at"),
    Index("notification_upcoming_start", "starts_at"),
)

# Open milestones (a reminder to the mentee before they are due).
notification_milestones = Table(
    "notification_milestones",
    metadata,
    _key("tenant"),
    _key("milestone_id"),
    _text("relationship_id"),
    _text("due_on"),
)

# Early warnings still raised (insights has not seen the relationship recover).
notification_warnings = Table(
    "notification_warnings",
    metadata,
    _key("tenant"),
    _key("relationship_id"),
    _text("raised_at"),
)

# The programme's coordinators (profiles' roles): who hears of a persisting warning.
notification_coordinators = Table(
    "notification_coordinators",
    metadata,
    _key("tenant"),
    _key("person_id"),
)

# -- signed action links ---------------------------------------------------------------

# The nonce of every action link used: a second use is refused (single use).
action_links_used = Table(
    "action_links_used",
    metadata,
    _key("nonce"),
    _text("tenant"),
    _text("action"),
    _text("used_at"),
)
