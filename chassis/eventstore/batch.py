"""Appending to many streams in one transaction, in one statement instead of one each.

A bulk command (an HRIS import of thousands of people) appends an event or two to each
of many streams. ``append_streams`` keeps every guarantee of ``EventStore.append`` for
each stream - the expected version, the stream's tenant, and (PostgreSQL) a head
written by no newer transaction than the writer's - but all or nothing: when any
stream has moved on, nothing of the batch is written and ``ConcurrencyConflict`` (or
``StreamTenantMismatch``) names the first stream that did. A concurrent writer that
gets a stream's next version first makes the unique (stream, version) key refuse the
batch the same way.

On PostgreSQL the first stream goes through the store's own ``append`` and the others
through one ``INSERT ... SELECT FROM unnest(...)``: whatever an append does for its
transaction besides inserting (waking the relay, say) therefore happens for the batch
as well. Other backends append stream by stream inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.errors import ConcurrencyConflict
from chassis.events import EventMetadata, LogPosition, NewEvent, RecordedEvent
from chassis.eventstore.base import EventStore, _validate_append, conflict_from_head
from chassis.eventstore.postgres import PostgresEventStore, _conflict


@dataclass(frozen=True)
class StreamAppend:
    """What one stream of a batch gets: ``events`` after ``expected_version``."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[NewEvent]


APPEND_MANY = text(
    """
    WITH me AS (
        SELECT pg_current_xact_id()::text::bigint AS tx
    ), s AS (
        SELECT * FROM unnest(CAST(:s_ids AS text[]), CAST(:s_expected AS int[]))
            AS s(stream_id, expected)
    ), bad AS (
        SELECT s.stream_id FROM s
        LEFT JOIN LATERAL (
            SELECT version, tenant, tx_id FROM events h
            WHERE h.stream_id = s.stream_id ORDER BY version DESC LIMIT 1
        ) head ON true, me
        WHERE coalesce(head.version, 0) <> s.expected
           OR coalesce(head.tenant, :tenant) <> :tenant
           OR coalesce(head.tx_id, 0) > me.tx
        LIMIT 1
    )
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type,
                        schema_version, tenant, payload, metadata, event_time, tx_id)
    SELECT e.event_id, e.stream_id, e.stream_type, e.version, e.event_type,
           e.schema_version, :tenant, e.payload::jsonb, CAST(:meta AS jsonb),
           e.event_time, me.tx
    FROM unnest(CAST(:ids AS uuid[]), CAST(:streams AS text[]),
                CAST(:types_of_stream AS text[]), CAST(:versions AS int[]),
                CAST(:types AS text[]), CAST(:schema_versions AS int[]),
                CAST(:payloads AS text[]), CAST(:times AS timestamptz[]))
         WITH ORDINALITY AS e(event_id, stream_id, stream_type, version, event_type,
                              schema_version, payload, event_time, ord),
         me
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ORDER BY e.ord
    RETURNING event_id, position, tx_id
    """
)

FIRST_BAD = text(
    """
    SELECT s.stream_id, s.expected, head.version, head.tenant FROM
        unnest(CAST(:s_ids AS text[]), CAST(:s_expected AS int[])) AS s(stream_id, expected)
    LEFT JOIN LATERAL (
        SELECT version, tenant, tx_id FROM events h
        WHERE h.stream_id = s.stream_id ORDER BY version DESC LIMIT 1
    ) head ON true
    WHERE coalesce(head.version, 0) <> s.expected
       OR coalesce(head.tenant, :tenant) <> :tenant
    LIMIT 1
    """
)


async def append_streams(
    store: EventStore,
    appends: Sequence[StreamAppend],
    metadata: EventMetadata,
    *,
    connection: AsyncConnection,
) -> list[list[RecordedEvent]]:
    """Append to every stream of ``appends`` inside the caller's transaction; the
    recorded events per stream, in the order given. All or nothing (see the module)."""
    appends = [a for a in appends if a.events]
    for a in appends:
        _validate_append(
            a.stream_id, a.stream_type, a.expected_version, a.events, metadata
        )
    if len({a.stream_id for a in appends}) != len(appends):
        raise ValueError("a stream appears twice in one batch")
    if not isinstance(store, PostgresEventStore) or len(appends) < 2:
        return [
            await store.append(
                a.stream_id,
                a.stream_type,
                a.expected_version,
                a.events,
                metadata,
                connection=connection,
            )
            for a in appends
        ]
    first, rest = appends[0], appends[1:]
    head = await store.append(
        first.stream_id,
        first.stream_type,
        first.expected_version,
        first.events,
        metadata,
        connection=connection,
    )
    return [head, *await _append_many(store, connection, rest, metadata)]


async def _append_many(
    store: PostgresEventStore,
    conn: AsyncConnection,
    appends: Sequence[StreamAppend],
    metadata: EventMetadata,
) -> list[list[RecordedEvent]]:
    flat = [(a, n, e) for a in appends for n, e in enumerate(a.events, start=1)]
    payloads, meta = store.serialise([e for _, _, e in flat], metadata)
    streams = {
        "s_ids": [a.stream_id for a in appends],
        "s_expected": [a.expected_version for a in appends],
        "tenant": metadata.tenant,
    }
    params = {
        **streams,
        "meta": meta,
        "ids": [e.id for _, _, e in flat],
        "streams": [a.stream_id for a, _, _ in flat],
        "types_of_stream": [a.stream_type for a, _, _ in flat],
        "versions": [a.expected_version + n for a, n, _ in flat],
        "types": [e.event_type for _, _, e in flat],
        "schema_versions": [e.schema_version for _, _, e in flat],
        "payloads": payloads,
        "times": [e.time for _, _, e in flat],
    }
    try:
        rows = (await conn.execute(APPEND_MANY, params)).all()
    except IntegrityError as exc:
        first = appends[0]
        raise _conflict(exc.orig, first.stream_id, first.expected_version) from exc
    if not rows:
        bad = (await conn.execute(FIRST_BAD, streams)).first()
        if bad is None:  # a head written by a newer transaction: retry afresh
            first = appends[0]
            raise ConcurrencyConflict(first.stream_id, first.expected_version)
        raise conflict_from_head(
            bad.stream_id,
            bad.expected,
            metadata.tenant,
            None if bad.version is None else bad,
        )
    where = {str(row.event_id): (int(row.tx_id), int(row.position)) for row in rows}
    recorded = [
        [
            RecordedEvent(
                id=e.id,
                stream_id=a.stream_id,
                stream_type=a.stream_type,
                version=a.expected_version + n,
                event_type=e.event_type,
                schema_version=e.schema_version,
                data=e.data,
                metadata=metadata,
                time=e.time,
                position=LogPosition(*where[text_id]),
            )
            for n, e, text_id in (
                (n, e, str(e.id)) for n, e in enumerate(a.events, start=1)
            )
        ]
        for a in appends
    ]
    for events in recorded:  # to be read back from memory by the relay
        store.remember(events)
    return recorded
