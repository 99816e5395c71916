"""Calls from the gateway to the services, on behalf of the caller.

One keep-alive connection pool per service lives for the process
(:class:`gateway.http11.ServicePool`, a lean HTTP/1.1 client: through ``httpx`` the
calls of one query cost the gateway as much CPU as resolving its answer; an
``httpx.AsyncClient`` given for a service, as the embedded platform and the tests
give an in-process one, is used instead). Each GraphQL request gets a :class:`Caller` that forwards the caller's bearer token,
request id and trace context (``traceparent``), so every service authenticates and
authorises the call again. A problem document (RFC 9457) from a service becomes an
:class:`UpstreamError` with the same ``code``; a service that cannot be reached or
does not answer within the timeout becomes :class:`ServiceDown`. ``Caller.calls``
counts the upstream requests of one GraphQL request (tests and the benchmark read it
from the response's ``extensions``).

Every upstream path is built by :func:`upstream_path` from a constant template and
segments that are each checked (the services' id format, see ``gateway.ids``) and
percent-escaped; :meth:`Caller.request` refuses any other path, so a caller's string
can never become a path of its own (``../../admin``) or a query (``a?x=1``).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import re
import string
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from opentelemetry import propagate

from chassis.auth import Principal
from gateway.http11 import (
    Answer,
    ServicePool,
    UpstreamTimeout,
    UpstreamTransportError,
)
from gateway.ids import InvalidId, is_local_id
from gateway.settings import SERVICES, GatewaySettings

log = logging.getLogger(__name__)

_FORMATTER = string.Formatter()
# What a built path may contain: "/"-separated segments of unreserved characters and
# percent escapes, none of them "." or "..".
_SAFE_PATH = re.compile(r"^(/[A-Za-z0-9_~%-][A-Za-z0-9._~%-]*)+$")


def upstream_path(template: str, **segments: str) -> str:
    """``template`` (a constant like ``"/notes/{note}/debrief"``) with each ``{name}``
    replaced by ``segments[name]``, checked and percent-escaped as one path segment.

    A segment outside the services' id format raises :class:`InvalidId` (nothing is
    called). Resolvers parse ids with ``gateway.ids`` first, so this is the second
    line of defence and the one place an upstream URL is assembled.
    """
    out: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        if spec or conversion or name not in segments:
            raise ValueError(f"bad upstream path template {template!r}")
        value = segments[name]
        if not is_local_id(value):
            raise InvalidId(name, "id", "is not a valid id")
        out.append(quote(value, safe=""))
    path = "".join(out)
    if not _SAFE_PATH.fullmatch(path):
        raise ValueError(f"bad upstream path template {template!r}")
    return path


@dataclass
class UpstreamError(Exception):
    """A service refused or failed the call with a problem document."""

    service: str
    status: int
    code: str
    message: str
    fields: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class ServiceDown(UpstreamError):
    """The service could not be reached, or did not answer in time."""

    def __init__(self, service: str, message: str, retry_after_s: int = 5) -> None:
        super().__init__(
            service=service,
            status=503,
            code="ServiceUnavailable",
            message=message,
            extra={"retry_after_s": retry_after_s},
        )


# What a service is called with: ``(service, method, path)`` (tests watch the calls).
Observer = Callable[[str, str, str], None]


class Upstreams:
    """The process-wide connections, one pool (or given client) per service."""

    def __init__(
        self,
        settings: GatewaySettings,
        clients: Mapping[str, httpx.AsyncClient] | None = None,
    ) -> None:
        self.settings = settings
        # Clients given by the embedder (in-process services, tests' mocks).
        self.clients: dict[str, httpx.AsyncClient] = dict(clients or {})
        self.pools: dict[str, ServicePool] = {
            name: ServicePool(
                settings.url_of(name),
                timeout=settings.upstream_timeout_s,
                max_connections=settings.upstream_connections,
            )
            for name in SERVICES
            if name not in self.clients
        }
        self.observers: list[Observer] = []

    async def aclose(self) -> None:
        await asyncio.gather(
            *(c.aclose() for c in self.clients.values()),
            *(p.aclose() for p in self.pools.values()),
        )

    def caller(self, principal: Principal, request_id: str | None = None) -> Caller:
        return Caller(self, principal, request_id)


class Caller:
    """The upstream calls of one GraphQL request, made as its principal."""

    def __init__(
        self, upstreams: Upstreams, principal: Principal, request_id: str | None
    ) -> None:
        self._upstreams = upstreams
        self.principal = principal
        self.request_id = request_id
        self.calls = 0
        self.calls_by_service: Counter[str] = Counter()

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {"accept": "application/json"}
        if self.principal.token:
            headers["authorization"] = f"Bearer {self.principal.token}"
        if self.request_id:
            headers["x-request-id"] = self.request_id
        propagate.inject(headers)  # traceparent of the current span
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        replayable: bool | None = None,
        raw: bool = False,
        deadline_s: float | None = None,
    ) -> Any:
        """One call; returns the decoded JSON body (``None`` for 204), or with
        ``raw`` its undecoded bytes, for :func:`gateway.answers.read` to parse and
        validate in one step.

        ``deadline_s`` replaces the settings' ``upstream_timeout_s`` for this call.
        ``replayable`` marks a call that changes nothing (default: a ``GET``): it
        is sent once more if its kept-alive connection turns out to be closed
        before any byte of the answer arrived (:class:`gateway.http11.ServicePool`).

        ``path`` must come from :func:`upstream_path` (or be a constant path).
        """
        if not _SAFE_PATH.fullmatch(path):
            raise ValueError(f"unsafe upstream path {path!r}: use upstream_path()")
        upstreams = self._upstreams
        self.calls += 1
        self.calls_by_service[service] += 1
        for observe in upstreams.observers:
            observe(service, method, path)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response: Answer | httpx.Response
        try:
            pool = upstreams.pools.get(service)
            if pool is not None:
                response = await _over_pool(
                    pool,
                    method,
                    path,
                    clean,
                    json,
                    content,
                    self._headers(headers),
                    replayable,
                    deadline_s,
                )
            else:
                response = await upstreams.clients[service].request(
                    method,
                    path,
                    params=clean,
                    json=json,
                    content=content,
                    headers=self._headers(headers),
                    timeout=deadline_s or httpx.USE_CLIENT_DEFAULT,
                )
        except (httpx.TimeoutException, UpstreamTimeout):
            raise ServiceDown(
                service, f"the {service} service did not answer in time"
            ) from None
        except (httpx.TransportError, UpstreamTransportError) as exc:
            log.warning("%s unreachable: %s", service, exc)
            raise ServiceDown(
                service, f"the {service} service is unavailable"
            ) from None
        if response.status_code >= 400:
            raise _error_of(service, response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" not in response.headers.get("content-type", ""):
            return response.text
        if raw:
            return response.content
        return response.json()

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.request(service, "GET", path, params=params)

    async def post(self, service: str, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.request(service, "POST", path, json=json, **kw)

    async def read_batch(self, service: str, path: str, json: Any) -> Any:
        """A batch read: ``POST path`` with ``json`` (its ids), which changes
        nothing and so may be sent again (see :meth:`request`). The answer comes
        undecoded (``raw``), for :func:`gateway.answers.read`."""
        return await self.request(
            service, "POST", path, json=json, replayable=True, raw=True
        )

    async def put(self, service: str, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.request(service, "PUT", path, json=json, **kw)

    async def patch(self, service: str, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.request(service, "PATCH", path, json=json, **kw)

    async def delete(self, service: str, path: str, **kw: Any) -> Any:
        return await self.request(service, "DELETE", path, **kw)


def _query_value(value: Any) -> str:
    # As httpx writes a query parameter (JSON-style booleans).
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _over_pool(
    pool: ServicePool,
    method: str,
    path: str,
    params: Mapping[str, Any],
    json: Any,
    content: bytes | str | None,
    headers: dict[str, str],
    replayable: bool | None,
    deadline_s: float | None,
) -> Awaitable[Answer]:
    """The call over ``pool``, its body and query encoded as ``httpx`` encodes them."""
    target = path
    if params:
        pairs = [
            (k, _query_value(item))
            for k, v in params.items()
            for item in (v if isinstance(v, (list, tuple)) else (v,))
        ]
        target = f"{path}?{urlencode(pairs, quote_via=quote)}"
    body: bytes | None = None
    if json is not None:
        body = jsonlib.dumps(
            json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
        headers.setdefault("content-type", "application/json")
    elif content is not None:
        body = content.encode() if isinstance(content, str) else content
    return pool.request(
        method, target, headers, body, replayable=replayable, deadline_s=deadline_s
    )


def _error_of(service: str, response: Answer | httpx.Response) -> UpstreamError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if status >= 500 and status != 503:
        log.error("%s answered %s: %s", service, status, body.get("detail"))
        return UpstreamError(
            service,
            status,
            "InternalError",
            f"the {service} service failed (request id {body.get('request_id')})",
        )
    if status == 503:
        retry = int(response.headers.get("retry-after", "5") or 5)
        return ServiceDown(
            service, body.get("detail") or f"{service} is unavailable", retry
        )
    known = {"type", "title", "status", "detail", "code", "instance", "errors"}
    return UpstreamError(
        service=service,
        status=status,
        code=str(body.get("code") or f"Http{status}"),
        message=str(body.get("detail") or body.get("title") or response.reason_phrase),
        fields=list(body.get("errors") or []),
        extra={k: v for k, v in body.items() if k not in known},
    )
