"""The published language as an AsyncAPI 3.0 document (``docs/asyncapi.yaml``).

    python -m contracts.asyncapi          # regenerate docs/asyncapi.yaml

Every producer's topic is a channel; every event type on it is a message whose
payload schema is its contract model's JSON Schema, carried as a binary-mode
CloudEvent (``content-type`` and ``ce_*`` headers, JSON value; see
``chassis/envelope.py``) whose ``ce_type`` is
``org.tandem.<producer>.<EventName>.v<schema version>``. A test fails when the file
drifts from the contracts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from chassis.envelope import CONTENT_TYPE, CONTENT_TYPE_HEADER, SPEC_VERSION, ce_type
from chassis.events import EventRegistry
from chassis.messaging import topic_for
from contracts import (
    advisors,
    insights,
    matching,
    notifications,
    profiles,
    sessions,
)

PRODUCERS: dict[str, EventRegistry] = {
    "profiles": profiles.registry,
    "matching": matching.registry,
    "sessions": sessions.registry,
    "advisors": advisors.registry,
    "insights": insights.registry,
    "notifications": notifications.registry,
}
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"

CLOUD_EVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 in the Kafka protocol binding's binary content "
    "mode: `datacontenttype` is the `content-type` header (no `ce_datacontenttype`), "
    "every other attribute a `ce_` header; the value is the JSON payload and the "
    "key the stream id. Consumers of this release also accept the shape sent before "
    "it (bare `ce_type` such as `PersonRegistered`, and `ce_datacontenttype`).",
    "required": [
        CONTENT_TYPE_HEADER,
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "ce_tenant",
        "ce_schemaversion",
        "ce_streamtype",
        "ce_streamversion",
        "ce_partitionkey",
    ],
    "properties": {
        CONTENT_TYPE_HEADER: {
            "type": "string",
            "const": CONTENT_TYPE,
            "description": "The `datacontenttype` attribute.",
        },
        "ce_specversion": {"type": "string", "const": SPEC_VERSION},
        "ce_id": {"type": "string", "description": "Event id (UUID), unique."},
        "ce_source": {
            "type": "string",
            "description": "Producing service: `tandem/<producer>`.",
        },
        "ce_type": {
            "type": "string",
            "pattern": r"^org\.tandem\.[a-z0-9-]+\.[A-Za-z][A-Za-z0-9_]*"
            r"\.v[1-9][0-9]*$",
            "description": "`org.tandem.<producer>.<EventName>.v<schema version>`.",
        },
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "description": "When it happened (RFC 3339, UTC).",
        },
        "ce_subject": {"type": "string", "description": "Stream (aggregate) id."},
        "ce_tenant": {"type": "string", "description": "Organisation."},
        "ce_schemaversion": {
            "type": "string",
            "description": "Payload version (the `v<N>` of `ce_type`).",
        },
        "ce_streamtype": {"type": "string", "description": "Aggregate type."},
        "ce_streamversion": {"type": "string", "description": "Version in stream."},
        "ce_partitionkey": {"type": "string", "description": "Kafka key (stream)."},
        "ce_actor": {"type": "string", "description": "Who caused it."},
        "ce_correlationid": {"type": "string"},
        "ce_causationid": {"type": "string"},
        "ce_traceparent": {
            "type": "string",
            "description": "W3C trace context of the request that recorded it.",
        },
        "traceparent": {
            "type": "string",
            "description": "W3C trace context of the publish span (not a CloudEvents "
            "attribute).",
        },
        "tracestate": {
            "type": "string",
            "description": "W3C trace state, when there is one (not a CloudEvents "
            "attribute).",
        },
    },
}


def message_headers(producer: str, event_type: str, schema_version: int) -> Any:
    """The headers of one event: the common ones, with its own type and source."""
    return {
        "allOf": [
            {"$ref": "#/components/schemas/CloudEventHeaders"},
            {
                "type": "object",
                "properties": {
                    "ce_type": {
                        "type": "string",
                        "const": ce_type(producer, event_type, schema_version),
                    },
                    "ce_source": {"type": "string", "const": f"tandem/{producer}"},
                    "ce_schemaversion": {
                        "type": "string",
                        "const": str(schema_version),
                    },
                },
            },
        ]
    }


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for producer, registry in PRODUCERS.items():
        topic = topic_for(producer)
        refs = {}
        for event_type in registry.event_types:
            model = registry.model(event_type)
            schema = model.model_json_schema(ref_template="#/$defs/{model}")
            messages[event_type] = {
                "name": event_type,
                "title": event_type,
                "summary": (model.__doc__ or event_type).strip().splitlines()[0],
                "contentType": CONTENT_TYPE,
                "headers": message_headers(producer, event_type, model.schema_version),
                "payload": schema,
                "x-schema-version": model.schema_version,
                "x-personal-fields": list(model.personal_fields),
            }
            refs[event_type] = {"$ref": f"#/components/messages/{event_type}"}
        channels[producer] = {
            "address": topic,
            "description": f"Events the {producer} service publishes, keyed by "
            "stream id (one stream's events stay in order).",
            "messages": refs,
        }
        operations[f"{producer}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{producer}"},
            "summary": f"{producer} publishes its domain events",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tandem events",
            "version": "1",
            "description": "The domain events Tandem's services publish to Kafka. "
            "Generated from contracts/ by `python -m contracts.asyncapi`.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"CloudEventHeaders": CLOUD_EVENT_HEADERS},
            "messages": messages,
        },
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=88)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.output.write_text(render())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
