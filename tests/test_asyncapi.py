"""``docs/asyncapi.yaml`` documents every topic and event, and never drifts."""

from __future__ import annotations

import yaml

from contracts.asyncapi import OUTPUT, PRODUCERS, render


def test_the_asyncapi_document_matches_the_contracts():
    assert OUTPUT.read_text() == render(), (
        "docs/asyncapi.yaml is out of date: run `python -m contracts.asyncapi`"
    )


def test_every_event_of_every_producer_is_documented_with_its_schema():
    doc = yaml.safe_load(OUTPUT.read_text())
    for producer, registry in PRODUCERS.items():
        channel = doc["channels"][producer]
        assert channel["address"] == f"tandem.{producer}.v1"
        assert set(channel["messages"]) == set(registry.event_types)
        for event_type in registry.event_types:
            message = doc["components"]["messages"][event_type]
            assert message["payload"]["type"] == "object"
            assert (
                message["x-schema-version"] == registry.model(event_type).schema_version
            )
