"""What every event-store backend offers, and the row mapping they share."""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.errors import (
    ConcurrencyConflict,
    FieldError,
    Forbidden,
    PayloadTooLarge,
    ValidationFailed,
)
from chassis.events import EventMetadata, LogPosition, NewEvent, RecordedEvent
from chassis.telemetry import described_span, spans_recorded

# Columns every backend selects, in this order, for ``row_to_event``.
SELECT_COLUMNS = (
    "position, tx_id, event_id, stream_id, stream_type, version, event_type, "
    "schema_version, tenant, payload, metadata, event_time"
)


READ_STREAM = text(
    f"SELECT {SELECT_COLUMNS} FROM events "
    "WHERE stream_id = :stream_id AND version >= :from_version ORDER BY version"
)

READ_STREAMS = text(
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream_id IN :stream_ids "
    "ORDER BY stream_id, version"
).bindparams(bindparam("stream_ids", expanding=True))

READ_EVENT = text(f"SELECT {SELECT_COLUMNS} FROM events WHERE event_id = :event_id")

_tracer = trace.get_tracer("tandem.eventstore")

# Below Kafka's default ``message.max.bytes`` (1,048,588) and the producer's
# ``max_request_size`` (1 MiB), leaving room for the envelope's headers and key.
DEFAULT_MAX_EVENT_BYTES = 900 * 1024


class StreamTenantMismatch(Forbidden):
    code = "StreamTenantMismatch"
    title = "Stream belongs to another tenant"


class EventTooLarge(PayloadTooLarge):
    """An event is larger than the broker accepts: it would never be published."""

    code = "EventTooLarge"
    title = "Event too large"


class EventStore(ABC):
    """Append to streams, read a stream, follow the global log.

    ``max_event_bytes`` bounds one event's serialised payload plus metadata: an
    append holding a larger event raises ``EventTooLarge`` and writes nothing, so
    the store never accepts what the relay could not hand to the broker.
    """

    def __init__(
        self, engine: AsyncEngine, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        self.engine = engine
        self.max_event_bytes = max_event_bytes

    @abstractmethod
    async def create_schema(self) -> None:
        """Create the store's tables if they are missing (idempotent)."""

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
        *,
        connection: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` to a stream that must be at ``expected_version``.

        ``expected_version`` is the number of events the writer saw (0 for a new
        stream). Raises ``ConcurrencyConflict`` (nothing written) when the stream has
        moved on, ``StreamTenantMismatch`` when the stream belongs to another tenant.
        Pass ``connection`` to append inside a caller's transaction (a consumer's
        effect together with its applied-event record, for example).
        """
        _validate_append(stream_id, stream_type, expected_version, events, metadata)
        if not _tracing():  # the hot path without telemetry: no span to build
            if connection is not None:
                return await self._append(
                    connection,
                    stream_id,
                    stream_type,
                    expected_version,
                    events,
                    metadata,
                )
            return await self._append_standalone(
                stream_id, stream_type, expected_version, events, metadata
            )
        # A child of the request (or consumer) span: one trace shows the append.
        with described_span(
            _tracer,
            f"append {stream_type}",
            attributes={
                "db.operation.name": "append",
                "tandem.stream.id": stream_id,
                "tandem.stream.expected_version": expected_version,
                "tandem.events": len(events),
                "tandem.tenant": metadata.tenant,
            },
        ):
            if connection is not None:
                return await self._append(
                    connection,
                    stream_id,
                    stream_type,
                    expected_version,
                    events,
                    metadata,
                )
            return await self._append_standalone(
                stream_id, stream_type, expected_version, events, metadata
            )

    async def _append_standalone(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        """An append in a transaction of its own (backends may do it more cheaply)."""
        async with self.engine.begin() as conn:
            return await self._append(
                conn, stream_id, stream_type, expected_version, events, metadata
            )

    @abstractmethod
    async def _append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]: ...

    async def read_stream(
        self,
        stream_id: str,
        *,
        tenant: str | None = None,
        from_version: int = 1,
        connection: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """One stream's events in version order; another tenant's stream reads empty."""
        params = {"stream_id": stream_id, "from_version": from_version}
        if connection is not None:
            rows = (await connection.execute(READ_STREAM, params)).all()
        else:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(READ_STREAM, params)).all()
        if tenant is not None and rows and rows[0].tenant != tenant:
            return []
        return [row_to_event(r) for r in rows]

    async def read_streams(
        self,
        stream_ids: Sequence[str],
        *,
        tenant: str | None = None,
        connection: AsyncConnection | None = None,
    ) -> dict[str, list[RecordedEvent]]:
        """Several streams' events in one statement, by stream in version order
        (those with none, or another tenant's, left out)."""
        ids = sorted(set(stream_ids))
        if not ids:
            return {}
        params = {"stream_ids": ids}
        if connection is not None:
            rows = (await connection.execute(READ_STREAMS, params)).all()
        else:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(READ_STREAMS, params)).all()
        found: dict[str, list[RecordedEvent]] = {}
        for row in rows:
            found.setdefault(row.stream_id, []).append(row_to_event(row))
        return {
            sid: events
            for sid, events in found.items()
            if tenant is None or events[0].tenant == tenant
        }

    @abstractmethod
    async def read_log(
        self, after: LogPosition = LogPosition.START, limit: int = 500
    ) -> list[RecordedEvent]:
        """The next committed events of the global log after ``after``, in log order."""

    async def stream_version(self, stream_id: str, *, tenant: str | None = None) -> int:
        events = await self.read_stream(stream_id, tenant=tenant)
        return events[-1].version if events else 0

    async def read_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        """One event by its id (what an operator replays), or None."""
        try:
            wanted = uuid.UUID(str(event_id))
        except ValueError:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(READ_EVENT, {"event_id": self._event_id(wanted)})
            ).first()
        return row_to_event(row) if row is not None else None

    def _event_id(self, event_id: uuid.UUID) -> Any:
        """The event id as the backend's column holds it."""
        return event_id

    def serialise(
        self, events: Sequence[NewEvent], metadata: EventMetadata
    ) -> tuple[list[str], str]:
        """The events' payloads and the shared metadata as stored, size-checked.

        Raises ``EventTooLarge`` (nothing written) for an event whose payload plus
        metadata exceeds ``max_event_bytes``. ``dumps`` escapes non-ASCII, so a
        string's length is its size in bytes.
        """
        meta = dumps({k: v for k, v in metadata.as_dict().items() if k != "tenant"})
        payloads = [dumps(e.data) for e in events]
        for event, payload in zip(events, payloads, strict=True):
            size = len(payload) + len(meta)
            if size > self.max_event_bytes:
                raise EventTooLarge(
                    f"a {event.event_type} event of {size} bytes is larger than the "
                    f"{self.max_event_bytes} bytes an event may hold",
                    event_type=event.event_type,
                    size_bytes=size,
                    max_bytes=self.max_event_bytes,
                )
        return payloads, meta


def _validate_append(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    metadata: EventMetadata,
) -> None:
    problems = []
    if not stream_id or len(stream_id) > 200:
        problems.append(FieldError("stream_id", "must be 1 to 200 characters"))
    if not stream_type:
        problems.append(FieldError("stream_type", "must not be empty"))
    if expected_version < 0:
        problems.append(FieldError("expected_version", "must be 0 or more"))
    if not events:
        problems.append(FieldError("events", "at least one event is required"))
    if not metadata.tenant:
        problems.append(FieldError("metadata.tenant", "every event carries a tenant"))
    if problems:
        raise ValidationFailed(problems)


def conflict_from_head(
    stream_id: str,
    expected_version: int,
    tenant: str,
    head: Any,
) -> Exception:
    """Explain why a guarded append wrote nothing, from the stream's head row."""
    m = head._mapping if hasattr(head, "_mapping") else head
    if m is not None and m["tenant"] != tenant:
        return StreamTenantMismatch(f"stream {stream_id} belongs to another tenant")
    actual = m["version"] if m is not None else 0
    return ConcurrencyConflict(stream_id, expected_version, actual)


# The metadata of the events read lately, by its stored text and tenant: a batch of
# the log is mostly the events of a few commands (an import's chunk: a thousand events
# with the same metadata), and ``EventMetadata`` is immutable, so they share one.
_METADATA: dict[tuple[str, str], EventMetadata] = {}
_METADATA_MEMO = 256


def _metadata(value: Any, tenant: str) -> EventMetadata:
    """``EventMetadata.from_dict`` of a stored metadata column and the tenant."""
    if not isinstance(value, str):
        return EventMetadata.from_dict({**_json(value), "tenant": tenant})
    key = (value, tenant)
    found = _METADATA.get(key)
    if found is None:
        if len(_METADATA) >= _METADATA_MEMO:
            _METADATA.clear()
        found = _METADATA[key] = EventMetadata.from_dict(
            {**_json(value), "tenant": tenant}
        )
    return found


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return json.loads(value) if value else {}


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"not a moment in time: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def row_to_event(row: Any) -> RecordedEvent:
    """Map a row selected with ``SELECT_COLUMNS`` (SQLAlchemy row or driver record)."""
    m = row._mapping if hasattr(row, "_mapping") else row
    event_id = m["event_id"]
    return RecordedEvent(
        id=event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id)),
        stream_id=m["stream_id"],
        stream_type=m["stream_type"],
        version=m["version"],
        event_type=m["event_type"],
        schema_version=m["schema_version"],
        data=_json(m["payload"]),
        metadata=_metadata(m["metadata"], m["tenant"]),
        time=_aware(m["event_time"]),
        position=LogPosition(int(m["tx_id"]), int(m["position"])),
    )


# One encoder for every event (``json.dumps`` with options builds one per call).
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def dumps(data: Any) -> str:
    return _encode(data)


def _tracing() -> bool:
    """False while a span would reach nobody (``chassis.telemetry.spans_recorded``):
    no tracer provider, or one with nothing attached to export or capture."""
    return spans_recorded()
