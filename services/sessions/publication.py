"""What the sessions service publishes: each stored event projected onto its contract
(private references such as text ids stay here; events without a contract stay here)."""

from __future__ import annotations

from dataclasses import replace

from chassis.envelope import Envelope
from chassis.events import RecordedEvent, encode
from contracts.sessions import registry as public

SOURCE = "tandem/sessions"


def publication(event: RecordedEvent) -> list[Envelope]:
    if event.event_type not in public:
        return []
    model = public.model(event.event_type)
    payload = model.model_validate(
        {k: v for k, v in event.data.items() if k in model.model_fields}
    )
    return [replace(Envelope.from_recorded(event, SOURCE), data=encode(payload))]
