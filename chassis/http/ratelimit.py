"""Rate limits per caller and per organisation, in front of every route.

``create_app`` installs :class:`RateLimitMiddleware` in every service and in the
gateway. A request with a bearer token counts against two fixed one-minute windows
(the ``limits`` library's fixed-window strategy): its caller's (tenant and subject,
``RATE_LIMIT_PER_TOKEN_PER_MINUTE``) and its organisation's
(``RATE_LIMIT_PER_TENANT_PER_MINUTE``); 0 switches a limit off. Past either, the
answer is 429 ``RateLimited`` (problem+json) with ``Retry-After`` in seconds until
the window resets. A request the caller's own window refuses does not count against
the organisation's, so one runaway script does not lock out its colleagues.

Buckets are keyed by the VERIFIED principal. Keying by claims decoded without
verification would be cheaper but wrong: anyone can forge a token naming another
organisation and subject, and each forged request would drain the victim's buckets
until the victim is refused (a denial of service that costs the attacker nothing).
So the middleware verifies the token (one HMAC or one cached-key signature check) and
leaves the principal in the request's state, where the route's ``get_principal``
picks it up instead of verifying again. A request whose token does not verify is not
counted: the route refuses it with 401 as before. Requests without a token (public
routes; protected ones answer 401), health probes (``/healthz``, ``/readyz``) and
websockets are never limited; internal work (consumers, the relay, system
principals) does not come through HTTP at all. Shedding anonymous floods by address
is the ingress's job, which sees the client's real address.

Where the counters live (``RATE_LIMIT_STORAGE``): a ``limits`` storage URI
(``memory://``; ``redis://host:6379`` where a Redis is deployed) or a PostgreSQL URL
(``postgresql://`` or ``postgresql+asyncpg://``), served by
:class:`PostgresRateLimitStorage` so replicas share their counts. Unset, a
production process whose own database is PostgreSQL counts there, and everything
else (the embedded demo, development, tests, the gateway without a database) counts
in memory, per process. If the storage fails, requests pass (fail open): a limiter
must not turn a database hiccup into an outage of every route.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from chassis.auth.fastapi import VERIFIED
from chassis.auth.principal import Principal
from chassis.db import create_engine, is_sqlite
from chassis.errors import TandemError
from chassis.http.problems import problem_response
from chassis.settings import ServiceSettings

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class RateLimited(TandemError):
    """Too many requests in the current window; retry after ``retry_after_s``."""

    code = "RateLimited"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class PostgresRateLimitStorage(Storage):
    """Fixed-window counters in one PostgreSQL table, shared by every replica.

    One upsert per hit: a window that has expired starts again at the hit, otherwise
    the count grows; row locks make concurrent hits from many replicas exact. Time
    is the database's clock, so replicas with skewed clocks agree. The table,
    ``rate_limit_counters``, belongs to the limiter, not to the service's schema: it
    is UNLOGGED (counters need no crash safety and should cost no WAL), created by
    this storage on first use like a Redis key space, kept out of the migrations and
    the drift check, and works the same in a database of its own. Expired rows are
    swept at most once a minute.
    """

    STORAGE_SCHEME = None

    _DDL = (
        "CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_counters ("
        "key TEXT PRIMARY KEY, hits BIGINT NOT NULL, "
        "expires_at DOUBLE PRECISION NOT NULL)"
    )
    _NOW = "extract(epoch from clock_timestamp())"
    _INCR = text(
        "INSERT INTO rate_limit_counters AS c (key, hits, expires_at) "
        f"VALUES (:key, :amount, {_NOW} + :expiry) "
        "ON CONFLICT (key) DO UPDATE SET "
        f"hits = CASE WHEN c.expires_at <= {_NOW} THEN :amount "
        "ELSE c.hits + :amount END, "
        f"expires_at = CASE WHEN c.expires_at <= {_NOW} THEN excluded.expires_at "
        "ELSE c.expires_at END "
        "RETURNING hits"
    )
    _GET = text(
        "SELECT hits, expires_at FROM rate_limit_counters "
        f"WHERE key = :key AND expires_at > {_NOW}"
    )
    _SWEEP = text(f"DELETE FROM rate_limit_counters WHERE expires_at < {_NOW} - 60")
    _LOCK = int.from_bytes(
        hashlib.sha256(b"tandem.rate_limit_counters").digest()[:8], "big", signed=True
    )

    def __init__(
        self,
        uri: str | None = None,
        *,
        engine: AsyncEngine | None = None,
        pool_size: int = 5,
        **options: Any,
    ) -> None:
        super().__init__(uri, **options)
        if engine is None:
            if uri is None:
                raise ValueError("a PostgreSQL URL or an engine is needed")
            engine = create_engine(_asyncpg(uri), pool_size=pool_size)
            self._owns_engine = True
        else:
            self._owns_engine = False
        self.engine = engine
        self._ready = False
        self._swept_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (SQLAlchemyError, OSError)

    async def _ensure_table(self) -> None:
        if self._ready:
            return
        async with self.engine.begin() as conn:
            # Replicas starting together would race on CREATE ... IF NOT EXISTS.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._LOCK}
            )
            await conn.execute(text(self._DDL))
        self._ready = True

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        await self._ensure_table()
        async with self.engine.begin() as conn:
            hits = (
                await conn.execute(
                    self._INCR, {"key": key, "amount": amount, "expiry": float(expiry)}
                )
            ).scalar_one()
            if time.monotonic() - self._swept_at > 60:
                self._swept_at = time.monotonic()
                await conn.execute(self._SWEEP)
        return int(hits)

    async def _row(self, key: str) -> Any:
        await self._ensure_table()
        async with self.engine.connect() as conn:
            return (await conn.execute(self._GET, {"key": key})).first()

    async def get(self, key: str) -> int:
        row = await self._row(key)
        return int(row.hits) if row is not None else 0

    async def get_expiry(self, key: str) -> float:
        row = await self._row(key)
        return float(row.expires_at) if row is not None else time.time()

    async def check(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return False
        return True

    async def reset(self) -> int | None:
        await self._ensure_table()
        async with self.engine.begin() as conn:
            result = await conn.execute(text("DELETE FROM rate_limit_counters"))
        return int(result.rowcount)

    async def clear(self, key: str) -> None:
        await self._ensure_table()
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM rate_limit_counters WHERE key = :key"), {"key": key}
            )

    async def close(self) -> None:
        """Release the connections this storage opened itself."""
        if self._owns_engine:
            await self.engine.dispose()


def _asyncpg(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(
        hide_password=False
    )


def storage_for(settings: ServiceSettings) -> Storage:
    """The counters' storage that ``settings`` ask for (see the module's docstring)."""
    uri = settings.rate_limit_storage
    if uri is None:
        shared = settings.is_production and not is_sqlite(settings.database_url)
        uri = settings.database_url if shared else "memory://"
    if uri.startswith("postgres"):
        return PostgresRateLimitStorage(uri)
    if not uri.startswith("async+"):
        uri = f"async+{uri}"
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):  # pragma: no cover - async+ guarantees it
        raise ValueError(f"{uri} is not an async limits storage")
    return storage


class RateLimiter:
    """The two windows a verified caller counts against."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_token_per_minute: int,
        per_tenant_per_minute: int,
    ) -> None:
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)
        self.per_token = (
            RateLimitItemPerMinute(per_token_per_minute, namespace="token")
            if per_token_per_minute
            else None
        )
        self.per_tenant = (
            RateLimitItemPerMinute(per_tenant_per_minute, namespace="tenant")
            if per_tenant_per_minute
            else None
        )

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RateLimiter | None:
        """The limiter ``settings`` configure, or None when both limits are off."""
        token = settings.rate_limit_per_token_per_minute
        tenant = settings.rate_limit_per_tenant_per_minute
        if not token and not tenant:
            return None
        return cls(
            storage_for(settings),
            per_token_per_minute=token,
            per_tenant_per_minute=tenant,
        )

    async def admit(self, principal: Principal, service: str) -> None:
        """Count one request of ``principal``; ``RateLimited`` when over a limit."""
        # Tenants and subjects are reference-shaped (no "/"), so keys cannot collide.
        checks = [
            (self.per_token, (service, principal.tenant, principal.subject), "caller"),
            (self.per_tenant, (service, principal.tenant), "organisation"),
        ]
        for item, key, whose in checks:
            if item is not None and not await self.strategy.hit(item, *key):
                raise RateLimited(
                    f"this {whose} made more than {item.amount} requests in a "
                    "minute; retry later",
                    retry_after_s=await self._retry_after(item, key),
                )

    async def _retry_after(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        stats = await self.strategy.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def close(self) -> None:
        close = getattr(self.storage, "close", None)
        if close is not None:
            await close()


class RateLimitMiddleware:
    """Counts each authenticated request and answers 429 past a limit."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, service: str) -> None:
        self.app = app
        self.limiter = limiter
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        principal = await self._principal(scope)
        if principal is not None:
            try:
                await self.limiter.admit(principal, self.service)
            except RateLimited as refused:
                await problem_response(scope, refused)(scope, receive, send)
                return
            except Exception as exc:  # storage away: fail open, say so
                log.warning("rate limit not checked (%s: %s)", type(exc).__name__, exc)
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal | None:
        token = _bearer(scope)
        if token is None:
            return None
        verifier = scope["app"].state.token_verifier
        try:
            principal: Principal = await verifier.averify(token)
        except TandemError:
            return None  # the route refuses it, with the reason
        scope.setdefault("state", {})[VERIFIED] = (token, principal)
        return principal


def _route_path(scope: Scope) -> str:
    """The path inside this app (a mounted app's ``path`` keeps the mount prefix)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None
