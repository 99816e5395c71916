"""``chassis.publication.Publication``: stored events as their published contracts."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

from chassis.events import (
    EventMetadata,
    EventPayload,
    EventRegistry,
    LogPosition,
    RecordedEvent,
    utcnow,
)
from chassis.publication import Publication

contracts = EventRegistry()


@contracts.register
class ThingDeclined(EventPayload):
    schema_version: ClassVar[int] = 2
    thing_id: str
    reason_code: str


@contracts.upcaster("ThingDeclined", 1)
def _reason_became_a_code(data: dict) -> dict:
    reason = data.pop("reason", "")
    return {**data, "reason_code": "busy" if "busy" in reason else "other"}


def stored(event_type: str, version: int, data: dict) -> RecordedEvent:
    return RecordedEvent(
        id=uuid.uuid4(),
        stream_id="thing-1",
        stream_type="Thing",
        version=1,
        event_type=event_type,
        schema_version=version,
        data=data,
        metadata=EventMetadata(tenant="acme", actor="someone"),
        time=utcnow(),
        position=LogPosition.START,
    )


def publish(event: RecordedEvent) -> list:
    return asyncio.run(Publication(contracts, "tandem/test")(event))


def test_only_the_contracts_fields_leave_and_uncontracted_events_stay():
    (out,) = publish(
        stored(
            "ThingDeclined",
            2,
            {"thing_id": "t", "reason_code": "busy", "private_note_id": "n-1"},
        )
    )
    assert out.data == {"thing_id": "t", "reason_code": "busy"}
    assert publish(stored("ConsentGiven", 1, {"person_id": "p"})) == []


def test_an_event_stored_at_an_older_version_is_published_as_the_current_one():
    (out,) = publish(
        stored("ThingDeclined", 1, {"thing_id": "t", "reason": "I am busy, sorry"})
    )
    assert out.data == {"thing_id": "t", "reason_code": "busy"}
    assert out.schema_version == 2
    # ... and typed on the wire as the current version, prefixed by its producer.
    assert out.type == "ThingDeclined"
    assert out.ce_type == "org.tandem.test.ThingDeclined.v2"


def test_the_kafka_headers_are_the_attributes_in_order_whatever_is_set() -> None:
    """``Envelope.kafka_headers`` builds the headers without the attributes' dict
    (the relay's hot path): the same names, values and order as ``attributes``."""
    from datetime import UTC, datetime, timedelta, timezone

    from chassis.envelope import Envelope

    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    bare = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="PersonRegistered",
        subject="",
        time=moment.replace(tzinfo=None),
        data={},
        tenant="acme",
    )
    full = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type="ThingDeclined",
        subject="thing-1",
        time=moment.astimezone(timezone(timedelta(hours=2))),
        data={"thing_id": "t"},
        tenant="acme",
        schema_version=2,
        stream_type="Thing",
        stream_version=7,
        actor="someone",
        correlation_id="c",
        causation_id="d",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    for envelope in (bare, full, bare, full):  # the moment written last, again
        expected = [("content-type", b"application/json")] + [
            (f"ce_{k}", v.encode()) for k, v in envelope.attributes().items()
        ]
        assert envelope.kafka_headers() == expected
    assert dict(full.kafka_headers())["ce_time"] == b"2026-03-01T12:00:00.123456Z"


def test_the_published_envelope_is_the_stored_events_with_the_contracts_data() -> None:
    from chassis.envelope import Envelope

    event = stored("ThingDeclined", 2, {"thing_id": "t-1", "reason_code": "busy"})
    [envelope] = publish(event)
    expected = Envelope.from_recorded(event, "tandem/test")
    assert envelope == expected


def test_events_read_with_the_same_metadata_share_it_and_keep_their_tenant() -> None:
    import json

    from chassis.eventstore.base import row_to_event

    def row(tenant: str, meta: dict) -> dict:
        return {
            "position": 1,
            "tx_id": 2,
            "event_id": uuid.uuid4(),
            "stream_id": "s",
            "stream_type": "Thing",
            "version": 1,
            "event_type": "ThingDeclined",
            "schema_version": 2,
            "tenant": tenant,
            "payload": json.dumps({"thing_id": "t"}),
            "metadata": json.dumps(meta),
            "event_time": utcnow(),
        }

    meta = {"actor": "a", "correlation_id": "c", "causation_id": None}
    one, two = row_to_event(row("acme", meta)), row_to_event(row("acme", meta))
    other = row_to_event(row("globex", meta))
    assert one.metadata == EventMetadata(tenant="acme", actor="a", correlation_id="c")
    assert two.metadata is one.metadata
    assert other.metadata.tenant == "globex" and other.metadata.actor == "a"
    assert row_to_event(row("acme", {"actor": "b"})).metadata.actor == "b"
