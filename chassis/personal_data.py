"""Crypto-shredding: personal fields of a person's events are encrypted with that
person's own key; erasure destroys the key, and the stored events stop decrypting.

Each person's data key (AES-256-GCM) is itself encrypted with the service's master key
and kept in ``person_keys`` (in the service's own database). Every encrypted value is
bound (as associated data) to the person and the field, so a ciphertext cannot be moved
to another person or field. Any service whose events hold personal data (profiles,
advisors) uses this codec for the streams of people, keyed by the stream id.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import PersonGone
from chassis.events import EventPayload, EventRegistry, JsonDict, RecordedEvent, encode
from chassis.tables import create, person_keys

ENCRYPTED = "$enc"
# Compact JSON of a sealed value, built once (``json.dumps`` with arguments builds an
# encoder per call, and a bulk write seals a dozen values per person).
_JSON = json.JSONEncoder(separators=(",", ":"))
_JSON_STR = json.JSONEncoder(separators=(",", ":"), default=str)
SEALED = "sealed:v1:"  # the prefix of a sealed current-state column value
# What both encoders give for a ``str`` (``ensure_ascii``), without their ``encode``
# method's frame: most sealed values are text. ``_b64``'s body, likewise inlined.
_json_str = json.encoder.encode_basestring_ascii
_b2a = binascii.b2a_base64


class _Random:
    """Fresh random bytes (nonces, keys) drawn from the OS a few KiB at a time: a
    bulk write seals a dozen values per person, and a system call for each 12-byte
    nonce cost more than the encryption. Every byte is handed out once (a lock
    guards the position, as threads may seal too; a forked child starts afresh)."""

    POOL = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def __call__(self, n: int) -> bytes:
        with self._lock:
            if self._at + n > len(self._pool):
                self._pool = os.urandom(max(self.POOL, n))
                self._at = 0
            out = self._pool[self._at : self._at + n]
            self._at += n
            return out

    def forget(self) -> None:
        """Drop the pool (a forked child must never hand out its parent's bytes)."""
        self._pool, self._at = b"", 0


_random = _Random()
os.register_at_fork(after_in_child=_random.forget)


def random_uuid() -> uuid.UUID:
    """``uuid.uuid4()`` from the pooled random bytes (no system call per id): a bulk
    write draws two ids per person (the person's and their first event's)."""
    return uuid.UUID(bytes=_random(16), version=4)


def random_uuid_text() -> str:
    """``str(uuid.uuid4())`` from the pooled random bytes, without the ``UUID``."""
    raw = bytearray(_random(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class PersonalDataCipher:
    """The event codec of person streams (see ``chassis.repository.EventCodec``)."""

    def __init__(self, master_key: bytes, registry: EventRegistry) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 in settings)")
        self._master = AESGCM(master_key)
        self._index_key = hmac.new(
            master_key, b"tandem blind index v1", hashlib.sha256
        ).digest()
        # The blind index's HMAC with its key already taken in: each index copies
        # it (a one-shot ``hmac.digest`` looks the hash up and keys it every time,
        # twice the CPU, and an import takes several indexes per person).
        self._index_hmac = hmac.new(self._index_key, digestmod=hashlib.sha256)
        self.registry = registry

    @staticmethod
    async def create_schema(engine: AsyncEngine) -> None:
        await create(engine, person_keys)

    # -- keys -------------------------------------------------------------------------

    def _wrap(self, person_id: str, key: bytes, nonce: bytes | None = None) -> str:
        nonce = nonce or _random(12)
        sealed = self._master.encrypt(nonce, key, person_id.encode())
        return _b64(nonce + sealed)

    def _unwrap(self, person_id: str, wrapped: str) -> bytes:
        raw = _unb64(wrapped)
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
        # A concurrent first write for the same person finds the other's key
        # instead of failing (or of replacing it).
        await conn.execute(
            text(
                "INSERT INTO person_keys (person_id, tenant, wrapped_key) "
                "VALUES (:p, :t, :k) ON CONFLICT (person_id) DO NOTHING"
            ),
            {
                "p": person_id,
                "t": tenant,
                "k": self._wrap(person_id, AESGCM.generate_key(bit_length=256)),
            },
        )
        return await self.key(person_id, conn)

    def open_key(self, person_id: str, wrapped: str | None) -> AESGCM | None:
        """A person's key from its wrapped form, read by the caller's own query
        (a page joining ``person_keys``); None when it was destroyed."""
        return None if wrapped is None else AESGCM(self._unwrap(person_id, wrapped))

    async def destroy(self, person_id: str, conn: AsyncConnection) -> None:
        """Crypto-shred: without the key, no stored personal field decrypts again."""
        await conn.execute(
            text(
                "UPDATE person_keys SET wrapped_key = NULL, "
                "destroyed_at = CURRENT_TIMESTAMP WHERE person_id = :p"
            ),
            {"p": person_id},
        )

    # -- current-state columns -------------------------------------------------------
    #
    # A current-state table keeps a person's personal columns sealed with the same key
    # as their events (``seal``), so a database reader, a backup or a dead row version
    # holds ciphertext only, and destroying the key at erasure shreds every copy. A
    # column that must be looked up or kept unique (an email, an employee id) gets a
    # blind index beside it (``blind_index``: a keyed HMAC, not reversible without
    # the master key). Reads of a page fetch every row's key in one query
    # (``keys_for``) and open in Python (``open``).

    async def seal(
        self,
        conn: AsyncConnection,
        tenant: str,
        person_id: str,
        table: str,
        values: Mapping[str, Any],
    ) -> dict[str, str | None]:
        """``values`` sealed with the person's key (created if needed); None stays
        None. Raises ``PersonGone`` when the person was erased."""
        if all(v is None for v in values.values()):
            return {c: None for c in values}
        key = await self.key(person_id, conn, tenant=tenant)
        return self.seal_with(
            None if key is None else AESGCM(key), person_id, table, values
        )

    @staticmethod
    def seal_with(
        aead: AESGCM | None, person_id: str, table: str, values: Mapping[str, Any]
    ) -> dict[str, str | None]:
        """``seal`` with the person's key in hand (from ``keys_for_writing``);
        ``PersonGone`` when it was destroyed."""
        if all(v is None for v in values.values()):
            return {c: None for c in values}
        if aead is None:
            raise PersonGone(f"person {person_id} was erased")
        # Every value's nonce drawn at once (12 bytes each, each handed out once);
        # each value sealed as ``_seal_column`` seals it, in one loop (a bulk write
        # seals half a dozen values per person).
        nonces = _random(12 * len(values))
        encrypt, prefix = aead.encrypt, f"{person_id}/{table}."
        sealed: dict[str, str | None] = {}
        at = 0
        for column, value in values.items():
            if value is None:
                sealed[column] = None
            else:
                nonce = nonces[at : at + 12]
                plain = (
                    _json_str(value) if type(value) is str else _JSON_STR.encode(value)
                ).encode()
                cipher = encrypt(nonce, plain, (prefix + column).encode())
                sealed[column] = SEALED + _b2a(nonce + cipher, newline=False).decode()
            at += 12
        return sealed

    async def keys_for_writing(
        self, conn: AsyncConnection, tenant: str, person_ids: Iterable[str]
    ) -> dict[str, AESGCM | None]:
        """The data keys of ``person_ids``, created for those who have none, in at
        most three statements whatever their number (None: the key was destroyed).

        What a bulk write (an HRIS import) seals with, instead of one ``key`` look-up
        per value; a concurrent first write for the same person finds the other's key.
        """
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        found = await self._wrapped_keys(conn, ids)
        missing = [p for p in ids if p not in found]
        created = await self._insert_keys(conn, tenant, missing, found)
        return {p: created.get(p) or self.open_key(p, found.get(p)) for p in ids}

    async def create_keys(
        self, conn: AsyncConnection, tenant: str, person_ids: Iterable[str]
    ) -> dict[str, AESGCM | None]:
        """``keys_for_writing`` for people expected to be new (ids just chosen for
        them): their keys are created first, in one statement, and only those found
        to exist already (a concurrent writer's, a destroyed one) are read back.
        Each person still gets a key of their own, wrapped on its own, so destroying
        one shreds that person alone."""
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        found: dict[str, str | None] = {}
        created = await self._insert_keys(conn, tenant, ids, found)
        return {p: created.get(p) or self.open_key(p, found.get(p)) for p in ids}

    async def _insert_keys(
        self,
        conn: AsyncConnection,
        tenant: str,
        missing: list[str],
        found: dict[str, str | None],
    ) -> dict[str, AESGCM]:
        """New keys for ``missing`` (one statement); the wrapped keys of those who
        had one meanwhile are added to ``found``."""
        if not missing:
            return {}
        drawn = _random(44 * len(missing))  # a key and its wrap's nonce each
        fresh = {p: drawn[44 * n : 44 * n + 32] for n, p in enumerate(missing)}
        wrapped = [
            self._wrap(p, key, drawn[44 * n + 32 : 44 * n + 44])
            for n, (p, key) in enumerate(fresh.items())
        ]
        if is_sqlite(conn.engine):
            await conn.execute(
                text(
                    "INSERT INTO person_keys (person_id, tenant, wrapped_key) "
                    "VALUES (:p, :t, :k) ON CONFLICT (person_id) DO NOTHING"
                ),
                [
                    {"p": p, "t": tenant, "k": k}
                    for p, k in zip(fresh, wrapped, strict=True)
                ],
            )
            stored: set[str] = set()
        else:  # one statement; the keys it stored need no reading back
            result = await conn.execute(
                text(
                    "INSERT INTO person_keys (person_id, tenant, wrapped_key) "
                    "SELECT p, :t, k FROM unnest(CAST(:p AS text[]), "
                    "CAST(:k AS text[])) AS n(p, k) ON CONFLICT (person_id) DO NOTHING "
                    "RETURNING person_id"
                ),
                {"p": list(fresh), "t": tenant, "k": wrapped},
            )
            stored = set(result.scalars())
        others = [p for p in missing if p not in stored]
        if others:  # written meanwhile by another writer (or SQLite): read
            found.update(await self._wrapped_keys(conn, others))
        return {p: AESGCM(fresh[p]) for p in stored}

    async def _wrapped_keys(
        self, conn: AsyncConnection, ids: list[str]
    ) -> dict[str, str | None]:
        if is_sqlite(conn.engine):
            rows = await conn.execute(
                text(
                    "SELECT person_id, wrapped_key FROM person_keys "
                    "WHERE person_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": ids},
            )
        else:  # one array parameter, not one bound value per id
            rows = await conn.execute(
                text(
                    "SELECT person_id, wrapped_key FROM person_keys "
                    "WHERE person_id = ANY(CAST(:ids AS text[]))"
                ),
                {"ids": ids},
            )
        return {row.person_id: row.wrapped_key for row in rows}

    async def keys_for(
        self, conn: AsyncConnection, person_ids: Iterable[str]
    ) -> dict[str, AESGCM | None]:
        """The data keys of ``person_ids`` in one query (None: erased or unknown)."""
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        found: dict[str, AESGCM | None] = {p: None for p in ids}
        for person_id, wrapped in (await self._wrapped_keys(conn, ids)).items():
            if wrapped is not None:
                found[person_id] = AESGCM(self._unwrap(person_id, wrapped))
        return found

    @staticmethod
    def open(
        aead: AESGCM | None, person_id: str, table: str, column: str, value: Any
    ) -> Any:
        """A sealed column's value (None once the key is gone or tampered with);
        a value stored before sealing (no prefix) is returned as it is."""
        if not isinstance(value, str) or not value.startswith(SEALED):
            return value
        if aead is None:
            return None
        return _open(aead, person_id, f"{table}.{column}", value[len(SEALED) :])

    def blind_index(self, tenant: str, kind: str, value: str | None) -> str | None:
        """A keyed, deterministic digest of ``value`` for equality look-ups and
        uniqueness (``kind`` separates e.g. emails from employee ids)."""
        if value is None:
            return None
        mac = self._index_hmac.copy()  # HMAC-SHA256 under the index key
        mac.update(f"{tenant}\x1f{kind}\x1f{value}".encode())
        return mac.hexdigest()

    # -- the codec ---------------------------------------------------------------------

    async def encode(
        self, stream_id: str, tenant: str, payload: EventPayload, conn: AsyncConnection
    ) -> JsonDict:
        data = encode(payload)
        fields = [f for f in payload.personal_fields if data.get(f) is not None]
        if not fields:
            return data
        key = await self.key(stream_id, conn, tenant=tenant)
        return _encrypt(None if key is None else AESGCM(key), stream_id, data, fields)

    @staticmethod
    def encode_with(
        aead: AESGCM | None, stream_id: str, payload: EventPayload
    ) -> JsonDict:
        """``encode`` with the stream's key in hand; ``PersonGone`` when destroyed."""
        data = encode(payload)
        fields = [f for f in payload.personal_fields if data.get(f) is not None]
        return _encrypt(aead, stream_id, data, fields) if fields else data

    @staticmethod
    def encrypt_fields(
        aead: AESGCM | None, stream_id: str, data: JsonDict, fields: Sequence[str]
    ) -> JsonDict:
        """``encode_with`` for an event's data already encoded (``encode``): the
        named fields that are not None encrypted in place; ``PersonGone`` when the
        key was destroyed. A bulk write builds the data once, without the model."""
        present = [f for f in fields if data.get(f) is not None]
        return _encrypt(aead, stream_id, data, present) if present else data

    async def decode_many(
        self, events: Sequence[RecordedEvent], conn: AsyncConnection
    ) -> list[JsonDict]:
        """``decode`` for each event, every stream's key in one statement."""
        sealed = {
            e.stream_id
            for e in events
            if any(isinstance(v, dict) and ENCRYPTED in v for v in e.data.values())
        }
        keys = await self.keys_for(conn, sealed)
        out = []
        for event in events:
            if event.stream_id not in sealed:
                out.append(event.data)
                continue
            data = dict(event.data)
            for name, value in event.data.items():
                if isinstance(value, dict) and ENCRYPTED in value:
                    aead = keys.get(event.stream_id)
                    data[name] = _open(aead, event.stream_id, name, value[ENCRYPTED])
            out.append(data)
        return out

    async def decode(self, event: RecordedEvent, conn: AsyncConnection) -> JsonDict:
        """Decrypted data; personal fields read as None once the key is destroyed."""
        sealed = [
            k for k, v in event.data.items() if isinstance(v, dict) and ENCRYPTED in v
        ]
        if not sealed:
            return event.data
        key = await self.key(event.stream_id, conn)
        return self.decode_with(AESGCM(key) if key is not None else None, event)

    @staticmethod
    def decode_with(aead: AESGCM | None, event: RecordedEvent) -> JsonDict:
        """``decode`` with the stream's key in hand (None: destroyed)."""
        data = dict(event.data)
        for name, value in event.data.items():
            if isinstance(value, dict) and ENCRYPTED in value:
                data[name] = _open(aead, event.stream_id, name, value[ENCRYPTED])
        return data


def _b64(raw: bytes) -> str:
    """``base64.b64encode(raw).decode()`` without its wrapper's checks."""
    return binascii.b2a_base64(raw, newline=False).decode()


def _unb64(text: str) -> bytes:
    """``base64.b64decode(text)``, likewise (non-alphabet characters ignored)."""
    return binascii.a2b_base64(text)


def _encrypt(
    aead: AESGCM | None, stream_id: str, data: JsonDict, fields: list[str]
) -> JsonDict:
    if aead is None:
        raise PersonGone(f"person {stream_id} was erased")
    nonces = _random(12 * len(fields))  # every field's at once
    encrypt, prefix, at = aead.encrypt, f"{stream_id}/", 0
    for name in fields:
        nonce = nonces[at : at + 12]
        value = data[name]
        plain = (
            _json_str(value) if type(value) is str else _JSON.encode(value)
        ).encode()
        sealed = encrypt(nonce, plain, (prefix + name).encode())
        data[name] = {ENCRYPTED: _b2a(nonce + sealed, newline=False).decode()}
        at += 12
    return data


def _open(aead: AESGCM | None, person_id: str, name: str, blob: str) -> Any:
    if aead is None:
        return None
    raw = _unb64(blob)
    try:
        plain = aead.decrypt(raw[:12], raw[12:], f"{person_id}/{name}".encode())
    except InvalidTag:
        return None
    return json.loads(plain)
