"""What the profiles service publishes: each stored event projected onto its contract.

Fields that are not in the contract model (names, emails, employee ids, titles, free
text) never reach the topic. Events without a contract (consent) are not published. The
one personal field a contract carries, consented demographics, is decrypted here; once
the person is erased it cannot be, and the event is withheld.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.envelope import Envelope
from chassis.events import RecordedEvent, encode
from chassis.personal_data import ENCRYPTED, PersonalDataCipher
from contracts.profiles import registry as public

SOURCE = "tandem/profiles"


class Publication:
    def __init__(self, engine: AsyncEngine, cipher: PersonalDataCipher) -> None:
        self.engine = engine
        self.cipher = cipher

    async def __call__(self, event: RecordedEvent) -> list[Envelope]:
        if event.event_type not in public:
            return []
        model = public.model(event.event_type)
        data = {k: v for k, v in event.data.items() if k in model.model_fields}
        if any(isinstance(v, dict) and ENCRYPTED in v for v in data.values()):
            async with self.engine.connect() as conn:
                opened = await self.cipher.decode(replace(event, data=data), conn)
            if any(
                opened.get(k) is None for k, v in data.items() if isinstance(v, dict)
            ):
                return []  # erased: what it said is gone
            data = opened
        payload = model.model_validate(data)
        return [replace(Envelope.from_recorded(event, SOURCE), data=encode(payload))]
