"""One trace from a GraphQL mutation to the insights projection.

The gateway, profiles and insights run under uvicorn in this process (real HTTP between
them, real PostgreSQL and Kafka), with an in-memory span exporter attached. In one
process the OpenTelemetry resource is shared, so which service made a span is read from
its ``tandem.service`` attribute (see ``chassis.telemetry``); in a deployment each
process's resource carries ``service.name``, checked in ``test_process_resource``.
The same run checks that relay, consumer and projection lag reach a metric reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

from chassis.telemetry import SERVICE_ATTRIBUTE, setup_telemetry
from tests.gateway.platform import new_tenant, running_platform, token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

REGISTER = """
mutation RegisterPerson($i: RegisterPersonInput!) {
  registerPerson(input: $i) { __typename ... on PersonSuccess { person { id } } }
}
"""
EMAIL = "ada.lovelace@acme.example"
DETAILS = {
    "givenName": "Ada",
    "familyName": "Lovelace",
    "email": EMAIL,
    "level": 6,
    "businessUnit": "Retail",
    "function": "Technology",
    "geography": "GB",
    "timeZone": "Europe/London",
    "employeeId": "A1",
}


def _one(spans: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind is kind]
    assert len(found) == 1, (name, kind, [(s.name, s.kind) for s in spans])
    return found[0]


def exported(reader: InMemoryMetricReader) -> dict[str, dict[tuple[str, str], float]]:
    """metric name → (attribute, value) → histogram count or gauge value."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    figure = getattr(point, "count", None)
                    if figure is None:
                        figure = point.value
                    for item in (point.attributes or {}).items():
                        out.setdefault(metric.name, {})[item] = figure
    return out


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """Span names from ``span`` up to the root; fails on a missing parent."""
    names = [span.name]
    while span.parent is not None:
        parent = by_id.get(span.parent.span_id)
        assert parent is not None, f"{span.name}'s parent is not in the trace"
        span = parent
        names.append(span.name)
    return names


async def test_a_mutation_is_one_trace_to_the_insights_projection(
    postgres_server, kafka_bootstrap
) -> None:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry(
        "observability-test", span_exporter=exporter, metric_reader=reader
    )
    try:
        async with running_platform(
            postgres_server, kafka_bootstrap, services=("profiles", "insights")
        ) as platform:
            admin = token("admin-1", new_tenant(), "admin")
            operator = token("ops-1", new_tenant(), "operator")
            body = await platform.graphql(
                REGISTER, {"i": {"details": DETAILS}}, bearer=admin
            )
            assert body["data"]["registerPerson"]["__typename"] == "PersonSuccess"

            def consumed() -> list[ReadableSpan]:
                # Other tests' PersonRegistered events share the topic: only the one
                # in this mutation's trace counts.
                finished = exporter.get_finished_spans()
                ours = {
                    s.context.trace_id for s in finished if s.name == "POST /graphql"
                }
                return [
                    s
                    for s in finished
                    if s.name == "consume PersonRegistered"
                    and s.context.trace_id in ours
                ]

            await until(
                consumed, "insights to project PersonRegistered", 60, interval_s=0.05
            )

            async def applied() -> dict[str, Any] | None:
                # The broker's offset lag spans every tenant: an operator's view.
                lag = await platform.service(
                    "insights",
                    "GET",
                    "/admin/lag?all_tenants=true",
                    bearer=operator,
                )
                assert lag.status_code == 200, lag.text
                body: dict[str, Any] = lag.json()
                return body if body["applied_since_start"] >= 1 else None

            # insights' lag report samples the consumer's offset lag now.
            lag = await until(
                applied, "insights' lag report to count it", 60, interval_s=0.05
            )
            assert lag["consumer_lag_messages"] is not None
            metrics = exported(reader)
    finally:
        telemetry.shutdown()

    consume = consumed()[0]
    trace_id = consume.context.trace_id
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in spans}

    gateway_http = _one(spans, "POST /graphql", SpanKind.SERVER)
    operation = _one(spans, "GraphQL Query: RegisterPerson", SpanKind.SERVER)
    resolver = _one(spans, "GraphQL Resolving: registerPerson", SpanKind.INTERNAL)
    service_http = _one(spans, "POST /people", SpanKind.SERVER)
    append = _one(spans, "append Person", SpanKind.INTERNAL)
    publish = _one(spans, "publish PersonRegistered", SpanKind.PRODUCER)
    assert consume.kind is SpanKind.CONSUMER

    # The parent chain is unbroken from the projection back to the GraphQL request.
    assert _chain(consume, by_id) == [
        consume.name,
        publish.name,
        service_http.name,
        resolver.name,
        operation.name,
        gateway_http.name,
    ]
    assert _chain(append, by_id)[:2] == [append.name, service_http.name]
    assert gateway_http.parent is None, "the client sent no trace: the gateway roots it"

    services = {
        s.name: s.attributes[SERVICE_ATTRIBUTE]
        for s in (gateway_http, operation, resolver, service_http, append, publish)
    }
    assert services == {
        gateway_http.name: "gateway",
        operation.name: "gateway",
        resolver.name: "gateway",
        service_http.name: "profiles",
        append.name: "profiles",
        publish.name: "profiles",
    }
    assert consume.attributes[SERVICE_ATTRIBUTE] == "insights"
    assert consume.attributes["messaging.destination.name"] == "tandem.profiles.v1"
    assert all(s.resource.attributes.get("service.name") for s in spans)

    # The three lags an operator watches are exported, per topic or consumer group.
    assert metrics["tandem.relay.lag"][("topic", "tandem.profiles.v1")] >= 1
    assert metrics["tandem.projection.lag"][("consumer", "tandem.insights")] >= 1
    assert ("consumer", "tandem.insights") in metrics["tandem.consumer.offset_lag"]

    # Personal data stays out of traces (the resolver's arguments are not recorded).
    recorded = " ".join(
        str(value) for s in spans for value in (s.attributes or {}).values()
    )
    assert EMAIL not in recorded
    assert "Lovelace" not in recorded
