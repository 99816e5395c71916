"""A rebuild's fold of ``relationship_health`` in memory (see ``rebuild.py``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.envelope import Envelope
from chassis.events import RecordedEvent, utcnow
from chassis.eventstore.base import SELECT_COLUMNS, row_to_event
from services.insights.domain import health as domain
from services.insights.health import (
    HANDLED_SET,
    STREAM_TYPE,
    UPSERT,
    HealthBook,
    row_params,
    stream_of,
)

READ_HEALTH_STREAMS = text(
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream_type = :st "
    "ORDER BY stream_id, version"
)


class HealthBatch:
    """A rebuild's fold of ``relationship_health`` (``rebuild.Rebuilder``).

    Folds each relationship's facts in memory exactly as ``HealthBook.on_fact`` does
    fact by fact (the same ``domain.Folder``, in the same order), then assesses each relationship
    once, as of now, writes all rows in one ``executemany`` and settles warnings
    against the ``health-…`` streams, all read in one query.

    Warnings: only the relationship's health now is compared with what its stream
    already says (``_memory``). Replaying fact by fact, by contrast, assessed every
    half-folded history as of now: a relationship seen with its start but not yet its
    sessions looked stalled, was "warned", then healed (which clears the memory) and
    was warned again at its real state: warnings already raised were raised again.
    """

    def __init__(self, book: HealthBook) -> None:
        self.book = book
        self.folders: dict[str, domain.Folder] = {}  # per tenant

    def fold(self, env: Envelope) -> None:
        if env.type in HANDLED_SET:
            folder = self.folders.setdefault(env.tenant, domain.Folder())
            folder.add(env.type, env.data, env.time)

    async def write(self, conn: AsyncConnection) -> None:
        now = utcnow()
        assessed = [
            (tenant, facts, domain.assess(facts, now, idle_days=self.book.idle_days))
            for tenant, folder in self.folders.items()
            for facts in folder.relationships.values()
        ]
        if assessed:
            await conn.execute(UPSERT, [row_params(*a) for a in assessed])
        streams: dict[str, list[RecordedEvent]] = {}
        for row in await conn.execute(READ_HEALTH_STREAMS, {"st": STREAM_TYPE}):
            event = row_to_event(row)
            streams.setdefault(event.stream_id, []).append(event)
        for tenant, facts, health in assessed:
            stream = streams.get(stream_of(tenant, facts.relationship_id), [])
            await self.book._warn(conn, tenant, facts, health, None, stream)
