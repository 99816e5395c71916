"""The input guard: hostile bytes are refused before any route or parser sees them.

Every service (and the gateway) runs it outermost but for the request id, so a NUL
byte in a path or query, a body past the size limit, or JSON nested 100,000 deep is a
typed problem (422 or 413) that changed nothing, instead of a driver error or a
``RecursionError`` deep inside a handler. Field-level bounds live in the request
models (``chassis.inputs``); this is the part that must run before parsing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.errors import FieldError, PayloadTooLarge, TandemError, ValidationFailed
from chassis.http.problems import problem_response
from chassis.inputs import json_nesting_exceeds

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_JSON_DEPTH = 32


_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def _has_control_bytes(raw: bytes) -> bool:
    return _CONTROL.search(raw) is not None


class InputGuardMiddleware:
    """Refuse control characters in the URL, oversized bodies and deep JSON.

    JSON bodies are held to ``max_body_bytes`` (and their nesting to
    ``max_json_depth``); other content types (CSV imports, multipart uploads) to
    ``max_upload_bytes``. The body is read once here and replayed to the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._url_problem(scope)
        if problem is not None:
            await problem_response(scope, problem)(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and not (
            _declared_length(scope)
        ):
            await self.app(scope, receive, send)
            return
        is_json = _is_json(scope)
        limit = self.max_body_bytes if is_json else self.max_upload_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            too_large = PayloadTooLarge(
                f"the body is {declared} bytes; at most {limit} are accepted",
                max_bytes=limit,
            )
            await problem_response(scope, too_large)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                too_large = PayloadTooLarge(
                    f"the body is larger than the {limit} bytes accepted",
                    max_bytes=limit,
                )
                await problem_response(scope, too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if is_json and json_nesting_exceeds(body, self.max_json_depth):
            deep = ValidationFailed(
                [
                    FieldError(
                        "body",
                        f"JSON nested deeper than {self.max_json_depth} levels",
                    )
                ]
            )
            await problem_response(scope, deep)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _url_problem(scope: Scope) -> TandemError | None:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        if _has_control_bytes(unquote_to_bytes(raw_path)):
            return ValidationFailed(
                [FieldError("path", "control characters are not allowed")]
            )
        query: bytes = scope.get("query_string", b"")
        if query and _has_control_bytes(unquote_to_bytes(query.replace(b"+", b" "))):
            return ValidationFailed(
                [FieldError("query", "control characters are not allowed")]
            )
        return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = bytes(value).split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    # No content type: FastAPI parses a body as JSON anyway.
    return True
