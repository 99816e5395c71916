"""A service built the way every Tandem service is, on real PostgreSQL and Kafka.

HTTP request (authenticated) → append → relay → Kafka → another service's consumer:
probes report both dependencies, auth is enforced, and one trace covers it all.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter, Depends
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.auth.tokens import mint_token
from chassis.events import NewEvent
from chassis.http import create_app, metadata_for
from chassis.runtime import ServiceRuntime
from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings
from chassis.telemetry import setup_telemetry
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


def token(tenant: str, *roles: str) -> dict[str, str]:
    jwt = mint_token(
        DEFAULT_DEV_SECRET, "user-1", tenant, list(roles), "tandem-dev", "tandem"
    )
    return {"Authorization": f"Bearer {jwt}"}


def things_app(settings: ServiceSettings) -> tuple:
    runtime = ServiceRuntime(settings)
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def add_thing(
        body: dict, principal: Principal = Depends(require_roles(Role.COORDINATOR))
    ) -> dict:
        stream = f"thing-{uuid.uuid4()}"
        await runtime.store.append(
            stream,
            "Thing",
            0,
            [NewEvent("ThingHappened", {"name": body.get("name", "")})],
            metadata_for(principal),
        )
        runtime.relay.notify()
        return {"id": stream}

    app = create_app(
        settings,
        title="things",
        version="0.0.1",
        routers=[router],
        readiness_checks=runtime.readiness_checks(),
        lifespan=runtime.lifespan,
    )
    return app, runtime


async def test_request_to_consumer_in_one_trace(postgres_server, kafka_bootstrap):
    suffix = uuid.uuid4().hex[:6]
    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry("things-test", span_exporter=exporter)
    common = {"environment": "test", "kafka_bootstrap_servers": kafka_bootstrap}
    app, _runtime = things_app(
        ServiceSettings(
            service_name=f"things{suffix}",
            database_url=postgres_server.create_database(),
            **common,
        )
    )
    seen: list[str] = []

    async def on_thing(envelope, conn) -> None:
        await conn.execute(text("SELECT 1"))
        seen.append(envelope.data["name"])

    watcher = ServiceRuntime(
        ServiceSettings(
            service_name=f"watcher{suffix}",
            database_url=postgres_server.create_database(),
            **common,
        ),
        consumes=[f"tandem.things{suffix}.v1"],
        handlers={"ThingHappened": on_thing},
    )
    try:
        async with app.router.lifespan_context(app):
            await watcher.start()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                ready = await c.get("/readyz")
                assert ready.status_code == 200, ready.text
                assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

                assert (await c.post("/things", json={})).status_code == 401
                mentee = await c.post(
                    "/things", json={}, headers=token("acme", "mentee")
                )
                assert mentee.status_code == 403
                assert mentee.headers["content-type"] == "application/problem+json"

                created = await c.post(
                    "/things",
                    json={"name": "kick-off"},
                    headers=token("acme", "coordinator"),
                )
                assert created.status_code == 201, created.text
            try:
                await until(lambda: seen, "the event consumed", 60, interval_s=0.05)
            finally:
                await watcher.stop()
    finally:
        telemetry.shutdown()

    assert seen == ["kick-off"]
    spans = exporter.get_finished_spans()
    server = next(
        s
        for s in spans
        if s.kind == SpanKind.SERVER
        and s.name == "POST /things"
        and s.attributes.get("http.response.status_code") == 201
    )
    consume = next(s for s in spans if s.name == "consume ThingHappened")
    publish = next(s for s in spans if s.name == "publish ThingHappened")
    assert publish.context.trace_id == server.context.trace_id
    assert consume.context.trace_id == server.context.trace_id
    assert consume.parent.span_id == publish.context.span_id
