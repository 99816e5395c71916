"""RFC 9457 problem details: every error a service returns has the same shape.

``TandemError`` subclasses carry their own ``code``/``status``; this module adds the
``instance`` (request path) and ``request_id`` members, the right headers, and maps what
frameworks and drivers raise (validation errors, HTTP exceptions, database outages,
bugs) onto the same shape. An unexpected exception becomes a bare "InternalError" 500:
its text stays in the log, next to the request id the caller was given.
"""

from __future__ import annotations

import errno
import http
import logging
import socket
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.db import is_bad_value, sqlstate_is_outage
from chassis.errors import (
    FieldError,
    ServiceUnavailable,
    TandemError,
    Unauthenticated,
    ValidationFailed,
)
from chassis.http.request_id import REQUEST_ID_HEADER, request_id_of
from chassis.redaction import described, span_attributes

try:  # asyncpg is the production driver; the embedded mode runs without it.
    import asyncpg.exceptions as _pg

    _DRIVER_OUTAGES: tuple[type[BaseException], ...] = (
        _pg.PostgresConnectionError,
        _pg.CannotConnectNowError,
        _pg.TooManyConnectionsError,
    )
except ImportError:  # pragma: no cover
    _DRIVER_OUTAGES = ()

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("chassis.http")

_SQLALCHEMY_OUTAGES = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # connection pool exhausted
)
_CONNECTION_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}
_DATABASE_PACKAGES = {"asyncpg", "sqlalchemy", "aiosqlite", "psycopg"}
# SQLSTATEs of a server that is away, not of a bad query: class 08 (connection
# exception), shutting down or starting up (57P01-57P03), out of connections.
# SQLAlchemy wraps some of them (asyncpg's "the database system is starting up",
# raised while connecting) in a bare ``DBAPIError``, whose ``orig`` keeps the code.


class InternalError(TandemError):
    """A bug: nothing the caller did wrong and nothing they can fix by retrying."""

    code = "InternalError"
    status = 500
    title = "Internal server error"


def _raised_in_database_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.partition(".")[0] in _DATABASE_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def is_database_outage(exc: BaseException) -> bool:
    """True for errors meaning "the database cannot be reached", not "the query is bad".

    Drivers raise plain ``OSError``s (refused, reset, DNS failure, timeout) while
    connecting; those count when raised from inside a database package, so an
    unrelated ``FileNotFoundError`` in a handler is still a 500.
    """
    if isinstance(exc, _SQLALCHEMY_OUTAGES + _DRIVER_OUTAGES):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if sqlstate_is_outage(exc):
            return True
    if isinstance(exc, ConnectionRefusedError):
        return True
    if isinstance(exc, OSError) and (
        isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror))
        or exc.errno in _CONNECTION_ERRNOS
    ):
        return _raised_in_database_driver(exc)
    return False


def problem_response(
    scope: Scope, error: TandemError, headers: dict[str, str] | None = None
) -> Response:
    """Render ``error`` as an ``application/problem+json`` response for ``scope``."""
    request_id = request_id_of(scope)
    body: dict[str, Any] = error.problem()
    # ASGI's ``path`` already includes ``root_path`` (proxy prefix or mount).
    body["instance"] = scope.get("path", "")
    body["request_id"] = request_id
    all_headers = dict(headers or {})
    if request_id:
        all_headers[REQUEST_ID_HEADER] = request_id
    retry_after_s = getattr(error, "retry_after_s", None)  # 503, 429
    if isinstance(retry_after_s, int):
        all_headers["Retry-After"] = str(retry_after_s)
    if isinstance(error, Unauthenticated):
        challenge = "Bearer"
        bearer_error = getattr(error, "bearer_error", None)
        if bearer_error:
            challenge += f' error="{bearer_error}"'
        all_headers["WWW-Authenticate"] = challenge
    return JSONResponse(
        jsonable_encoder(body),
        status_code=error.status,
        headers=all_headers,
        media_type=PROBLEM_JSON,
    )


def error_for_exception(exc: BaseException, scope: Scope) -> TandemError:
    """The ``TandemError`` shown to the caller for ``exc``; logs what it hides."""
    if isinstance(exc, TandemError):
        return exc
    request_id = request_id_of(scope)
    if is_database_outage(exc):
        logger.warning(
            "database unavailable (request %s): %s",
            request_id,
            described(exc),
        )
        return ServiceUnavailable("the database is unavailable; retry shortly")
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and is_bad_value(exc):
        logger.warning(
            "value refused by the database (request %s): %s",
            request_id,
            described(exc),
        )
        return ValidationFailed(
            [FieldError("body", "a value is out of the range this field accepts")]
        )
    logger.error(
        "unhandled error (request %s) on %s %s",
        request_id,
        scope.get("method"),
        scope.get("path"),
        exc_info=exc,
    )
    return InternalError(
        "an unexpected error occurred; quote the request id when reporting it"
    )


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def _status_code_name(status: int) -> str:
    """ "Method Not Allowed" → "MethodNotAllowed", in the style of TandemError codes."""
    words = _phrase(status).replace("-", " ").split()
    return "".join(word.capitalize() for word in words)


class _HttpProblem(TandemError):
    """A Starlette ``HTTPException`` (404 route, 405 method, …) in problem form."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self._status = status

    def problem(self) -> dict[str, Any]:
        code = _status_code_name(self._status)
        body = super().problem()
        body.update(
            type=f"urn:tandem:error:{code}",
            title=_phrase(self._status),
            status=self._status,
            code=code,
        )
        return body


async def _tandem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TandemError)
    return problem_response(request.scope, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [
        FieldError(
            path=".".join(str(part) for part in err.get("loc", ())),
            message=str(err.get("msg", "invalid")),
        )
        for err in exc.errors()
    ]
    return problem_response(request.scope, ValidationFailed(fields))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    problem = _HttpProblem(exc.status_code, detail)
    response = problem_response(request.scope, problem, dict(exc.headers or {}))
    # ``status`` is a class attribute of TandemError; this one varies per instance.
    response.status_code = exc.status_code
    return response


async def _database_error(request: Request, exc: Exception) -> Response:
    return problem_response(request.scope, error_for_exception(exc, request.scope))


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem-details handlers and the last-resort error middleware."""
    app.add_exception_handler(TandemError, _tandem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    for outage in _SQLALCHEMY_OUTAGES + _DRIVER_OUTAGES:
        app.add_exception_handler(outage, _database_error)  # type: ignore[arg-type]
    app.add_middleware(UnhandledErrorMiddleware)


class UnhandledErrorMiddleware:
    """Turns any exception no handler took into a problem response.

    Starlette would hand such exceptions to ``ServerErrorMiddleware``, outside every
    user middleware, so the response would miss the request id and the server span
    its status; catching them here keeps one code path for every error response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for another response; let the server close it
                raise
            span = trace.get_current_span()
            span.record_exception(exc, attributes=span_attributes(exc))
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            error = error_for_exception(exc, scope)
            await problem_response(scope, error)(scope, receive, send)
