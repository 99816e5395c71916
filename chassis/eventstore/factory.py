"""Pick the event-store backend that fits an engine."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.db import is_sqlite
from chassis.eventstore.base import EventStore


def event_store_for(engine: AsyncEngine) -> EventStore:
    if is_sqlite(engine):
        from chassis.eventstore.sqlite import SQLiteEventStore

        return SQLiteEventStore(engine)
    from chassis.eventstore.postgres import PostgresEventStore

    return PostgresEventStore(engine)
