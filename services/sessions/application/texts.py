"""Free text people write (contract terms, notes, journals, reflections, feedback
comments, escalations), kept out of the events and sealed with its author's key.

An event refers to a text by id, so the event history never holds the words. The
words themselves are stored encrypted (AES-256-GCM) with the author's data key, kept
in ``person_keys`` and wrapped by the service's master key (``SESSIONS_MASTER_KEY``):
the same key management as the profiles' personal fields (``chassis.personal_data``).
A reader of the database sees ciphertext only. Erasing the author deletes their rows
and destroys their key (crypto-shredding: a copy left anywhere, a backup included, no
longer decrypts); the embedded database is then scrubbed so no old page or log frame
keeps the key or the ciphertext.

Each ciphertext is bound (as associated data) to its author and text id, so it cannot
be moved to another row or person. Reads of a list fetch every text and its author's
wrapped key in one query and decrypt in Python.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.errors import PersonGone
from chassis.personal_data import PersonalDataCipher
from services.sessions.domain.events import registry

_READ = text(
    "SELECT t.text_id, t.author_id, t.body, k.wrapped_key "
    "FROM private_texts t LEFT JOIN person_keys k ON k.person_id = t.author_id "
    "WHERE t.text_id IN :ids AND t.sealed = 1"
).bindparams(bindparam("ids", expanding=True))


class PrivateTexts:
    """The sealed text store of the sessions service (one per process)."""

    def __init__(self, engine: AsyncEngine, master_key: bytes) -> None:
        self.engine = engine
        self._keys = PersonalDataCipher(master_key, registry)

    async def put(
        self, conn: AsyncConnection, tenant: str, author_id: str, body: str
    ) -> str:
        """Store ``body`` sealed with the author's key; its id goes into the event."""
        key = await self._author_key(conn, tenant, author_id)
        text_id = str(uuid.uuid4())
        await conn.execute(
            text(
                "INSERT INTO private_texts (text_id, tenant, author_id, body) "
                "VALUES (:i, :t, :a, :b)"
            ),
            {
                "i": text_id,
                "t": tenant,
                "a": author_id,
                "b": _seal(key, author_id, text_id, body),
            },
        )
        return text_id

    async def get(self, conn: AsyncConnection, text_id: str | None) -> str | None:
        """The text, or None when it was erased (or never written)."""
        if text_id is None:
            return None
        return (await self.get_many(conn, [text_id])).get(text_id)

    async def get_many(
        self, conn: AsyncConnection, text_ids: Iterable[str | None]
    ) -> dict[str, str | None]:
        """Every text of a page, in one query (texts and their authors' keys)."""
        ids = sorted({i for i in text_ids if i})
        if not ids:
            return {}
        rows = (await conn.execute(_READ, {"ids": ids})).all()
        keys: dict[str, AESGCM | None] = {}
        out: dict[str, str | None] = {}
        for row in rows:
            if row.author_id not in keys:
                keys[row.author_id] = self._keys.open_key(
                    row.author_id, row.wrapped_key
                )
            out[row.text_id] = _open(keys[row.author_id], row)
        return out

    async def seal_legacy(self) -> int:
        """Seal texts stored in clear before texts were sealed (revision 0003 marks
        them ``sealed = 0``); run once at start-up, before serving."""
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT text_id, tenant, author_id, body FROM private_texts "
                        "WHERE sealed = 0"
                    )
                )
            ).all()
            for row in rows:
                try:
                    key = await self._author_key(conn, row.tenant, row.author_id)
                except PersonGone:  # written by someone erased since: it goes
                    await self.forget(conn, row.text_id)
                    continue
                await conn.execute(
                    text(
                        "UPDATE private_texts SET body = :b, sealed = 1 "
                        "WHERE text_id = :i"
                    ),
                    {
                        "i": row.text_id,
                        "b": _seal(key, row.author_id, row.text_id, row.body),
                    },
                )
        return len(rows)

    async def forget(self, conn: AsyncConnection, text_id: str | None) -> None:
        """Delete one text (its note was edited or deleted)."""
        if text_id is not None:
            await conn.execute(
                text("DELETE FROM private_texts WHERE text_id = :i"), {"i": text_id}
            )

    async def erase_author(
        self, conn: AsyncConnection, tenant: str, person_id: str
    ) -> int:
        """Their erasure: delete what they wrote and destroy their key (the
        service's ``PersonErased`` handler then has the runtime's scrubber clear the
        embedded database's log once the transaction commits).

        A person who never wrote gets a destroyed key too, so nothing can be sealed
        for them afterwards (a write with their old token is refused as erased)."""
        result = await conn.execute(
            text("DELETE FROM private_texts WHERE author_id = :p"), {"p": person_id}
        )
        await conn.execute(
            text(
                "INSERT INTO person_keys (person_id, tenant, wrapped_key) "
                "VALUES (:p, :t, NULL) ON CONFLICT (person_id) DO NOTHING"
            ),
            {"p": person_id, "t": tenant},
        )
        await self._keys.destroy(person_id, conn)
        return result.rowcount or 0

    # -- internals ---------------------------------------------------------------------

    async def _author_key(
        self, conn: AsyncConnection, tenant: str, author_id: str
    ) -> bytes:
        key = await self._keys.key(author_id, conn, tenant=tenant)
        if key is None:
            raise PersonGone(f"person {author_id} was erased")
        return key


def _bound(author_id: str, text_id: str) -> bytes:
    return f"{author_id}/{text_id}".encode()


def _seal(key: bytes, author_id: str, text_id: str, body: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, body.encode(), _bound(author_id, text_id))
    return base64.b64encode(nonce + sealed).decode()


def _open(aead: AESGCM | None, row: Row[Any]) -> str | None:
    if aead is None:
        return None  # the author was erased: their key is gone
    raw = base64.b64decode(row.body)
    try:
        plain = aead.decrypt(raw[:12], raw[12:], _bound(row.author_id, row.text_id))
    except InvalidTag:
        return None
    return plain.decode()
