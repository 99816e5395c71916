"""Outbound webhooks for integrators: endpoints, signed at-least-once delivery, the
delivery log, replay, and disabling an endpoint that keeps failing.

Messages are written in the consumer's transaction that applies the inbound event
(one per endpoint whose filter takes it, keyed by endpoint and event), so nothing is
lost and a redelivered event adds nothing; the transaction also notifies
(``NOTIFY``), which wakes every dispatcher at its commit. The dispatcher (``pump``)
claims due messages of enabled endpoints in one statement (``FOR UPDATE SKIP
LOCKED``), posts them continuously, in claim order, a few at once per endpoint (an
endpoint with many claimed messages gets no more until some finish: a slow one never
holds the others'), each under its own timeout; it logs every attempt (the delivered
ones together), and retries with exponential backoff; a message that fails every attempt is dead
(replayable by hand). An endpoint failing without a single success for
``disable_after_s`` is disabled once one of its messages dies, with the reason kept
for its admins; enabling it again resumes delivery.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
from services.notifications.application.chat import SEALED, SecretBox
from services.notifications.application.egress import public_host
from services.notifications.application.waking import Waker
from services.notifications.domain import webhooks as w
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.projections.inbox import stamp

log = logging.getLogger(__name__)
MANAGERS = (Role.ADMIN, Role.INTEGRATION)
# Posts at once to one endpoint; an endpoint holds at most this many times as many
# claimed messages (the others' are claimed past it), and at most this many batches
# are in flight in all.
PER_ENDPOINT = 8
QUEUED_ROUNDS = 8
MAX_IN_FLIGHT_BATCHES = 10
# The channel a transaction that adds due messages notifies (at its commit).
CHANNEL = "tandem_notifications_webhooks"
_ENDPOINTS_OF = text(
    "SELECT tenant, endpoint_id, event_types FROM webhook_endpoints "
    "WHERE tenant = ANY(CAST(:ts AS text[]))"
)
_ENQUEUE_MANY = text(
    "INSERT INTO webhook_deliveries (delivery_id, tenant, endpoint_id, event_id, "
    "event_type, body, people, status, attempts, next_attempt_at, created_at) "
    "SELECT d, t, e, ev, y, b, p, 'pending', 0, at, at FROM unnest("
    "CAST(:c0 AS text[]), CAST(:c1 AS text[]), CAST(:c2 AS text[]), "
    "CAST(:c3 AS text[]), CAST(:c4 AS text[]), CAST(:c5 AS text[]), "
    "CAST(:c6 AS text[]), CAST(:c7 AS text[])) AS u(d, t, e, ev, y, b, p, at) "
    "ON CONFLICT DO NOTHING"
)
# A batch of delivered messages recorded: their attempts, their status, their
# endpoints succeeding again.
_ATTEMPTS_SENT = text(
    "INSERT INTO webhook_attempts (attempt_id, tenant, delivery_id, at, status_code, "
    "error, duration_ms) SELECT a, t, d, at, c, NULL, ms FROM unnest("
    "CAST(:a AS text[]), CAST(:t AS text[]), CAST(:d AS text[]), CAST(:at AS text[]), "
    "CAST(:c AS integer[]), CAST(:ms AS integer[])) AS u(a, t, d, at, c, ms)"
)
_SENT = text(
    "UPDATE webhook_deliveries SET status = 'sent', sent_at = u.at, "
    "attempts = attempts + 1, last_error = NULL FROM unnest(CAST(:d AS text[]), "
    "CAST(:at AS text[])) AS u(d, at) WHERE delivery_id = u.d"
)
_SUCCEEDING = text(
    "UPDATE webhook_endpoints SET failing_since = NULL "
    "WHERE endpoint_id = ANY(CAST(:e AS text[])) AND failing_since IS NOT NULL"
)


@dataclass(frozen=True)
class Outcome:
    """A post's result, to record: its claimed row, the answer, when."""

    row: Any
    code: int | None
    error: str | None
    took_ms: int
    at: datetime


IDS = uuid.UUID("5a4e2f1c-9d3b-4b7a-8e61-c2f0d9a71b35")


SECRET = "webhook_secret"  # the purpose its signing secrets are sealed for


class EndpointNotFound(NotFound):
    code = "WebhookEndpointNotFound"
    title = "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    code = "WebhookDeliveryNotFound"
    title = "No such webhook delivery"


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
        per_endpoint: int = PER_ENDPOINT,
        box: SecretBox | None = None,
    ) -> None:
        self.engine = engine
        # Signing secrets are sealed at rest (``SecretBox``, bound to the tenant):
        # a reader of the database or of a backup cannot sign as Tandem.
        self.box = box
        self.per_endpoint = per_endpoint
        # The dispatcher's state: posts in flight (and per endpoint), their
        # outcomes not yet recorded, each endpoint's lane, the wake-up.
        self._inflight: set[asyncio.Task[Outcome]] = set()
        self._load: dict[str, int] = {}
        self._done: list[Outcome] = []
        self._lanes: dict[str, asyncio.Semaphore] = {}
        # Woken by the NOTIFY of a transaction that adds messages (the commit's
        # signal on SQLite); without a listener, the dispatcher polls.
        self._waker = Waker(engine, CHANNEL)
        self._wake = self._waker.event
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
        # The host as text here; its addresses at each delivery (``egress``).
        bad = parts.scheme != "https" or not public_host(parts.hostname or "")
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
            await self._add_secret(conn, me.tenant, endpoint_id, secret, now)
            view = await self._view(conn, me.tenant, endpoint_id)
        return EndpointCreated(endpoint=view, secret=secret)

    async def _add_secret(
        self,
        conn: AsyncConnection,
        tenant: str,
        endpoint_id: str,
        secret: str,
        now: datetime,
    ) -> None:
        stored = self.box.seal(SECRET, tenant, secret) if self.box else secret
        await conn.execute(
            text(
                "INSERT INTO webhook_secrets (endpoint_id, secret_id, secret, "
                "created_at) VALUES (:e, :s, :x, :at)"
            ),
            {"e": endpoint_id, "s": uuid.uuid4().hex, "x": stored, "at": stamp(now)},
        )

    def _opened(self, tenant: str, stored: str) -> str:
        """A stored signing secret as it signs (one kept before sealing, as is)."""
        if self.box is None or not stored.startswith(SEALED):
            return stored
        return self.box.open(SECRET, tenant, stored)

    async def seal_stored(self, engine: AsyncEngine) -> None:
        """Seal the signing secrets kept in the clear before sealing (at start;
        each row once, idempotent)."""
        if self.box is None:
            return
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT s.secret_id, s.secret, e.tenant FROM webhook_secrets s "
                        "JOIN webhook_endpoints e ON e.endpoint_id = s.endpoint_id "
                        "WHERE s.secret NOT LIKE :sealed"
                    ),
                    {"sealed": SEALED + "%"},
                )
            ).all()
            for r in rows:
                await conn.execute(
                    text(
                        "UPDATE webhook_secrets SET secret = :x "
                        "WHERE secret_id = :s AND secret = :was"
                    ),
                    {
                        "x": self.box.seal(SECRET, r.tenant, r.secret),
                        "s": r.secret_id,
                        "was": r.secret,
                    },
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
            await self._add_secret(conn, me.tenant, endpoint_id, secret, now)
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
            await self.notify(conn)
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
            await self.notify(conn)
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
        if count:
            await self.notify(conn)
        return count

    async def enqueue_many(
        self,
        conn: AsyncConnection,
        told: Sequence[tuple[str, str, w.WebhookEvent, datetime]],
    ) -> int:
        """``enqueue`` of each (tenant, event id, event, moment), in two statements
        whatever their number (PostgreSQL); how many messages."""
        tenants = sorted({t for t, _, _, _ in told})
        found = await conn.execute(
            _ENDPOINTS_OF, {"ts": tenants} if tenants else {"ts": []}
        )
        per_tenant: dict[str, list[tuple[str, list[str]]]] = {}
        for e in found:
            per_tenant.setdefault(e.tenant, []).append(
                (e.endpoint_id, json.loads(e.event_types))
            )
        rows: list[tuple[str, ...]] = []
        for tenant, event_id, event, now in told:
            for endpoint_id, types in per_tenant.get(tenant, []):
                if not w.matches(types, event.type):
                    continue
                body = json.dumps(
                    {
                        "type": event.type,
                        "timestamp": now.isoformat(),
                        "data": event.data,
                    },
                    separators=(",", ":"),
                )
                rows.append(
                    (
                        "msg_" + uuid.uuid5(IDS, f"{endpoint_id}\x00{event_id}").hex,
                        tenant,
                        endpoint_id,
                        event_id,
                        event.type,
                        body,
                        "".join(f"|{p}|" for p in event.people),
                        stamp(now),
                    )
                )
        if rows:
            columns = list(zip(*rows, strict=True))
            await conn.execute(
                _ENQUEUE_MANY, {f"c{n}": list(c) for n, c in enumerate(columns)}
            )
            await self.notify(conn)
        return len(rows)

    async def notify(self, conn: AsyncConnection) -> None:
        """Wake the dispatchers listening (every replica's; on SQLite this
        process's) when ``conn``'s transaction commits: new messages are due."""
        await self._waker.notify(conn)

    # -- the dispatcher ------------------------------------------------------------------

    async def pump(self, idle_s: float) -> int:
        """Post what is due until nothing is due or in flight, waiting up to
        ``idle_s`` for new messages (a committing transaction's notification wakes
        it at once); how many were delivered. The service runs it in a loop."""
        await self._waker.listen()
        delivered = 0
        tick = min(idle_s, 0.05)
        idle = False
        while True:
            self._wake.clear()
            claimed = await self._claim()  # first: the posts never run dry
            delivered += await self._settle()
            if claimed or self._inflight:
                idle = False
                if claimed < self.batch:  # all that is due is claimed: wait
                    await self._wait(tick)
                continue
            if idle:
                return delivered
            idle = True
            await self._wait(idle_s)

    async def dispatch(self) -> int:
        """Post what is due (one claimed batch) and record the outcomes; how many
        were delivered."""
        await self._claim()
        while self._inflight:
            await asyncio.wait(set(self._inflight))
        return await self._settle()

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _claim(self) -> int:
        """Claim due messages (``FOR UPDATE SKIP LOCKED``: a row another replica
        holds is skipped) and start posting each; how many. An endpoint with
        ``per_endpoint * QUEUED_ROUNDS`` messages in flight gets no more until some
        finish: a slow or hanging one never holds the others' messages."""
        room = self.batch * MAX_IN_FLIGHT_BATCHES - len(self._inflight)
        if room <= 0:
            return 0
        busy = sorted(
            e for e, n in self._load.items() if n >= self.per_endpoint * QUEUED_ROUNDS
        )
        now = utcnow()
        # A claimed message may wait its endpoint's turn for a few posts' timeouts.
        lease = now + timedelta(seconds=self.timeout_s * (QUEUED_ROUNDS + 1) + 30)
        lock = "" if is_sqlite(self.engine) else " FOR UPDATE OF d SKIP LOCKED"
        skip = {f"b{n}": e for n, e in enumerate(busy)}
        besides = (
            f" AND d.endpoint_id NOT IN ({', '.join(':' + k for k in skip)})"
            if skip
            else ""
        )
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "UPDATE webhook_deliveries SET next_attempt_at = :lease "
                        "WHERE delivery_id IN (SELECT d.delivery_id FROM "
                        "webhook_deliveries d JOIN webhook_endpoints e "
                        "ON e.endpoint_id = d.endpoint_id WHERE d.status = 'pending' "
                        f"AND e.enabled = :on AND d.next_attempt_at <= :now{besides} "
                        f"ORDER BY d.next_attempt_at LIMIT :n{lock}) RETURNING "
                        "delivery_id, tenant, endpoint_id, body, attempts, "
                        "next_attempt_at"
                    ),
                    {
                        "now": stamp(now),
                        "lease": stamp(lease),
                        "n": min(room, self.batch),
                        "on": True,
                        **skip,
                    },
                )
            ).all()
            if not rows:
                return 0
            ends = {f"e{n}": e for n, e in enumerate({r.endpoint_id for r in rows})}
            found = await conn.execute(
                text(
                    "SELECT e.endpoint_id, e.tenant, e.url, s.secret "
                    "FROM webhook_endpoints e "
                    "JOIN webhook_secrets s ON s.endpoint_id = e.endpoint_id "
                    f"WHERE e.endpoint_id IN ({', '.join(':' + k for k in ends)}) "
                    "AND (s.expires_at IS NULL OR s.expires_at > :now) "
                    "ORDER BY s.created_at"
                ),
                {**ends, "now": stamp(now)},
            )
            targets: dict[str, tuple[str, list[str]]] = {}
            for t in found:
                targets.setdefault(t.endpoint_id, (t.url, []))[1].append(
                    self._opened(t.tenant, t.secret)
                )
        # RETURNING's order is not the claim's: start the posts in the claim's.
        for r in sorted(rows, key=lambda r: r.next_attempt_at):
            self._load[r.endpoint_id] = self._load.get(r.endpoint_id, 0) + 1
            task = asyncio.create_task(self._post(r, targets))
            self._inflight.add(task)
            task.add_done_callback(functools.partial(self._finished, r))
        return len(rows)

    def _finished(self, r: Any, task: asyncio.Task[Outcome]) -> None:
        self._inflight.discard(task)
        left = self._load.get(r.endpoint_id, 1) - 1
        if left:
            self._load[r.endpoint_id] = left
        else:
            self._load.pop(r.endpoint_id, None)
        if task.cancelled():
            return  # stopping: due again when its lease ends
        self._done.append(task.result())
        if (
            not self._inflight
            or len(self._done) >= self.batch
            or left == self.per_endpoint * QUEUED_ROUNDS - 1  # room again: claim
        ):
            self._wake.set()

    def _lane(self, endpoint_id: str) -> asyncio.Semaphore:
        lane = self._lanes.get(endpoint_id)
        if lane is None:
            lane = self._lanes[endpoint_id] = asyncio.Semaphore(self.per_endpoint)
        return lane

    async def _post(self, r: Any, targets: dict[str, tuple[str, list[str]]]) -> Outcome:
        url, secrets_ = targets.get(r.endpoint_id, ("", []))
        async with self._lane(r.endpoint_id):
            stamp_s = int(time.time())
            started = time.monotonic()
            code: int | None = None
            error: str | None = None
            try:
                headers = {
                    "content-type": "application/json",
                    "webhook-id": r.delivery_id,
                    "webhook-timestamp": str(stamp_s),
                    "webhook-signature": w.sign(
                        secrets_, r.delivery_id, stamp_s, r.body
                    ),
                }
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
            except Exception as exc:  # one message's bug must not stop the others
                log.exception("webhook %s failed unexpectedly", r.delivery_id)
                error = f"{type(exc).__name__}: {exc}"
            took = int((time.monotonic() - started) * 1000)
        return Outcome(r, code, error, took, utcnow())

    async def _settle(self) -> int:
        """Record the finished posts: the delivered ones together, each failure on
        its own (its retry, death, the endpoint's disabling); how many delivered."""
        done, self._done = self._done, []
        if not done:
            return 0
        sent = [o for o in done if o.error is None]
        if sent:
            if is_sqlite(self.engine):
                for o in sent:
                    await self._record(o.row, o.code, None, o.took_ms, o.at)
            else:
                await self._record_sent(sent)
        for o in done:
            if o.error is not None:
                await self._record(o.row, o.code, o.error, o.took_ms, o.at)
        return len(sent)

    async def _record_sent(self, sent: Sequence[Outcome]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                _ATTEMPTS_SENT,
                {
                    "a": [uuid.uuid4().hex for _ in sent],
                    "t": [o.row.tenant for o in sent],
                    "d": [o.row.delivery_id for o in sent],
                    "at": [stamp(o.at) for o in sent],
                    "c": [o.code for o in sent],
                    "ms": [o.took_ms for o in sent],
                },
            )
            await conn.execute(
                _SENT,
                {
                    "d": [o.row.delivery_id for o in sent],
                    "at": [stamp(o.at) for o in sent],
                },
            )
            await conn.execute(
                _SUCCEEDING, {"e": sorted({o.row.endpoint_id for o in sent})}
            )

    async def close(self) -> None:
        """Stop listening (the service stops)."""
        await self._waker.close()

    async def _record(
        self,
        r: Any,
        code: int | None,
        error: str | None,
        took_ms: int,
        now: datetime | None = None,
    ) -> None:
        now = now or utcnow()
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

    async def prune_log(self, retention_days: int, *, batch: int = 1000) -> int:
        """Forget the messages done with (sent, or dead) that nothing has touched for
        ``retention_days``: created and last attempted before then. Pending ones are
        never forgotten. Returns how many, deleted a batch at a time with their
        attempts (short transactions: the dispatcher goes on meanwhile). So the log
        an endpoint's managers read, and what an erasure reads, is the retention's
        worth of messages, not every event ever sent."""
        cut = stamp(utcnow() - timedelta(days=retention_days))
        pruned = 0
        while True:
            async with self.engine.begin() as conn:
                ids = (
                    (await conn.execute(STALE_DELIVERIES, {"cut": cut, "n": batch}))
                    .scalars()
                    .all()
                )
                if ids:
                    found = {f"d{n}": i for n, i in enumerate(ids)}
                    listed = ", ".join(f":{k}" for k in found)
                    await conn.execute(
                        text(
                            f"DELETE FROM webhook_attempts WHERE delivery_id IN ({listed})"
                        ),
                        found,
                    )
                    await conn.execute(
                        text(
                            "DELETE FROM webhook_deliveries "
                            f"WHERE delivery_id IN ({listed})"
                        ),
                        found,
                    )
            pruned += len(ids)
            if len(ids) < batch:
                return pruned

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


# Messages done with and untouched since ``cut`` (``Webhooks.prune_log``).
STALE_DELIVERIES = text(
    "SELECT d.delivery_id FROM webhook_deliveries d "
    "WHERE d.status <> 'pending' AND d.created_at < :cut "
    "AND (d.sent_at IS NULL OR d.sent_at < :cut) "
    "AND NOT EXISTS (SELECT 1 FROM webhook_attempts a "
    "WHERE a.delivery_id = d.delivery_id AND a.at >= :cut) LIMIT :n"
)


def _like(value: str) -> str:
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
