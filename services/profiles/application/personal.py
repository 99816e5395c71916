"""Whose key seals an event's personal fields: the person the event is about.

A person's own stream is keyed by their id; a cohort's stream holds events about its
participants (a withdrawal's reason, in their words), so those fields are sealed with
the participant's key, not the cohort's: erasing the person shreds them as well.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, JsonDict, RecordedEvent
from chassis.personal_data import PersonalDataCipher


class PersonFields:
    """The event codec of every profiles stream that holds personal fields."""

    def __init__(self, cipher: PersonalDataCipher) -> None:
        self.cipher = cipher

    async def encode(
        self, stream_id: str, tenant: str, payload: EventPayload, conn: AsyncConnection
    ) -> JsonDict:
        owner = getattr(payload, "person_id", None) or stream_id
        return await self.cipher.encode(owner, tenant, payload, conn)

    async def decode(self, event: RecordedEvent, conn: AsyncConnection) -> JsonDict:
        """Decrypted data; personal fields read as None once the key is destroyed."""
        owner = event.data.get("person_id") or event.stream_id
        return await self.cipher.decode(replace(event, stream_id=owner), conn)
