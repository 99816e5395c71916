"""The gateway's composition root: ``build_app(settings)``.

``uvicorn gateway.main:app`` serves ``/graphql`` (queries and mutations over HTTP,
subscriptions over graphql-transport-ws on the same path), ``/healthz``, ``/readyz``,
and GraphiQL at ``/graphql`` in development. The gateway holds no domain state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.requests import HTTPConnection
from fastapi.responses import HTMLResponse
from pydantic_core import to_json
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from chassis.auth import TokenVerifier
from chassis.auth.fastapi import VERIFIED
from chassis.errors import ValidationFailed
from chassis.http import create_app
from chassis.http.request_id import request_id_of
from chassis.messaging.transport import Transport
from gateway.context import Context, bearer_token
from gateway.dashboard import mount_dashboard
from gateway.extensions import typed_error
from gateway.graphiql import ide_html
from gateway.history.jobs import HistoryImports
from gateway.hub import EventHub
from gateway.protection import PersistedQueries
from gateway.schema import build_schema
from gateway.settings import GatewaySettings
from gateway.upstream import Upstreams

if TYPE_CHECKING:
    # Strawberry's request adapter (its own dependency), named only in a signature.
    from cross_web import AsyncHTTPRequestAdapter

VERSION = "0.1.0"
Settings = GatewaySettings


class TandemGraphQLRouter(GraphQLRouter):
    """Adds persisted (trusted) queries to Strawberry's FastAPI router."""

    persisted: PersistedQueries
    trusted_only: bool = False
    reveal_internal_errors: bool = False

    def encode_json(self, data: object) -> str:
        # The answer is JSON's own types (graphql-core serialised every value):
        # pydantic-core writes it several times faster than ``json.dumps``, as UTF-8
        # rather than ASCII escapes. A str, as Strawberry's multipart stream expects.
        return to_json(data).decode()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(ide_html(self.graphql_ide_html))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # The last net: an error raised outside the operation's extensions (a
        # document that does not parse, a limit refusing it) is typed here too.
        if result.errors:
            request_id = request_id_of(request.scope)
            result.errors = [
                typed_error(e, request_id, self.reveal_internal_errors)
                for e in result.errors
            ]
        return await super().process_result(request, result)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "GET":
            # A query over GET could be triggered by any cross-site page (OWASP);
            # GraphiQL's page (GET, text/html, no query) is answered before this.
            raise HTTPException(
                405,
                "send GraphQL operations with POST (application/json)",
                headers={"Allow": "POST"},
            )
        data = await super().parse_http_body(request)
        items = data if isinstance(data, list) else [data]
        for item in items:
            self._resolve_persisted(item)
        return data

    def _resolve_persisted(self, item: GraphQLRequestData) -> None:
        wants_persisted = item.query is None
        if wants_persisted:
            document_id = (item.extensions or {}).get("documentId")
            try:
                item.query = self.persisted.resolve(item.extensions, document_id)
            except LookupError:
                raise ValidationFailed(
                    [], "send `query`, or a known persisted query hash"
                ) from None
        elif self.trusted_only:
            raise ValidationFailed(
                [], "this gateway only runs trusted (persisted) queries"
            )


def build_app(
    settings: GatewaySettings | None = None,
    *,
    clients: Mapping[str, httpx.AsyncClient] | None = None,
    transport: Transport | None = None,
    persisted: PersistedQueries | None = None,
) -> FastAPI:
    """The gateway app; ``clients`` replace the HTTP clients (embedded mode)."""
    settings = settings or GatewaySettings()
    upstreams = Upstreams(settings, clients)
    hub = EventHub(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        transport=transport if settings.kafka_bootstrap_servers is None else None,
    )
    verifier = TokenVerifier.from_settings(settings)
    history = HistoryImports()

    async def get_context(conn: HTTPConnection) -> AsyncIterator[Context]:
        # FastAPI passes the HTTP request or the websocket, whichever this is.
        principal = None
        header = conn.headers.get("authorization")
        if header:
            token = bearer_token(header)
            # The rate limiter verified this very token already (chassis.http.ratelimit).
            verified = conn.scope.get("state", {}).get(VERIFIED)
            if verified is not None and verified[0] == token:
                principal = verified[1]
            else:
                principal = await verifier.averify(token)
        request_id = request_id_of(conn.scope)
        context = Context(
            settings, upstreams, verifier, principal, request_id, hub, history
        )
        # One cost budget per HTTP request; a websocket's operations are each
        # bounded by ``max_cost`` alone.
        context.spent_cost = 0 if isinstance(conn, Request) else None
        try:
            yield context
        finally:
            context.release()  # after the answer is sent (FastAPI's dependency exit)

    schema = build_schema(settings)
    router = TandemGraphQLRouter(
        schema,
        # A FastAPI dependency with ``yield`` (Strawberry's type names plain ones).
        context_getter=get_context,  # type: ignore[arg-type]
        graphql_ide=None if settings.is_production else "graphiql",
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        multipart_uploads_enabled=False,
    )
    router.persisted = persisted or PersistedQueries.from_file(
        settings.persisted_queries_file
    )
    router.trusted_only = settings.trusted_queries_only and settings.is_production
    router.reveal_internal_errors = settings.environment == "development"

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await history.aclose()
            await upstreams.aclose()

    app = create_app(
        settings,
        title="Tandem gateway",
        version=VERSION,
        routers=[],
        lifespan=lifespan,
        token_verifier=verifier,
        readiness_checks={"subscriptions": _hub_ready(hub)},
        description="One GraphQL API over every Tandem service.",
    )
    app.include_router(router, prefix="/graphql")
    mount_dashboard(app, settings)
    app.state.schema = schema
    app.state.upstreams = upstreams
    app.state.hub = hub
    app.state.history = history
    app.state.persisted = router.persisted
    return app


def _hub_ready(hub: EventHub) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not hub.ready.is_set():
            raise RuntimeError("the subscription consumer has not started")

    return check


def __getattr__(name: str) -> Any:  # ``uvicorn gateway.main:app``
    if name == "app":
        return build_app()
    raise AttributeError(name)
