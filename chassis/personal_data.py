"""Crypto-shredding: personal fields of a person's events are encrypted with that
person's own key; erasure destroys the key, and the stored events stop decrypting.

Each person's data key (AES-256-GCM) is itself encrypted with the service's master key
and kept in ``person_keys`` (in the service's own database). Every encrypted value is
bound (as associated data) to the person and the field, so a ciphertext cannot be moved
to another person or field. Any service whose events hold personal data (profiles,
advisors) uses this codec for the streams of people, keyed by the stream id.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import PersonGone
from chassis.events import EventPayload, EventRegistry, JsonDict, RecordedEvent, encode

ENCRYPTED = "$enc"


def _schema(engine: AsyncEngine) -> str:
    stamp = "TEXT" if is_sqlite(engine) else "TIMESTAMPTZ"
    return f"""
        CREATE TABLE IF NOT EXISTS person_keys (
            person_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            wrapped_key TEXT,
            created_at {stamp} NOT NULL DEFAULT CURRENT_TIMESTAMP,
            destroyed_at {stamp}
        )
    """


class PersonalDataCipher:
    """The event codec of person streams (see ``chassis.repository.EventCodec``)."""

    def __init__(self, master_key: bytes, registry: EventRegistry) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 in settings)")
        self._master = AESGCM(master_key)
        self.registry = registry

    @staticmethod
    async def create_schema(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.execute(text(_schema(engine)))

    # -- keys -------------------------------------------------------------------------

    def _wrap(self, person_id: str, key: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._master.encrypt(nonce, key, person_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def _unwrap(self, person_id: str, wrapped: str) -> bytes:
        raw = base64.b64decode(wrapped)
        return self._master.decrypt(raw[:12], raw[12:], person_id.encode())

    async def key(
        self, person_id: str, conn: AsyncConnection, *, tenant: str | None = None
    ) -> bytes | None:
        """The person's data key; created when ``tenant`` is given and none exists.

        None when the key was destroyed (the person is erased).
        """
        row = (
            await conn.execute(
                text(
                    "SELECT wrapped_key, destroyed_at FROM person_keys WHERE person_id = :p"
                ),
                {"p": person_id},
            )
        ).first()
        if row is not None:
            return (
                None
                if row.wrapped_key is None
                else self._unwrap(person_id, row.wrapped_key)
            )
        if tenant is None:
            return None
        key = AESGCM.generate_key(bit_length=256)
        await conn.execute(
            text(
                "INSERT INTO person_keys (person_id, tenant, wrapped_key) "
                "VALUES (:p, :t, :k)"
            ),
            {"p": person_id, "t": tenant, "k": self._wrap(person_id, key)},
        )
        return key

    async def destroy(self, person_id: str, conn: AsyncConnection) -> None:
        """Crypto-shred: without the key, no stored personal field decrypts again."""
        await conn.execute(
            text(
                "UPDATE person_keys SET wrapped_key = NULL, "
                "destroyed_at = CURRENT_TIMESTAMP WHERE person_id = :p"
            ),
            {"p": person_id},
        )

    # -- the codec ---------------------------------------------------------------------

    async def encode(
        self, stream_id: str, tenant: str, payload: EventPayload, conn: AsyncConnection
    ) -> JsonDict:
        data = encode(payload)
        fields = [f for f in payload.personal_fields if data.get(f) is not None]
        if not fields:
            return data
        key = await self.key(stream_id, conn, tenant=tenant)
        if key is None:
            raise PersonGone(f"person {stream_id} was erased")
        aead = AESGCM(key)
        for name in fields:
            nonce = os.urandom(12)
            plain = json.dumps(data[name], separators=(",", ":")).encode()
            sealed = aead.encrypt(nonce, plain, f"{stream_id}/{name}".encode())
            data[name] = {ENCRYPTED: base64.b64encode(nonce + sealed).decode()}
        return data

    async def decode(self, event: RecordedEvent, conn: AsyncConnection) -> JsonDict:
        """Decrypted data; personal fields read as None once the key is destroyed."""
        sealed = [
            k for k, v in event.data.items() if isinstance(v, dict) and ENCRYPTED in v
        ]
        if not sealed:
            return event.data
        key = await self.key(event.stream_id, conn)
        data = dict(event.data)
        aead = AESGCM(key) if key is not None else None
        for name in sealed:
            data[name] = _open(aead, event.stream_id, name, data[name][ENCRYPTED])
        return data


def _open(aead: AESGCM | None, person_id: str, name: str, blob: str) -> Any:
    if aead is None:
        return None
    raw = base64.b64decode(blob)
    try:
        plain = aead.decrypt(raw[:12], raw[12:], f"{person_id}/{name}".encode())
    except InvalidTag:
        return None
    return json.loads(plain)
