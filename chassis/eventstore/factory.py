"""Pick the event-store backend that fits an engine."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import is_sqlite
from chassis.eventstore.base import DEFAULT_MAX_EVENT_BYTES, EventStore


def event_store_for(
    engine: AsyncEngine, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> EventStore:
    """The store for ``engine``; ``max_event_bytes`` bounds one stored event."""
    if is_sqlite(engine):
        from chassis.eventstore.sqlite import SQLiteEventStore

        return SQLiteEventStore(engine, max_event_bytes=max_event_bytes)
    from chassis.eventstore.postgres import PostgresEventStore

    return PostgresEventStore(engine, max_event_bytes=max_event_bytes)
