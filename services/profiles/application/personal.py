"""Whose key seals an event's personal fields: the person the event is about.

A person's own stream is keyed by their id; a cohort's stream holds events about its
participants (a withdrawal's reason, in their words), so those fields are sealed with
the participant's key, not the cohort's: erasing the person shreds them as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

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

    # With the keys in hand (a bulk write fetched them at once): no look-up per event.

    def encode_with(
        self, keys: Mapping[str, Any], stream_id: str, payload: EventPayload
    ) -> JsonDict:
        owner = getattr(payload, "person_id", None) or stream_id
        return self.cipher.encode_with(keys.get(owner), owner, payload)

    def decode_with(self, keys: Mapping[str, Any], event: RecordedEvent) -> JsonDict:
        owner = event.data.get("person_id") or event.stream_id
        return self.cipher.decode_with(keys.get(owner), replace(event, stream_id=owner))
