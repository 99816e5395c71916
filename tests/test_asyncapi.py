"""``docs/asyncapi.yaml`` documents every topic and event, and never drifts."""

from __future__ import annotations

import re

import yaml

from chassis.envelope import Envelope, producer_of
from chassis.events import NewEvent
from contracts.asyncapi import OUTPUT, PRODUCERS, render


def test_the_asyncapi_document_matches_the_contracts():
    assert OUTPUT.read_text() == render(), (
        "docs/asyncapi.yaml is out of date: run `python -m contracts.asyncapi`"
    )


def _own_headers(message: dict) -> dict:
    common, own = message["headers"]["allOf"]
    assert common == {"$ref": "#/components/schemas/CloudEventHeaders"}
    return own["properties"]


def test_every_event_of_every_producer_is_documented_with_its_schema():
    doc = yaml.safe_load(OUTPUT.read_text())
    for producer, registry in PRODUCERS.items():
        channel = doc["channels"][producer]
        assert channel["address"] == f"tandem.{producer}.v1"
        assert set(channel["messages"]) == set(registry.event_types)
        for event_type in registry.event_types:
            message = doc["components"]["messages"][event_type]
            version = registry.model(event_type).schema_version
            assert message["payload"]["type"] == "object"
            assert message["x-schema-version"] == version
            own = _own_headers(message)
            assert own["ce_type"]["const"] == (
                f"org.tandem.{producer}.{event_type}.v{version}"
            )
            assert own["ce_source"]["const"] == f"tandem/{producer}"
            assert own["ce_schemaversion"]["const"] == str(version)


def test_the_documented_headers_are_the_ones_sent():
    """Every header a published message carries is documented, under its exact
    name; the ones always sent are required; the type is the one on the wire."""
    doc = yaml.safe_load(OUTPUT.read_text())
    common = doc["components"]["schemas"]["CloudEventHeaders"]
    documented = set(common["properties"])
    assert "ce_datacontenttype" not in documented  # binding: content-type only
    assert common["properties"]["content-type"]["const"] == "application/json"
    pattern = re.compile(common["properties"]["ce_type"]["pattern"])
    bare = Envelope(
        id="9b1f2c3e-0000-4000-8000-000000000001",
        source="tandem/profiles",
        type="PersonRegistered",
        subject="person-1",
        time=NewEvent("x", {}).time,
        data={},
        tenant="acme",
        stream_type="Person",
        stream_version=1,
    )
    full = Envelope(
        **{
            **bare.__dict__,
            "actor": "a",
            "correlation_id": "c",
            "causation_id": "d",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        }
    )
    assert {k for k, _ in full.kafka_headers()} <= documented
    assert set(common["required"]) == {k for k, _ in bare.kafka_headers()}
    sent = dict(bare.kafka_headers())["ce_type"].decode()
    assert sent == "org.tandem.profiles.PersonRegistered.v1"
    assert pattern.fullmatch(sent)
    message = doc["components"]["messages"]["PersonRegistered"]
    assert _own_headers(message)["ce_type"]["const"] == sent
    assert producer_of(bare.source) == "profiles"
