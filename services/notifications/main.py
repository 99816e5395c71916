"""Composition root of the notifications service:
``uvicorn --factory services.notifications.main:build_app``.

The only module that wires: the inbound handlers of ``Telling`` over the consumer
(matching's pairings, sessions' relationships and sessions, insights' early warnings,
profiles' people, advisors' councils), what the scheduler keeps of them and its
sweep, the inbox, preferences, rules and Slack bot routes, the admins seen, and what
``PersonErased`` goes through. notifications publishes
``RelationshipInactivityClosed`` (contracts/notifications.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

import contracts.notifications
from chassis.auth.principal import Principal
from chassis.auth.tokens import mint_token
from chassis.envelope import Envelope
from chassis.messaging import Transport, topic_for
from chassis.publication import Publication
from chassis.runtime import ServiceRuntime
from chassis.service import Background, Erasure, ServicePart, serve
from contracts.notifications import NotificationKind
from services.notifications.api import actions as actions_api
from services.notifications.api import me, rules, slack, templates
from services.notifications.api import webhooks as webhooks_api
from services.notifications.application.actions import ActionLinks
from services.notifications.application.admins import AdminsSeen
from services.notifications.application.chat import (
    ChatSender,
    SecretBox,
    SlackBot,
    WebhookHosts,
)
from services.notifications.application.egress import public_client
from services.notifications.application.email import EmailSender, SmtpServer
from services.notifications.application.inbox import Notifications
from services.notifications.application.outbox import Outbox
from services.notifications.application.scheduler import Scheduler
from services.notifications.application.telling import Telling
from services.notifications.application.templates import Templates
from services.notifications.application.webhooks import Webhooks
from services.notifications.domain.actions import Action, ActionClaim
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.notices import Notice
from services.notifications.projections import schedule
from services.notifications.projections.tables import metadata
from services.notifications.settings import Settings

__all__ = ["ERASED_FROM", "NOTHING_PERSONAL", "Settings", "build_app", "build_part"]
VERSION = "0.1.0"
TOPICS = [
    topic_for(s) for s in ("profiles", "matching", "sessions", "insights", "advisors")
]
# What ``PersonErased`` goes through, as its receipt names them.
ERASED_FROM = [
    "notifications",
    "notification_preferences",
    "notification_people",
    "notification_relationships",
    "notification_parked",
    "deliveries",
    "webhook_deliveries",
    "webhook_attempts",
    "revoked_subjects",
    "notification_coordinators",
    "notification_council_sponsors",
    "notification_admins",
]
# Every other table, and why it holds nothing about a person.
NOTHING_PERSONAL = {
    "events": "RelationshipInactivityClosed: relationship ids and moments",
    "log_checkpoints": "how far the relay published, positions only",
    "processed_events": "event ids the consumer applied",
    "dead_letters": "events that failed, kept for operators; erased in the producer",
    "erasure_receipts": "which stores forgot whom: the receipt itself",
    "notification_templates": "a tenant's wording: placeholders, no person",
    "webhook_endpoints": "an integrator's URL and filters, no person",
    "webhook_secrets": "signing secrets of the endpoints",
    "alembic_version_notifications": "the schema's revision",
    "notification_rules": "a tenant's time-based rules: numbers of days",
    "notification_schedule": "per relationship: moments, a cadence, a state",
    "notification_upcoming": "sessions to come: ids and start times",
    "notification_milestones": "open milestones: ids and due days",
    "notification_warnings": "early warnings still raised: ids and moments",
    "action_links_used": "spent link nonces with tenant and action, no person",
    "notification_recommendations": "undecided council recommendations: ids, moments",
    "notification_slack_bots": "a tenant's Slack bot token, sealed",
    "notification_history_pairings": "pairings of a programme's history: ids, a moment",
}


def build_app(
    settings: Settings | None = None, *, transport: Transport | None = None
) -> FastAPI:
    return serve(settings or Settings(), build_part, transport=transport)


def build_part(runtime: ServiceRuntime) -> ServicePart:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    email = None
    if settings.smtp_host:
        password = settings.smtp_password
        email = EmailSender(
            SmtpServer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=password.get_secret_value() if password else None,
                sender=settings.smtp_from,
                ca_file=settings.smtp_ca_file,
                timeout_s=settings.smtp_timeout_s,
            )
        )
    wording = Templates(runtime.engine, link=settings.portal_url)
    hooks = WebhookHosts(settings.webhook_hosts, allow_http=settings.webhook_allow_http)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)
    box = SecretBox(_secrets_key(settings))
    chat = ChatSender(http)
    chat.bot = SlackBot(
        runtime.engine,
        http,
        box,
        api_url=settings.slack_api_url,
    )
    admins_seen = AdminsSeen(runtime.engine)
    outbox = Outbox(
        runtime.engine,
        wording,
        email=email,
        chat=chat,
        policy=RetryPolicy(
            base_s=settings.retry_base_s,
            cap_s=settings.retry_cap_s,
            max_attempts=settings.retry_max_attempts,
        ),
        batch=settings.delivery_batch,
        send_timeout_s=settings.delivery_timeout_s,
    )
    # Integrators' endpoints get a client that connects to public addresses only
    # (``egress``); plain HTTP to loopback receivers stays a test setting.
    egress = (
        http
        if settings.webhook_allow_http
        else public_client(settings.webhook_timeout_s)
    )
    webhooks = Webhooks(
        runtime.engine,
        egress,
        policy=RetryPolicy(
            base_s=settings.webhook_retry_base_s,
            cap_s=settings.webhook_retry_cap_s,
            max_attempts=settings.webhook_max_attempts,
        ),
        allow_http=settings.webhook_allow_http,
        disable_after_s=settings.webhook_disable_after_s,
        batch=settings.delivery_batch,
        timeout_s=settings.webhook_timeout_s,
        box=box,
    )
    telling = Telling(outbox=outbox, webhooks=webhooks)

    async def prune_webhook_log() -> None:
        await webhooks.prune_log(settings.webhook_log_retention_days)

    scheduler = Scheduler(runtime.engine, runtime.store, telling)

    async def endpoint_disabled(
        conn: AsyncConnection, tenant: str, endpoint: str, url: str, since: str
    ) -> None:
        """The programme's coordinators and the tenant's admins (those the service
        has seen: ``application/admins.py``) are told, once per disabling."""
        people = await schedule.coordinators(conn, tenant)
        people += await schedule.admins(conn, tenant)
        told = [
            Notice(
                kind=NotificationKind.WEBHOOK_DISABLED,
                recipient_id=person,
                subject_id=endpoint,
                facts={"url": url, "failing_since": since},
            )
            for person in dict.fromkeys(people)
        ]
        await telling.tell(conn, tenant, f"webhook_disabled:{endpoint}:{since}", told)

    webhooks.on_disabled = endpoint_disabled

    async def forget(env: Envelope, conn: AsyncConnection) -> None:
        await telling.forget(env, conn)
        await schedule.forget_person(conn, env.tenant, str(env.data["person_id"]))
        admins_seen.forget(env.tenant, str(env.data["person_id"]))

    async def sweep() -> None:
        await scheduler.sweep()

    links = _action_links(settings, runtime, http)
    outbox.action_buttons = links.buttons_for

    async def keep_open(claim: ActionClaim) -> None:
        me = Principal(subject=claim.person_id, tenant=claim.tenant)
        await scheduler.keep_open(me, claim.subject_id)

    links.local[Action.KEEP_OPEN] = keep_open

    async def deliver() -> None:
        # Sends what is due, woken at once by new deliveries (as the webhooks).
        await outbox.pump(settings.delivery_fallback_s)

    async def post_webhooks() -> None:
        # Posts while anything is due, woken at once by new messages.
        await webhooks.pump(settings.delivery_poll_s)

    async def apply_many(envs: Sequence[Envelope], conn: AsyncConnection) -> None:
        # A polled batch in one transaction (the consumer's handlers, as wrapped).
        assert runtime.consumer is not None
        await telling.apply_many(envs, conn, runtime.consumer.handlers)

    return ServicePart(
        title="Tandem notifications",
        version=VERSION,
        description="Who is told what: a person's in-app notifications and their "
        "preferences, from the pairing, session and early-warning events.",
        routers=[
            me.router,
            templates.router,
            webhooks_api.router,
            rules.router,
            actions_api.router,
            slack.router,
        ],
        tables=metadata,
        consumes=TOPICS,
        handlers=schedule.chained(telling.handlers()),
        translate=Publication(
            contracts.notifications.registry, f"tandem/{runtime.name}"
        ),
        erasure=Erasure(stores=ERASED_FROM, forget=forget),
        setup=[webhooks.seal_stored],  # secrets kept in the clear before sealing
        # Every handler writes through the consumer's connection only.
        batch_transactions=True,
        batch_handler=apply_many,
        # Two loops: a hanging SMTP server never delays the integrators' webhooks.
        background=[
            Background("deliveries", deliver, 0.0),  # it waits by itself
            Background("webhooks", post_webhooks, 0.0),  # it waits by itself
            Background("rules-sweep", sweep, settings.sweep_s),
            Background("webhook-log-retention", prune_webhook_log, 3600.0),
        ],
        on_stop=[outbox.close, webhooks.close, http.aclose, egress.aclose],
        middleware=[admins_seen.middleware()],
        provides=[
            Notifications(runtime, hooks),
            telling,
            outbox,
            wording,
            webhooks,
            scheduler,
            links,
            chat.bot,
        ],
    )


def _secrets_key(settings: Settings) -> bytes:
    """The key sealing secrets at rest: the one set, else derived from the JWT
    secret (as the action links' key is)."""
    chosen = settings.secrets_key
    if chosen:
        return base64.b64decode(chosen.get_secret_value())
    jwt = settings.jwt_secret.get_secret_value()
    return hashlib.sha256(b"tandem-notifications-secrets:" + jwt.encode()).digest()


def _action_links(
    settings: Settings, runtime: ServiceRuntime, http: httpx.AsyncClient
) -> ActionLinks:
    """Signed action links, carried out by the owning service (matching, sessions)
    over HTTP with a one-minute token for the person the link was made for."""
    jwt = settings.jwt_secret.get_secret_value()
    chosen = settings.action_secret
    secret = (
        chosen.get_secret_value().encode()
        if chosen
        else hashlib.sha256(b"tandem-action-links:" + jwt.encode()).digest()
    )
    owners = {"matching": settings.matching_url, "sessions": settings.sessions_url}

    async def post(
        service: str, path: str, body: dict[str, Any], bearer: str
    ) -> httpx.Response:
        return await http.post(
            owners[service].rstrip("/") + path,
            json=body,
            headers={"authorization": f"Bearer {bearer}"},
        )

    def mint_for(tenant: str, person: str, role: str) -> str:
        return mint_token(
            jwt, person, tenant, [role], settings.jwt_issuer, settings.jwt_audience, 60
        )

    return ActionLinks(
        runtime.engine,
        secret,
        base_url=settings.action_base_url,
        post=post,
        mint_for=mint_for,
        ttl_s=settings.action_ttl_s,
    )
