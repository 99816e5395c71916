"""``mentor_load``: a mentor's current pairings, kept from matching's events."""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from services.profiles.projections.tables import mentor_load


async def on_pairing_confirmed(envelope: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "INSERT INTO mentor_load (pairing_id, tenant, mentor_id) VALUES (:p, :t, :m) "
            "ON CONFLICT (pairing_id) DO NOTHING"
        ),
        {
            "p": envelope.data["pairing_id"],
            "t": envelope.tenant,
            "m": envelope.data["mentor_id"],
        },
    )


async def on_pairing_ended(envelope: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        delete(mentor_load).where(
            mentor_load.c.pairing_id == envelope.data["pairing_id"]
        )
    )
