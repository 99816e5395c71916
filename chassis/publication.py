"""The one translator from stored events to published contracts (the relay's
``translate``); each service gives only its contracts and, where it has them, its
personal-data codec.

A stored event whose type has a contract is projected onto that contract model: fields
the contract does not name (names, emails, text ids, private references) never reach
the topic, and an event without a contract is not published. An event stored at an
older schema version is lifted by the contract's upcasters and published as the
current one. Personal fields stored
encrypted (``chassis.personal_data``) are decrypted for the consumers that need them;
once the person is erased they cannot be: an optional field is published empty, and an
event that needs one is withheld.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Protocol

from pydantic.fields import FieldInfo
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.envelope import Envelope
from chassis.events import EventRegistry, JsonDict, RecordedEvent, encode
from chassis.personal_data import ENCRYPTED


class Decoder(Protocol):
    """Opens an event's encrypted personal fields (``PersonalDataCipher.decode``)."""

    def decode(
        self, event: RecordedEvent, conn: AsyncConnection
    ) -> Awaitable[JsonDict]: ...


def _may_be_empty(field: FieldInfo) -> bool:
    return not field.is_required() and field.default is None


class Publication:
    """``translate`` for a service's relay: its stored events as its contracts."""

    def __init__(
        self,
        contracts: EventRegistry,
        source: str,
        *,
        engine: AsyncEngine | None = None,
        decoder: Decoder | None = None,
    ) -> None:
        if (engine is None) != (decoder is None):
            raise ValueError("a decoder needs the engine its keys live in")
        self.contracts = contracts
        self.source = source
        self._engine = engine
        self._decoder = decoder
        self._fields: dict[type, frozenset[str]] = {}  # per contract model

    async def __call__(self, event: RecordedEvent) -> list[Envelope]:
        if event.event_type not in self.contracts:
            return []
        model = self.contracts.model(event.event_type)
        data = event.data
        if event.schema_version < model.schema_version:
            # Stored before the contract's current version: lifted by its upcasters,
            # and published as the current version.
            data = self.contracts.upcast(event.event_type, event.schema_version, data)
            event = replace(event, data=data, schema_version=model.schema_version)
        fields = self._fields.get(model)
        if fields is None:
            fields = self._fields[model] = frozenset(model.model_fields)
        data = {k: v for k, v in data.items() if k in fields}
        sealed = [k for k, v in data.items() if isinstance(v, dict) and ENCRYPTED in v]
        if sealed:
            if self._engine is None or self._decoder is None:
                raise RuntimeError(
                    f"{event.event_type} holds sealed fields: no decoder"
                )
            async with self._engine.connect() as conn:
                data = await self._decoder.decode(replace(event, data=data), conn)
            shredded = [k for k in sealed if data.get(k) is None]
            if not all(_may_be_empty(model.model_fields[k]) for k in shredded):
                return []  # erased: what it said is gone
        payload = model.model_validate(data)
        return [Envelope.from_recorded(event, self.source, encode(payload))]
