"""Load aggregates from their streams and save what they recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.errors import ConcurrencyConflict, NotFound
from chassis.events import EventMetadata, EventRegistry, NewEvent, RecordedEvent
from chassis.eventstore import EventStore

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


class Repository(Generic[A]):
    """The aggregates of one type, kept in the event store."""

    def __init__(
        self, store: EventStore, registry: EventRegistry, aggregate: type[A]
    ) -> None:
        self.store = store
        self.registry = registry
        self.aggregate = aggregate
        self.on_saved: list[Callable[[list[RecordedEvent]], None]] = []

    async def find(
        self, id: str, tenant: str, *, connection: AsyncConnection | None = None
    ) -> A | None:
        """The aggregate as its events leave it, or None (also for another tenant's)."""
        recorded = await self.store.read_stream(
            id, tenant=tenant, connection=connection
        )
        if not recorded:
            return None
        payloads = [
            self.registry.decode(e.event_type, e.schema_version, e.data)
            for e in recorded
        ]
        return self.aggregate.rebuild(id, tenant, payloads)

    async def get(
        self, id: str, tenant: str, *, connection: AsyncConnection | None = None
    ) -> A:
        found = await self.find(id, tenant, connection=connection)
        if found is None:
            raise NotFound(f"{self.aggregate.stream_type} {id} not found")
        return found

    async def save(
        self,
        aggregate: A,
        metadata: EventMetadata,
        *,
        connection: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """Append the aggregate's pending events at the version it was loaded at."""
        expected = aggregate.stored_version
        payloads = aggregate.collect_pending()
        if not payloads:
            return []
        recorded = await self.store.append(
            aggregate.id,
            aggregate.stream_type,
            expected,
            [NewEvent.of(p) for p in payloads],
            metadata,
            connection=connection,
        )
        for listener in self.on_saved:
            listener(recorded)
        return recorded


async def retrying(command: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run a load-decide-save command again when a concurrent writer got there first."""
    for attempt in range(1, attempts + 1):
        try:
            return await command()
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
