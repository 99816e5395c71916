"""Consumer lag and projection lag of insights: as OpenTelemetry metrics and as JSON."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from chassis.telemetry import setup_telemetry
from tests.insights.conftest import (
    ADMIN,
    COORDINATOR,
    TENANT,
    event,
    publish,
    until_facts,
)
from tests.profiles.conftest import token

OPERATOR = token(TENANT, "operator", sub="platform-operator")

pytestmark = pytest.mark.kafka


def points(reader: InMemoryMetricReader, name: str) -> list:
    data = reader.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


async def test_lag_figures_appear_as_metrics_and_on_the_admin_endpoint(
    insights, kafka_bootstrap
):
    app, client = insights
    reader = InMemoryMetricReader()
    handle = setup_telemetry("insights-lag-test", metric_reader=reader)
    try:
        rid = f"rel-lag-{uuid.uuid4().hex[:8]}"
        await publish(
            kafka_bootstrap,
            [
                event(
                    "sessions",
                    "CheckInRecorded",
                    rid,
                    {
                        "check_in_id": f"ci-{n}",
                        "relationship_id": rid,
                        "kind": "monthly",
                        "held_on": "2026-01-15",
                        "alignment": 3,
                    },
                )
                for n in range(5)
            ],
        )
        await until_facts(app, 5)
        assert (await client.get("/admin/lag", headers=COORDINATOR)).status_code == 403
        # Every tenant's figures are the operator's; an admin sees their own.
        refused = await client.get("/admin/lag?all_tenants=true", headers=ADMIN)
        assert refused.status_code == 403
        assert refused.json()["code"] == "OperatorRequired"
        own = (await client.get("/admin/lag", headers=ADMIN)).json()
        report = (
            await client.get("/admin/lag?all_tenants=true", headers=OPERATOR)
        ).json()
        consumer = app.state.runtime.consumer.name
        histogram = [
            p
            for p in points(reader, "tandem.projection.lag")
            if p.attributes.get("consumer") == consumer
        ]
        gauge = [
            p
            for p in points(reader, "tandem.consumer.offset_lag")
            if p.attributes.get("consumer") == consumer
        ]
    finally:
        handle.shutdown()

    assert own["scope"] == "tenant" and own["consumer_lag_messages"] is None
    assert own["projection_lag_ms"]["window"] >= 5
    assert own["applied_since_start"] <= report["applied_since_start"]
    assert report["scope"] == "all_tenants"
    assert report["consumer"] == consumer
    lag = report["projection_lag_ms"]
    assert lag["window"] >= 5 and report["applied_since_start"] >= 5
    assert 0 <= lag["p50"] <= lag["p99"] <= lag["max"]
    # Sampled from the broker just now: a whole number of messages behind.
    assert isinstance(report["consumer_lag_messages"], int)
    assert report["consumer_lag_messages"] >= 0
    assert sum(p.count for p in histogram) >= 5
    assert gauge and gauge[-1].value >= 0
