"""Load aggregates from their streams and save what they recorded.

Two optional hooks let a service shape what is stored without touching its domain:
a ``codec`` transforms each event's data on its way into and out of the store (the
profiles service encrypts personal fields with it), and ``projections`` update current
state tables in the same transaction as the append, so a read after a write sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.errors import ConcurrencyConflict, NotFound
from chassis.events import (
    EventMetadata,
    EventPayload,
    EventRegistry,
    JsonDict,
    NewEvent,
    RecordedEvent,
    encode,
)
from chassis.eventstore import EventStore

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


class EventCodec(Protocol):
    """Transforms event data between the domain and the store (e.g. encryption)."""

    async def encode(
        self, stream_id: str, tenant: str, payload: EventPayload, conn: AsyncConnection
    ) -> JsonDict: ...

    async def decode(self, event: RecordedEvent, conn: AsyncConnection) -> JsonDict: ...


class Projection(Protocol):
    """Keeps a current-state table in step with appended events."""

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None: ...


class Repository(Generic[A]):
    """The aggregates of one type, kept in the event store."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        aggregate: type[A],
        *,
        codec: EventCodec | None = None,
        projections: Sequence[Projection] = (),
    ) -> None:
        self.store = store
        self.registry = registry
        self.aggregate = aggregate
        self.codec = codec
        self.projections = list(projections)
        self.on_saved: list[Callable[[list[RecordedEvent]], None]] = []

    @asynccontextmanager
    async def _connection(
        self, connection: AsyncConnection | None, *, write: bool
    ) -> AsyncIterator[AsyncConnection]:
        if connection is not None:
            yield connection
            return
        opener = self.store.engine.begin() if write else self.store.engine.connect()
        async with opener as conn:
            yield conn

    async def decode(self, event: RecordedEvent, conn: AsyncConnection) -> EventPayload:
        """The domain payload of a stored event (decoded by the codec, upcast)."""
        data = await self.codec.decode(event, conn) if self.codec else event.data
        return self.registry.decode(event.event_type, event.schema_version, data)

    async def decode_all(
        self, events: Sequence[RecordedEvent], conn: AsyncConnection
    ) -> list[EventPayload]:
        """``decode`` for each event; a codec that decodes many at once (one key
        look-up for them all, say) is asked once."""
        many = getattr(self.codec, "decode_many", None)
        if many is None:
            return [await self.decode(e, conn) for e in events]
        datas = await many(events, conn)
        return [
            self.registry.decode(e.event_type, e.schema_version, data)
            for e, data in zip(events, datas, strict=True)
        ]

    async def find(
        self, id: str, tenant: str, *, connection: AsyncConnection | None = None
    ) -> A | None:
        """The aggregate as its events leave it, or None (also for another tenant's)."""
        async with self._connection(connection, write=False) as conn:
            recorded = await self.store.read_stream(id, tenant=tenant, connection=conn)
            if not recorded:
                return None
            payloads = await self.decode_all(recorded, conn)
        return self.aggregate.rebuild(id, tenant, payloads)

    async def find_many(
        self,
        ids: Sequence[str],
        tenant: str,
        *,
        connection: AsyncConnection | None = None,
    ) -> dict[str, A]:
        """The aggregates of ``ids`` (those not found, or another tenant's, left
        out), by id in the order asked: their events in one statement, however
        many."""
        async with self._connection(connection, write=False) as conn:
            streams = await self.store.read_streams(ids, tenant=tenant, connection=conn)
            every = [e for events in streams.values() for e in events]
            payloads = iter(await self.decode_all(every, conn))
            decoded = {
                sid: [next(payloads) for _e in events]
                for sid, events in streams.items()
            }
        return {
            id: self.aggregate.rebuild(id, tenant, decoded[id])
            for id in dict.fromkeys(ids)
            if id in decoded
        }

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
        async with self._connection(connection, write=True) as conn:
            new_events = []
            for payload in payloads:
                data = (
                    await self.codec.encode(
                        aggregate.id, aggregate.tenant, payload, conn
                    )
                    if self.codec
                    else encode(payload)
                )
                new_events.append(
                    NewEvent(
                        event_type=payload.event_type,
                        data=data,
                        schema_version=payload.schema_version,
                    )
                )
            recorded = await self.store.append(
                aggregate.id,
                aggregate.stream_type,
                expected,
                new_events,
                metadata,
                connection=conn,
            )
            pairs = list(zip(recorded, payloads, strict=True))
            for projection in self.projections:
                await projection.apply(pairs, conn)
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
