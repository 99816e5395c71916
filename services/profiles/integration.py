"""What the profiles service publishes: each stored event projected onto its contract.

Fields that are not in the contract model (names, emails, employee ids, titles,
motivations) never reach the topic. Events without a contract (consent) are not
published. A contract's personal fields (demographics, a mentor's industries, a
mentee's lacking experiences, a withdrawal's reason) are decrypted here, for the
consumers that need them; once the person is erased they cannot be: an optional one is
published empty, and an event that needs one is withheld.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic.fields import FieldInfo
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.envelope import Envelope
from chassis.events import RecordedEvent, encode
from chassis.personal_data import ENCRYPTED
from contracts.profiles import registry as public
from services.profiles.application.personal import PersonFields

SOURCE = "tandem/profiles"


def _may_be_empty(field: FieldInfo) -> bool:
    return not field.is_required() and field.default is None


class Publication:
    def __init__(self, engine: AsyncEngine, codec: PersonFields) -> None:
        self.engine = engine
        self.codec = codec

    async def __call__(self, event: RecordedEvent) -> list[Envelope]:
        if event.event_type not in public:
            return []
        model = public.model(event.event_type)
        data = {k: v for k, v in event.data.items() if k in model.model_fields}
        sealed = [k for k, v in data.items() if isinstance(v, dict) and ENCRYPTED in v]
        if sealed:
            async with self.engine.connect() as conn:
                data = await self.codec.decode(replace(event, data=data), conn)
            shredded = [k for k in sealed if data.get(k) is None]
            if not all(_may_be_empty(model.model_fields[k]) for k in shredded):
                return []  # erased: what it said is gone
        payload = model.model_validate(data)
        return [replace(Envelope.from_recorded(event, SOURCE), data=encode(payload))]
