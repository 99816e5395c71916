"""A lean HTTP/1.1 client for the gateway's calls to the services.

One dashboard query makes seven service calls; through ``httpx`` each cost the
gateway about 2 ms of CPU (URL and header models, the connection pool's bookkeeping,
two socket writes per request, the response stream), as much as resolving every
field of the answer. :class:`ServicePool` does what those calls need and no more:

* keep-alive connections to one service (``max_connections`` at most; a caller
  waits for a free one), reused last-in-first-out, each an ``asyncio.Protocol``
  parsing responses with ``httptools`` (the parser ``uvicorn`` uses);
* a request is written in one ``write`` (request line, headers and body);
* a response with ``Content-Length`` or chunked coding; one the server marks
  ``Connection: close`` closes its connection;
* a deadline for the whole call (connect, send, receive): :class:`UpstreamTimeout`;
* a service that refuses or drops the connection: :class:`UpstreamUnreachable`.
  An idle connection the service closed is never reused (the service's close is
  seen by the event loop), nor one idle longer than ``keepalive_expiry`` (4 s: a
  service closes a connection idle for its keep-alive timeout, 5 s for ``uvicorn``,
  and a busy gateway may not have seen that close yet when it takes the connection).
  A replayable call (a ``GET``, or a read the caller marks so, such as a batch read
  sent as ``POST``) whose reused connection was closed before any byte of the answer
  arrived is sent once more on a new connection; any other call is not, since the
  service may have acted on it.

A connection whose call was interrupted (a timeout, a cancelled caller, a malformed
answer) is closed, never reused. ``http`` and ``https`` base URLs are served (the
base URL's path, if any, prefixes every path).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

# Shorter than the services' keep-alive timeout (uvicorn's default: 5 s).
KEEPALIVE_EXPIRY_S = 4.0


class UpstreamTransportError(Exception):
    """The call failed below HTTP: no answer was read."""


class UpstreamTimeout(UpstreamTransportError):
    """The service did not answer within the deadline."""


class UpstreamUnreachable(UpstreamTransportError):
    """The service refused or dropped the connection, or answered no valid HTTP."""


class Answer:
    """A service's answer, read whole."""

    __slots__ = ("content", "headers", "reason_phrase", "status_code")

    def __init__(
        self, status_code: int, reason: str, headers: dict[str, str], content: bytes
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason
        # Lower-case names; a repeated header keeps its last value.
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Dropped(UpstreamUnreachable):
    """The connection closed before the answer was complete."""

    def __init__(self, message: str, started: bool) -> None:
        super().__init__(message)
        self.started = started  # some bytes of the answer had arrived
        self.reused = False  # on a connection that had served a call before


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one call at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._started = False
        self._reason = ""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.idle_since = 0.0  # the event loop's time it was last put back

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no subclass of asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # nothing was asked: not an answer to anything
            return
        self._started = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamUnreachable(f"a malformed HTTP answer: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._fail(
            _Dropped(
                "the service closed the connection"
                + (f": {exc}" if exc is not None else ""),
                self._started,
            )
        )

    # -- httptools callbacks ------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self._reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        answer = Answer(
            self.parser.get_status_code(),
            self._reason,
            self._headers,
            b"".join(self._body),
        )
        self.reusable = self.parser.should_keep_alive() and not self.closed
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # -- use ----------------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._started = False
        self._reason = ""
        self._headers = {}
        self._body = []
        self.reusable = False
        self.transport.write(request)
        return self._waiter

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


def _header_text(value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("a header name or value with a line break")
    return value


class ServicePool:
    """Keep-alive HTTP/1.1 connections to one service (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_connections: int,
        keepalive_expiry: float = KEEPALIVE_EXPIRY_S,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self.base_url = base_url
        self.timeout = timeout
        self.keepalive_expiry = keepalive_expiry
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None or parts.port == (443 if self._tls else 80)
        authority = self._host if ":" not in self._host else f"[{self._host}]"
        if not default_port:
            authority = f"{authority}:{self._port}"
        self._prefix = parts.path.rstrip("/")
        self._head = f"host: {authority}\r\n"
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._open: set[_Connection] = set()

    def _request_bytes(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> bytes:
        lines = [f"{method} {self._prefix}{target} HTTP/1.1\r\n", self._head]
        for name, value in headers.items():
            lines.append(f"{_header_text(name)}: {_header_text(value)}\r\n")
        if body is not None:
            lines.append(f"content-length: {len(body)}\r\n")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("content-length: 0\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return head + body if body else head

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        replayable: bool | None = None,
        deadline_s: float | None = None,
    ) -> Answer:
        """``method target`` (a path and its query) with ``headers`` and ``body``.

        ``replayable`` (default: the method is ``GET``): the call may be sent again
        when its reused connection closed before any byte of the answer arrived.
        ``deadline_s``: this call's deadline instead of the pool's ``timeout``."""
        if method == "HEAD":  # its answer's framing is not read here
            raise ValueError("HEAD is not supported")
        data = self._request_bytes(method, target, headers, body)
        async with self._slots:
            try:
                async with asyncio.timeout(deadline_s or self.timeout):
                    try:
                        return await self._exchange(data)
                    except _Dropped as exc:
                        if replayable is None:
                            replayable = method == "GET"
                        if exc.started or not replayable or not exc.reused:
                            raise
                        return await self._exchange(data, fresh=True)
            except TimeoutError:
                raise UpstreamTimeout("the service did not answer in time") from None

    async def _exchange(self, data: bytes, fresh: bool = False) -> Answer:
        conn = None if fresh else self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._connect()
        try:
            answer = await conn.send(data)
        except _Dropped as exc:
            exc.reused = reused
            self._forget(conn)
            raise
        except BaseException:
            # Interrupted (timeout, cancelled, malformed): never reused.
            conn.close()
            self._forget(conn)
            raise
        if conn.reusable:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.append(conn)
        else:
            conn.close()
            self._forget(conn)
        return answer

    def _take_idle(self) -> _Connection | None:
        if not self._idle:
            return None
        stale = asyncio.get_running_loop().time() - self.keepalive_expiry
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable and not conn.closed and conn.idle_since >= stale:
                return conn
            conn.close()
            self._forget(conn)
        return None

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            transport, conn = await loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls else None,
            )
        except OSError as exc:
            raise UpstreamUnreachable(f"cannot connect: {exc}") from None
        conn.transport = transport  # uvloop may call connection_made later
        self._open.add(conn)
        return conn

    async def aclose(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()
