"""Mutations of the notifications part: read marks and preferences for the caller;
webhook endpoints for admins and integration clients. Each answers its success
payload or a typed error."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from contracts.api import notifications as api
from gateway.answers import read
from gateway.context import ctx
from gateway.errors import (
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationError,
)
from gateway.ids import local_id
from gateway.mutations import run
from gateway.notifications.types import (
    NotificationChannel,
    NotificationLocale,
    NotificationPreferences,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from gateway.upstream import upstream_path

SERVICE = "notifications"

# -- inputs ------------------------------------------------------------------------


@strawberry.input(description="Which of your notifications to mark read.")
class MarkNotificationsReadInput:
    notification_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="These notifications (at most 100); omitted: every one of yours.",
    )


@strawberry.input(description="Local hours in which only what is required is sent.")
class QuietHoursInput:
    start: time = strawberry.field(description="Local time they begin (HH:MM).")
    end: time = strawberry.field(description="Local time they end (may be next day).")


@strawberry.input(
    description="How you want to be told: each field given changes (null clears "
    "an address or the quiet hours); each one omitted keeps what you chose before."
)
class SetNotificationPreferencesInput:
    channels: list[NotificationChannel] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The channels (in-app is always on); omitted: unchanged.",
    )
    unsubscribed: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Silence all but what the programme requires; omitted: unchanged.",
    )
    quiet_hours: QuietHoursInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Quiet hours in your time zone; null: none; omitted: unchanged.",
    )
    daily_digest: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Gather what is not required into a daily message; omitted: "
        "unchanged.",
    )
    locale: NotificationLocale | None = strawberry.field(
        default=strawberry.UNSET,
        description="The language of your messages; omitted: unchanged.",
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Where email is written; null: none; omitted: unchanged.",
    )
    slack_webhook: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A Slack incoming-webhook URL; null: disconnect; omitted: "
        "unchanged (it is never shown back, so it need not be sent again).",
    )
    teams_webhook: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A Teams incoming-webhook URL; null: disconnect; omitted: "
        "unchanged.",
    )


def _preferences_body(input: SetNotificationPreferencesInput) -> dict[str, Any]:
    """The fields the input gives, as the service takes them (an omitted field is
    not sent, so the service keeps it; a null one is sent as null)."""
    given = {
        name: value
        for name, value in vars(input).items()
        if value is not strawberry.UNSET
    }
    body: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            body[name] = None
        elif name == "channels":
            body[name] = [ch.value for ch in value]
        elif name == "quiet_hours":
            body[name] = {
                "start": value.start.strftime("%H:%M"),
                "end": value.end.strftime("%H:%M"),
            }
        elif name == "locale":
            body[name] = value.value
        else:
            body[name] = value
    return body


@strawberry.input(description="A new endpoint for signed webhook events.")
class RegisterWebhookEndpointInput:
    url: str = strawberry.field(description="An https URL of a public host.")
    event_types: list[WebhookEventType] = strawberry.field(
        default_factory=list, description="The types it takes (empty: all)."
    )
    description: str = strawberry.field(default="", description="A label.")


@strawberry.input(description="A new signing secret for an endpoint.")
class RotateWebhookSecretInput:
    endpoint_id: strawberry.ID = strawberry.field(
        description="The endpoint (a WebhookEndpoint)."
    )
    overlap_seconds: int = strawberry.field(
        default=24 * 3600,
        description="How long the old secret keeps signing too (0 to 30 days).",
    )


@strawberry.input(description="An endpoint to act on.")
class WebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(
        description="The endpoint (a WebhookEndpoint)."
    )


@strawberry.input(description="A webhook message to deliver again.")
class ReplayWebhookDeliveryInput:
    delivery_id: strawberry.ID = strawberry.field(
        description="The delivery (a WebhookDelivery)."
    )


# -- payloads ----------------------------------------------------------------------


@strawberry.type(description="Notifications were marked read.")
class MarkNotificationsReadSuccess:
    marked: int = strawberry.field(
        description="How many are now read (all: those that were unread)."
    )


@strawberry.type(description="Your preferences, as now.")
class NotificationPreferencesSuccess:
    preferences: NotificationPreferences = strawberry.field(
        description="Your preferences."
    )


@strawberry.type(description="An endpoint and its signing secret, shown this once.")
class WebhookSecretSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(description="The signing secret (whsec_...).")


@strawberry.type(description="The endpoint, as now.")
class WebhookEndpointSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")


@strawberry.type(description="The delivery was queued again (same webhook-id).")
class ReplayWebhookDeliverySuccess:
    delivery: WebhookDelivery = strawberry.field(description="The delivery.")


_ERRORS = (
    ValidationError
    | NotFound
    | Forbidden
    | ConcurrencyConflict
    | Conflict
    | RuleViolation
    | ServiceUnavailable
)
MarkNotificationsReadResult = Annotated[
    MarkNotificationsReadSuccess | _ERRORS,
    strawberry.union("MarkNotificationsReadResult"),
]
NotificationPreferencesResult = Annotated[
    NotificationPreferencesSuccess | _ERRORS,
    strawberry.union("NotificationPreferencesResult"),
]
WebhookSecretResult = Annotated[
    WebhookSecretSuccess | _ERRORS, strawberry.union("WebhookSecretResult")
]
WebhookEndpointResult = Annotated[
    WebhookEndpointSuccess | _ERRORS, strawberry.union("WebhookEndpointResult")
]
ReplayWebhookDeliveryResult = Annotated[
    ReplayWebhookDeliverySuccess | _ERRORS,
    strawberry.union("ReplayWebhookDeliveryResult"),
]


def _secret(answer: api.EndpointCreated) -> WebhookSecretSuccess:
    return WebhookSecretSuccess(
        endpoint=WebhookEndpoint.from_model(answer.endpoint), secret=answer.secret
    )


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description="Mark some of your notifications read, or all of them."
    )
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadResult:
        c = ctx(info)

        async def call() -> int:
            if input.notification_ids is None:
                done = read(
                    api.MarkedRead,
                    await c.caller.post(SERVICE, "/notifications/me/read"),
                    SERVICE,
                )
                return done.marked
            ids = [
                local_id(n, "Notification", f"input.notificationIds.{i}")
                for i, n in enumerate(input.notification_ids[:100])
            ]
            for nid in ids:
                read(
                    api.NotificationView,
                    await c.caller.post(
                        SERVICE,
                        upstream_path("/notifications/me/{nid}/read", nid=nid),
                    ),
                    SERVICE,
                )
            return len(ids)

        return await run(call, lambda n: MarkNotificationsReadSuccess(marked=n))

    @strawberry.mutation(
        description="Choose how you are told (the fields given; the others are kept)."
    )
    async def set_notification_preferences(
        self, info: Info, input: SetNotificationPreferencesInput
    ) -> NotificationPreferencesResult:
        c = ctx(info)
        body = _preferences_body(input)

        async def call() -> api.PreferencesView:
            return read(
                api.PreferencesView,
                await c.caller.put(SERVICE, "/notifications/me/preferences", body),
                SERVICE,
            )

        return await run(
            call,
            lambda p: NotificationPreferencesSuccess(
                preferences=NotificationPreferences.from_model(p)
            ),
        )

    @strawberry.mutation(
        description="Register a webhook endpoint (admins and integrations); its "
        "signing secret is in this answer only."
    )
    async def register_webhook_endpoint(
        self, info: Info, input: RegisterWebhookEndpointInput
    ) -> WebhookSecretResult:
        c = ctx(info)
        body = {
            "url": input.url,
            "event_types": [t.value for t in input.event_types],
            "description": input.description,
        }

        async def call() -> api.EndpointCreated:
            return read(
                api.EndpointCreated,
                await c.caller.post(SERVICE, "/webhooks/endpoints", body),
                SERVICE,
            )

        return await run(call, _secret)

    @strawberry.mutation(
        description="A new signing secret for an endpoint; the current one keeps "
        "signing for the overlap. The secret is in this answer only."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: RotateWebhookSecretInput
    ) -> WebhookSecretResult:
        c = ctx(info)

        async def call() -> api.EndpointCreated:
            eid = local_id(input.endpoint_id, "WebhookEndpoint", "input.endpointId")
            return read(
                api.EndpointCreated,
                await c.caller.post(
                    SERVICE,
                    upstream_path("/webhooks/endpoints/{eid}/rotate", eid=eid),
                    {"overlap_s": input.overlap_seconds},
                ),
                SERVICE,
            )

        return await run(call, _secret)

    @strawberry.mutation(
        description="Resume delivery to an endpoint disabled after sustained failure."
    )
    async def enable_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointResult:
        c = ctx(info)

        async def call() -> api.EndpointView:
            eid = local_id(input.endpoint_id, "WebhookEndpoint", "input.endpointId")
            return read(
                api.EndpointView,
                await c.caller.post(
                    SERVICE, upstream_path("/webhooks/endpoints/{eid}/enable", eid=eid)
                ),
                SERVICE,
            )

        return await run(
            call,
            lambda e: WebhookEndpointSuccess(endpoint=WebhookEndpoint.from_model(e)),
        )

    @strawberry.mutation(
        description="Deliver a webhook message again, with the same webhook-id."
    )
    async def replay_webhook_delivery(
        self, info: Info, input: ReplayWebhookDeliveryInput
    ) -> ReplayWebhookDeliveryResult:
        c = ctx(info)

        async def call() -> api.WebhookDeliveryView:
            did = local_id(input.delivery_id, "WebhookDelivery", "input.deliveryId")
            return read(
                api.WebhookDeliveryView,
                await c.caller.post(
                    SERVICE,
                    upstream_path("/webhooks/deliveries/{did}/replay", did=did),
                ),
                SERVICE,
            )

        return await run(
            call,
            lambda d: ReplayWebhookDeliverySuccess(
                delivery=WebhookDelivery.from_model(d)
            ),
        )
