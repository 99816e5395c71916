"""The event store on SQLite (aiosqlite), for the embedded one-process demo.

SQLite has one writer at a time and the engine opens every transaction with
``BEGIN IMMEDIATE``, so positions are assigned and committed in the same order: the
global log is simply read by position, and every row's transaction part is 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.errors import ConcurrencyConflict, Conflict
from chassis.events import EventMetadata, LogPosition, NewEvent, RecordedEvent
from chassis.eventstore.base import (
    SELECT_COLUMNS,
    EventStore,
    conflict_from_head,
    row_to_event,
)
from chassis.tables import create, events, log_checkpoints

HEAD = text(
    "SELECT version, tenant FROM events WHERE stream_id = :stream_id "
    "ORDER BY version DESC LIMIT 1"
)
INSERT = text(
    """
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type,
                        schema_version, tenant, payload, metadata, event_time)
    VALUES (:event_id, :stream_id, :stream_type, :version, :event_type,
            :schema_version, :tenant, :payload, :metadata, :event_time)
    RETURNING position
    """
)
READ_LOG = text(
    f"SELECT {SELECT_COLUMNS} FROM events WHERE position > :position "
    "ORDER BY position LIMIT :limit"
)


class SQLiteEventStore(EventStore):
    def _event_id(self, event_id: uuid.UUID) -> Any:
        return str(event_id)  # a TEXT column here

    async def create_schema(self) -> None:
        await create(self.engine, events, log_checkpoints)

    async def _append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        payloads, meta = self.serialise(events, metadata)
        head = (await conn.execute(HEAD, {"stream_id": stream_id})).first()
        actual = head.version if head is not None else 0
        if actual != expected_version or (
            head is not None and head.tenant != metadata.tenant
        ):
            raise conflict_from_head(stream_id, expected_version, metadata.tenant, head)
        recorded = []
        for offset, (event, payload) in enumerate(
            zip(events, payloads, strict=True), start=1
        ):
            version = expected_version + offset
            try:
                position = (
                    await conn.execute(
                        INSERT,
                        {
                            "event_id": str(event.id),
                            "stream_id": stream_id,
                            "stream_type": stream_type,
                            "version": version,
                            "event_type": event.event_type,
                            "schema_version": event.schema_version,
                            "tenant": metadata.tenant,
                            "payload": payload,
                            "metadata": meta,
                            "event_time": event.time.isoformat(),
                        },
                    )
                ).scalar_one()
            except IntegrityError as exc:
                if "event_id" in str(exc.orig):
                    raise Conflict("an event with this id is already recorded") from exc
                raise ConcurrencyConflict(stream_id, expected_version) from exc
            recorded.append(
                RecordedEvent(
                    id=event.id
                    if isinstance(event.id, uuid.UUID)
                    else uuid.UUID(event.id),
                    stream_id=stream_id,
                    stream_type=stream_type,
                    version=version,
                    event_type=event.event_type,
                    schema_version=event.schema_version,
                    data=event.data,
                    metadata=metadata,
                    time=event.time,
                    position=LogPosition(0, int(position)),
                )
            )
        return recorded

    async def read_log(
        self, after: LogPosition = LogPosition.START, limit: int = 500
    ) -> list[RecordedEvent]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    READ_LOG, {"position": after.sequence, "limit": limit}
                )
            ).all()
        return [row_to_event(r) for r in rows]
