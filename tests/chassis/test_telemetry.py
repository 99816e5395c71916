"""Tracing and metrics: server spans, trace propagation, re-entrant setup."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from chassis.http import create_app
from chassis.settings import ServiceSettings
from chassis.telemetry import (
    context_from_traceparent,
    current_traceparent,
    setup_telemetry,
    tracer,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"

router = APIRouter()


@router.get("/items/{item_id}")
async def item(item_id: str) -> dict[str, str | None]:
    return {"item": item_id, "traceparent": current_traceparent()}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("kaboom")


@pytest.fixture
def app() -> FastAPI:
    settings = ServiceSettings(service_name="telemetry-test", environment="test")
    return create_app(settings, title="t", version="1", routers=[router])


async def get(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return await c.get(path, **kwargs)


def server_spans(exporter: InMemorySpanExporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


async def test_request_yields_a_server_span_named_after_the_route(
    exporter: InMemorySpanExporter, app: FastAPI
) -> None:
    response = await get(app, "/items/42")
    assert response.status_code == 200
    [span] = server_spans(exporter)
    assert span.name == "GET /items/{item_id}"
    assert span.attributes["http.route"] == "/items/{item_id}"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["tandem.request_id"] == response.headers["x-request-id"]
    assert span.resource.attributes["service.name"]


async def test_incoming_traceparent_becomes_the_parent(
    exporter: InMemorySpanExporter, app: FastAPI
) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
    response = await get(app, "/items/7", headers={"traceparent": traceparent})
    [span] = server_spans(exporter)
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    # Inside the handler the current traceparent is the server span's own.
    own = f"{TRACE_ID}-{span.context.span_id:016x}"
    assert (
        response.json()["traceparent"]
        == f"00-{own}-{int(span.context.trace_flags):02x}"
    )


async def test_unhandled_error_marks_the_span_as_error(
    exporter: InMemorySpanExporter, app: FastAPI
) -> None:
    response = await get(app, "/boom")
    assert response.status_code == 500
    [span] = server_spans(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 500
    assert any(event.name == "exception" for event in span.events)


async def test_probes_are_not_traced(
    exporter: InMemorySpanExporter, app: FastAPI
) -> None:
    assert (await get(app, "/healthz")).status_code == 200
    assert server_spans(exporter) == []


def test_current_traceparent_matches_the_current_span(
    exporter: InMemorySpanExporter,
) -> None:
    assert current_traceparent() is None
    with tracer("test").start_as_current_span("work") as span:
        context = span.get_span_context()
        ids = f"{context.trace_id:032x}-{context.span_id:016x}"
        expected = f"00-{ids}-{int(context.trace_flags):02x}"
        assert current_traceparent() == expected


def test_context_from_traceparent_continues_the_trace(
    exporter: InMemorySpanExporter,
) -> None:
    parent = context_from_traceparent(f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01")
    with tracer("test").start_as_current_span("consume", context=parent) as span:
        assert format(span.get_span_context().trace_id, "032x") == TRACE_ID
    assert trace.get_current_span(context_from_traceparent(None)) is trace.INVALID_SPAN


def test_setup_twice_then_shutdown_detaches_only_its_exporter() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    first_handle = setup_telemetry("svc-a", span_exporter=first)
    second_handle = setup_telemetry("svc-b", span_exporter=second)
    try:
        with tracer("test").start_as_current_span("both"):
            pass
        second_handle.shutdown()
        with tracer("test").start_as_current_span("first-only"):
            pass
        assert [s.name for s in first.get_finished_spans()] == ["both", "first-only"]
        assert [s.name for s in second.get_finished_spans()] == ["both"]
    finally:
        first_handle.shutdown()
        second_handle.shutdown()  # idempotent


async def test_request_duration_metric_is_recorded(app: FastAPI) -> None:
    reader = InMemoryMetricReader()
    handle = setup_telemetry("telemetry-test", metric_reader=reader)
    try:
        await get(app, "/items/1")
        data = reader.get_metrics_data()
    finally:
        handle.shutdown()
    points = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.request.duration"
        for point in metric.data.data_points
    ]
    assert any(p.attributes.get("http.route") == "/items/{item_id}" for p in points)


def test_sdk_disabled_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    spans = InMemorySpanExporter()
    handle = setup_telemetry("disabled", span_exporter=spans)
    assert not handle.enabled
    with tracer("test").start_as_current_span("ignored"):
        pass
    handle.shutdown()
    assert spans.get_finished_spans() == ()


async def test_without_anyone_recording_no_span_is_built_and_the_trace_goes_on(
    app: FastAPI,
) -> None:
    from chassis.telemetry import spans_recorded

    if spans_recorded():  # pragma: no cover - a process exporting spans
        pytest.skip("spans are recorded in this process")
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
    response = await get(app, "/items/7", headers={"traceparent": traceparent})
    assert response.status_code == 200
    # What the request publishes carries the caller's trace on, unchanged (no span
    # of this service in between: nobody would see it).
    assert response.json()["traceparent"] == traceparent
    assert (await get(app, "/items/8")).json()["traceparent"] is None


def test_measurements_are_taken_while_a_reader_is_attached() -> None:
    from chassis.telemetry import metrics_recorded

    before = metrics_recorded()
    handle = setup_telemetry("telemetry-test", metric_reader=InMemoryMetricReader())
    try:
        assert metrics_recorded()
    finally:
        handle.shutdown()
    assert metrics_recorded() == before
