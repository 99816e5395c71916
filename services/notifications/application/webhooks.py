"""Outbound webhooks for integrators: endpoints, signed at-least-once delivery, the
delivery log, replay, and disabling an endpoint that keeps failing.

Messages are written in the consumer's transaction that applies the inbound event
(one per endpoint whose filter takes it, keyed by endpoint and event), so nothing is
lost and a redelivered event adds nothing. The dispatcher claims due messages of
enabled endpoints, posts each concurrently under its own timeout, logs every attempt,
and retries with exponential backoff; a message that fails every attempt is dead
(replayable by hand). An endpoint failing without a single success for
``disable_after_s`` is disabled once one of its messages dies, with the reason kept
for its admins; enabling it again resumes delivery.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.db import is_sqlite
from chassis.errors import FieldError, NotFound, ValidationFailed
from chassis.events import utcnow
from contracts.api.notifications import (
    EndpointCreated,
    EndpointView,
    WebhookAttemptView,
    WebhookDeliveryView,
    WebhookLog,
)
from services.notifications.domain import webhooks as w
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.projections.inbox import stamp

MANAGERS = (Role.ADMIN, Role.INTEGRATION)
IDS = uuid.UUID("5a4e2f1c-9d3b-4b7a-8e61-c2f0d9a71b35")


class EndpointNotFound(NotFound):
    code = "WebhookEndpointNotFound"
    title = "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    code = "WebhookDeliveryNotFound"
    title = "No such webhook delivery"


def _private_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in ("localhost",) or host.endswith(".localhost")
    return not address.is_global


# Told when an endpoint is disabled: (conn, tenant, endpoint id, url, failing since).
Disabled = Callable[[AsyncConnection, str, str, str, str], Awaitable[None]]


class Webhooks:
    """Endpoints per tenant and the signed delivery of webhook events to them."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        allow_http: bool = False,
        disable_after_s: float = 5 * 24 * 3600,
        batch: int = 100,
        timeout_s: float = 15.0,
        on_disabled: Disabled | None = None,
    ) -> None:
        self.engine = engine
        self.on_disabled = on_disabled
        self.client = client
        self.policy = policy
        self.allow_http = allow_http
        self.disable_after_s = disable_after_s
        self.batch = batch
        self.timeout_s = timeout_s
        self.random = random.Random()

    # -- endpoints ---------------------------------------------------------------------

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        bad = parts.scheme != "https" or _private_host(parts.hostname or "")
        if parts.username or not parts.hostname or (bad and not self.allow_http):
            raise ValidationFailed(
                [
                    FieldError(
                        "url", "an https URL of a public host, without credentials"
                    )
                ]
            )
        return url

    async def register(
        self,
        me: Principal,
        url: str,
        event_types: Sequence[str],
        description: str,
    ) -> EndpointCreated:
        """A new endpoint and its first secret (shown this once)."""
        me.require(*MANAGERS)
        unknown = sorted(set(event_types) - set(w.WEBHOOK_TYPES))
        if unknown:
            raise ValidationFailed(
                [FieldError("event_types", f"unknown types: {', '.join(unknown)}")]
            )
        endpoint_id = f"ep_{uuid.uuid4().hex}"
        secret = w.new_secret()
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO webhook_endpoints (endpoint_id, tenant, url, "
                    "event_types, description, enabled, created_at) "
                    "VALUES (:e, :t, :u, :f, :d, :on, :at)"
                ),
                {
                    "e": endpoint_id,
                    "t": me.tenant,
                    "u": self._check_url(url),
                    "f": json.dumps(sorted(set(event_types))),
                    "d": description,
                    "on": True,
                    "at": stamp(now),
                },
            )
            await self._add_secret(conn, endpoint_id, secret, now)
            view = await self._view(conn, me.tenant, endpoint_id)
        return EndpointCreated(endpoint=view, secret=secret)

    async def _add_secret(
        self, conn: AsyncConnection, endpoint_id: str, secret: str, now: datetime
    ) -> None:
        await conn.execute(
            text(
                "INSERT INTO webhook_secrets (endpoint_id, secret_id, secret, "
                "created_at) VALUES (:e, :s, :x, :at)"
            ),
            {"e": endpoint_id, "s": uuid.uuid4().hex, "x": secret, "at": stamp(now)},
        )

    async def _view(
        self, conn: AsyncConnection, tenant: str, endpoint_id: str
    ) -> EndpointView:
        r = (
            await conn.execute(
                text(
                    "SELECT endpoint_id, url, event_types, description, enabled, "
                    "disabled_reason, failing_since, created_at FROM webhook_endpoints "
                    "WHERE tenant = :t AND endpoint_id = :e"
                ),
                {"t": tenant, "e": endpoint_id},
            )
        ).first()
        if r is None:
            raise EndpointNotFound(f"no endpoint {endpoint_id}")
        return EndpointView(
            endpoint_id=r.endpoint_id,
            url=r.url,
            event_types=json.loads(r.event_types),
            description=r.description,
            enabled=bool(r.enabled),
            disabled_reason=r.disabled_reason,
            failing_since=r.failing_since,
            created_at=r.created_at,
        )

    async def endpoints(self, me: Principal) -> list[EndpointView]:
        me.require(*MANAGERS)
        async with self.engine.connect() as conn:
            ids = (
                await conn.execute(
                    text(
                        "SELECT endpoint_id FROM webhook_endpoints WHERE tenant = :t "
                        "ORDER BY created_at, endpoint_id"
                    ),
                    {"t": me.tenant},
                )
            ).scalars()
            return [await self._view(conn, me.tenant, i) for i in list(ids)]

    async def endpoint(self, me: Principal, endpoint_id: str) -> EndpointView:
        me.require(*MANAGERS)
        async with self.engine.connect() as conn:
            return await self._view(conn, me.tenant, endpoint_id)

    async def rotate(
        self, me: Principal, endpoint_id: str, overlap_s: int
    ) -> EndpointCreated:
        """A new secret; the current ones keep signing for ``overlap_s`` more."""
        me.require(*MANAGERS)
        now = utcnow()
        secret = w.new_secret()
        async with self.engine.begin() as conn:
            await self._view(conn, me.tenant, endpoint_id)  # 404 for another tenant
            await conn.execute(
                text(
                    "UPDATE webhook_secrets SET expires_at = :x WHERE endpoint_id = :e "
                    "AND (expires_at IS NULL OR expires_at > :x)"
                ),
                {"e": endpoint_id, "x": stamp(now + timedelta(seconds=overlap_s))},
            )
            await self._add_secret(conn, endpoint_id, secret, now)
            view = await self._view(conn, me.tenant, endpoint_id)
        return EndpointCreated(endpoint=view, secret=secret)

    async def enable(self, me: Principal, endpoint_id: str) -> EndpointView:
        me.require(*MANAGERS)
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE webhook_endpoints SET enabled = :on, disabled_reason = NULL, "
                    "failing_since = NULL WHERE tenant = :t AND endpoint_id = :e"
                ),
                {"t": me.tenant, "e": endpoint_id, "on": True},
            )
            return await self._view(conn, me.tenant, endpoint_id)

    async def log(self, me: Principal, endpoint_id: str, limit: int = 50) -> WebhookLog:
        """The endpoint's latest messages, each with its attempts."""
        me.require(*MANAGERS)
        async with self.engine.connect() as conn:
            await self._view(conn, me.tenant, endpoint_id)
            rows = (
                await conn.execute(
                    text(
                        "SELECT delivery_id, event_type, status, attempts, last_error, "
                        "created_at, sent_at, next_attempt_at FROM webhook_deliveries "
                        "WHERE tenant = :t AND endpoint_id = :e "
                        "ORDER BY created_at DESC, delivery_id LIMIT :n"
                    ),
                    {"t": me.tenant, "e": endpoint_id, "n": limit},
                )
            ).all()
            ids = {f"d{n}": r.delivery_id for n, r in enumerate(rows)}
            attempts: dict[str, list[WebhookAttemptView]] = {}
            if ids:
                found = await conn.execute(
                    text(
                        "SELECT delivery_id, at, status_code, error, duration_ms "
                        "FROM webhook_attempts WHERE delivery_id IN "
                        f"({', '.join(':' + k for k in ids)}) ORDER BY at"
                    ),
                    ids,
                )
                for a in found:
                    attempts.setdefault(a.delivery_id, []).append(
                        WebhookAttemptView(
                            at=a.at,
                            status_code=a.status_code,
                            error=a.error,
                            duration_ms=a.duration_ms,
                        )
                    )
        return WebhookLog(
            items=[
                WebhookDeliveryView(
                    delivery_id=r.delivery_id,
                    event_type=r.event_type,
                    status=r.status,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    created_at=r.created_at,
                    sent_at=r.sent_at,
                    next_attempt_at=r.next_attempt_at
                    if r.status == "pending"
                    else None,
                    log=attempts.get(r.delivery_id, []),
                )
                for r in rows
            ]
        )

    async def replay(self, me: Principal, delivery_id: str) -> WebhookDeliveryView:
        """Send a message again (dead or sent alike), from its first attempt."""
        me.require(*MANAGERS)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                text(
                    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                    "next_attempt_at = :now WHERE tenant = :t AND delivery_id = :d "
                    "RETURNING endpoint_id"
                ),
                {"t": me.tenant, "d": delivery_id, "now": stamp(utcnow())},
            )
            endpoint = result.scalar()
        if endpoint is None:
            raise WebhookDeliveryNotFound(f"no delivery {delivery_id}")
        log = await self.log(me, endpoint, limit=1000)
        return next(i for i in log.items if i.delivery_id == delivery_id)

    # -- enqueue and dispatch ------------------------------------------------------------

    async def enqueue(
        self, conn: AsyncConnection, tenant: str, event_id: str, event: w.WebhookEvent
    ) -> int:
        """A message per endpoint of ``tenant`` whose filter takes ``event``; a
        disabled endpoint's wait for it to be enabled again (nothing is lost)."""
        endpoints = await conn.execute(
            text(
                "SELECT endpoint_id, event_types FROM webhook_endpoints "
                "WHERE tenant = :t"
            ),
            {"t": tenant},
        )
        now = utcnow()
        count = 0
        for endpoint in endpoints.all():
            if not w.matches(json.loads(endpoint.event_types), event.type):
                continue
            msg_id = (
                "msg_" + uuid.uuid5(IDS, f"{endpoint.endpoint_id}\x00{event_id}").hex
            )
            body = json.dumps(
                {"type": event.type, "timestamp": now.isoformat(), "data": event.data},
                separators=(",", ":"),
            )
            await conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (delivery_id, tenant, endpoint_id, "
                    "event_id, event_type, body, people, status, attempts, "
                    "next_attempt_at, created_at) VALUES (:d, :t, :e, :ev, :y, :b, :p, "
                    "'pending', 0, :at, :at) ON CONFLICT DO NOTHING"
                ),
                {
                    "d": msg_id,
                    "t": tenant,
                    "e": endpoint.endpoint_id,
                    "ev": event_id,
                    "y": event.type,
                    "b": body,
                    "p": "".join(f"|{p}|" for p in event.people),
                    "at": stamp(now),
                },
            )
            count += 1
        return count

    async def dispatch(self) -> int:
        """Post what is due (one claimed batch); how many were delivered."""
        now = utcnow()
        lease = now + timedelta(seconds=self.timeout_s + 30)
        lock = "" if is_sqlite(self.engine) else " FOR UPDATE OF d SKIP LOCKED"
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "UPDATE webhook_deliveries SET next_attempt_at = :lease "
                        "WHERE delivery_id IN (SELECT d.delivery_id FROM "
                        "webhook_deliveries d JOIN webhook_endpoints e "
                        "ON e.endpoint_id = d.endpoint_id WHERE d.status = 'pending' "
                        "AND e.enabled = :on AND d.next_attempt_at <= :now "
                        f"ORDER BY d.next_attempt_at LIMIT :n{lock}) RETURNING "
                        "delivery_id, tenant, endpoint_id, body, attempts"
                    ),
                    {
                        "now": stamp(now),
                        "lease": stamp(lease),
                        "n": self.batch,
                        "on": True,
                    },
                )
            ).all()
            if not rows:
                return 0
            ends = {f"e{n}": e for n, e in enumerate({r.endpoint_id for r in rows})}
            found = await conn.execute(
                text(
                    "SELECT e.endpoint_id, e.url, s.secret FROM webhook_endpoints e "
                    "JOIN webhook_secrets s ON s.endpoint_id = e.endpoint_id "
                    f"WHERE e.endpoint_id IN ({', '.join(':' + k for k in ends)}) "
                    "AND (s.expires_at IS NULL OR s.expires_at > :now) "
                    "ORDER BY s.created_at"
                ),
                {**ends, "now": stamp(now)},
            )
            targets: dict[str, tuple[str, list[str]]] = {}
            for t in found:
                targets.setdefault(t.endpoint_id, (t.url, []))[1].append(t.secret)
        results = await asyncio.gather(*(self._post(r, targets) for r in rows))
        return sum(results)

    async def _post(self, r: Any, targets: dict[str, tuple[str, list[str]]]) -> int:
        url, secrets_ = targets.get(r.endpoint_id, ("", []))
        stamp_s = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": r.delivery_id,
            "webhook-timestamp": str(stamp_s),
            "webhook-signature": w.sign(secrets_, r.delivery_id, stamp_s, r.body),
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            resp = await asyncio.wait_for(
                self.client.post(url, content=r.body.encode(), headers=headers),
                timeout=self.timeout_s,
            )
            code = resp.status_code
            if code // 100 != 2:
                error = f"answered {code}"
        except TimeoutError:
            error = f"timed out after {self.timeout_s:.0f}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        took = int((time.monotonic() - started) * 1000)
        await self._record(r, code, error, took)
        return 1 if error is None else 0

    async def _record(
        self, r: Any, code: int | None, error: str | None, took_ms: int
    ) -> None:
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO webhook_attempts (attempt_id, tenant, delivery_id, at, "
                    "status_code, error, duration_ms) VALUES (:a, :t, :d, :at, :c, :e, "
                    ":ms)"
                ),
                {
                    "a": uuid.uuid4().hex,
                    "t": r.tenant,
                    "d": r.delivery_id,
                    "at": stamp(now),
                    "c": code,
                    "e": error,
                    "ms": took_ms,
                },
            )
            if error is None:
                await conn.execute(
                    text(
                        "UPDATE webhook_deliveries SET status = 'sent', sent_at = :at, "
                        "attempts = attempts + 1, last_error = NULL "
                        "WHERE delivery_id = :d"
                    ),
                    {"d": r.delivery_id, "at": stamp(now)},
                )
                await conn.execute(
                    text(
                        "UPDATE webhook_endpoints SET failing_since = NULL "
                        "WHERE endpoint_id = :e"
                    ),
                    {"e": r.endpoint_id},
                )
                return
            retry = self.policy.next_attempt(now, r.attempts + 1, self.random.random())
            await conn.execute(
                text(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, "
                    "last_error = :err, status = :s, "
                    "next_attempt_at = COALESCE(:at, next_attempt_at) "
                    "WHERE delivery_id = :d"
                ),
                {
                    "d": r.delivery_id,
                    "err": error[:500],
                    "s": "pending" if retry else "dead",
                    "at": stamp(retry) if retry else None,
                },
            )
            await conn.execute(
                text(
                    "UPDATE webhook_endpoints SET failing_since = :at "
                    "WHERE endpoint_id = :e AND failing_since IS NULL"
                ),
                {"e": r.endpoint_id, "at": stamp(now)},
            )
            if retry is None:
                since = stamp(now - timedelta(seconds=self.disable_after_s))
                disabled = await conn.execute(
                    text(
                        "UPDATE webhook_endpoints SET enabled = :off, "
                        "disabled_reason = :why WHERE endpoint_id = :e "
                        "AND failing_since <= :since AND enabled = :on "
                        "RETURNING tenant, url, failing_since"
                    ),
                    {
                        "e": r.endpoint_id,
                        "off": False,
                        "on": True,
                        "since": since,
                        "why": f"failing since without a success; last: {error[:200]}",
                    },
                )
                row = disabled.first()
                if row is not None and self.on_disabled is not None:
                    # In the same transaction: told once, exactly when it happened.
                    await self.on_disabled(
                        conn, row.tenant, r.endpoint_id, row.url, row.failing_since
                    )

    async def forget(self, conn: AsyncConnection, tenant: str, person_id: str) -> None:
        """Messages naming the person, sent or not, and their attempts."""
        args = {"t": tenant, "p": "%|" + _like(person_id) + "|%"}
        where = "tenant = :t AND people LIKE :p ESCAPE '!'"
        await conn.execute(
            text(
                "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT delivery_id "
                f"FROM webhook_deliveries WHERE {where})"
            ),
            args,
        )
        await conn.execute(text(f"DELETE FROM webhook_deliveries WHERE {where}"), args)


def _like(value: str) -> str:
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
