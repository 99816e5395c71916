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
