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

``append_groups`` does the same for streams of several metadata at once (a rebuild's
warnings for every tenant): each group keeps its own tenant and metadata, and the
batch is still one statement besides the first stream's append.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.errors import ConcurrencyConflict
from chassis.events import EventMetadata, LogPosition, NewEvent, RecordedEvent
from chassis.eventstore.base import EventStore, _validate_append, conflict_from_head
from chassis.eventstore.postgres import PostgresEventStore, _conflict, positional


@dataclass(frozen=True)
class StreamAppend:
    """What one stream of a batch gets: ``events`` after ``expected_version``."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[NewEvent]


APPEND_MANY_SQL = """
    WITH me AS (
        SELECT pg_current_xact_id()::text::bigint AS tx
    ), g AS (
        SELECT * FROM unnest(CAST(:g_tenants AS text[]), CAST(:g_metas AS text[]))
            WITH ORDINALITY AS g(tenant, meta, grp)
    ), s AS (
        SELECT * FROM unnest(CAST(:s_ids AS text[]), CAST(:s_expected AS int[]),
                             CAST(:s_tenants AS text[]))
            AS s(stream_id, expected, tenant)
    ), bad AS (
        SELECT s.stream_id FROM s
        LEFT JOIN LATERAL (
            SELECT version, tenant, tx_id FROM events h
            WHERE h.stream_id = s.stream_id ORDER BY version DESC LIMIT 1
        ) head ON true, me
        WHERE coalesce(head.version, 0) <> s.expected
           OR coalesce(head.tenant, s.tenant) <> s.tenant
           OR coalesce(head.tx_id, 0) > me.tx
        LIMIT 1
    )
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type,
                        schema_version, tenant, payload, metadata, event_time, tx_id)
    SELECT e.event_id, e.stream_id, e.stream_type, e.version, e.event_type,
           e.schema_version, g.tenant, e.payload::jsonb, g.meta::jsonb,
           e.event_time, me.tx
    FROM unnest(CAST(:ids AS uuid[]), CAST(:streams AS text[]),
                CAST(:types_of_stream AS text[]), CAST(:versions AS int[]),
                CAST(:types AS text[]), CAST(:schema_versions AS int[]),
                CAST(:payloads AS text[]), CAST(:times AS timestamptz[]),
                CAST(:groups AS int[]))
         WITH ORDINALITY AS e(event_id, stream_id, stream_type, version, event_type,
                              schema_version, payload, event_time, grp, ord)
         JOIN g ON g.grp = e.grp,
         me
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ORDER BY e.ord
    RETURNING event_id, position, tx_id
"""
# Run on the transaction's own driver connection (as the store's standalone appends
# are): a chunk's thousand rows and a dozen array parameters cost no SQLAlchemy
# processing each.
DRIVER_APPEND_MANY, APPEND_MANY_PARAMS = positional(APPEND_MANY_SQL)

FIRST_BAD = text(
    """
    SELECT s.stream_id, s.expected, s.tenant AS expected_tenant, head.version,
           head.tenant
    FROM unnest(CAST(:s_ids AS text[]), CAST(:s_expected AS int[]),
                CAST(:s_tenants AS text[])) AS s(stream_id, expected, tenant)
    LEFT JOIN LATERAL (
        SELECT version, tenant, tx_id FROM events h
        WHERE h.stream_id = s.stream_id ORDER BY version DESC LIMIT 1
    ) head ON true
    WHERE coalesce(head.version, 0) <> s.expected
       OR coalesce(head.tenant, s.tenant) <> s.tenant
    LIMIT 1
    """
)

# Appends of one metadata (one tenant's, one command's): a group of a batch.
Group = tuple[EventMetadata, Sequence[StreamAppend]]


async def append_streams(
    store: EventStore,
    appends: Sequence[StreamAppend],
    metadata: EventMetadata,
    *,
    connection: AsyncConnection,
) -> list[list[RecordedEvent]]:
    """Append to every stream of ``appends`` inside the caller's transaction; the
    recorded events per stream, in the order given. All or nothing (see the module)."""
    return (await append_groups(store, [(metadata, appends)], connection=connection))[0]


async def append_groups(
    store: EventStore,
    groups: Sequence[Group],
    *,
    connection: AsyncConnection,
) -> list[list[list[RecordedEvent]]]:
    """``append_streams`` of several groups (each its own metadata: several tenants'
    streams, say) as one batch: all or nothing, in one statement besides the first
    stream's append on PostgreSQL. The recorded events per group, per stream."""
    groups = [(meta, [a for a in appends if a.events]) for meta, appends in groups]
    for metadata, appends in groups:
        for a in appends:
            _validate_append(
                a.stream_id, a.stream_type, a.expected_version, a.events, metadata
            )
    every = [a.stream_id for _, appends in groups for a in appends]
    if len(set(every)) != len(every):
        raise ValueError("a stream appears twice in one batch")
    if not isinstance(store, PostgresEventStore) or len(every) < 2:
        return [
            [
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
            for metadata, appends in groups
        ]
    # The first stream through the store's own append (what it does for a
    # transaction besides inserting happens for the batch), the rest in one.
    at = next(n for n, (_, appends) in enumerate(groups) if appends)
    metadata, (first, *rest) = groups[at][0], groups[at][1]
    head = await store.append(
        first.stream_id,
        first.stream_type,
        first.expected_version,
        first.events,
        metadata,
        connection=connection,
    )
    others = [(metadata, rest), *groups[at + 1 :]]
    recorded = await _append_many(store, connection, others)
    return [
        *([] for _ in groups[:at]),
        [head, *recorded[0]],
        *recorded[1:],
    ]


async def _append_many(
    store: PostgresEventStore, conn: AsyncConnection, groups: Sequence[Group]
) -> list[list[list[RecordedEvent]]]:
    flat = [
        (g, a, n, e)
        for g, (_, appends) in enumerate(groups, start=1)
        for a in appends
        for n, e in enumerate(a.events, start=1)
    ]
    if not flat:
        return [[] for _ in groups]
    payloads: list[str] = []
    metas: list[str] = []
    for metadata, appends in groups:
        texts, meta = store.serialise([e for a in appends for e in a.events], metadata)
        payloads += texts
        metas.append(meta)
    streams = {
        "s_ids": [a.stream_id for _, appends in groups for a in appends],
        "s_expected": [a.expected_version for _, appends in groups for a in appends],
        "s_tenants": [m.tenant for m, appends in groups for _ in appends],
    }
    params = {
        **streams,
        "g_tenants": [m.tenant for m, _ in groups],
        "g_metas": metas,
        "ids": [e.id for _, _, _, e in flat],
        "streams": [a.stream_id for _, a, _, _ in flat],
        "types_of_stream": [a.stream_type for _, a, _, _ in flat],
        "versions": [a.expected_version + n for _, a, n, _ in flat],
        "types": [e.event_type for _, _, _, e in flat],
        "schema_versions": [e.schema_version for _, _, _, e in flat],
        "payloads": payloads,
        "times": [e.time for _, _, _, e in flat],
        "groups": [g for g, _, _, _ in flat],
    }
    first = next(a for _, appends in groups for a in appends)
    driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
    # The first stream's append (through the store, on ``conn``) began the
    # transaction: this statement is part of it, all or nothing.
    if not driver.is_in_transaction():
        raise RuntimeError("a batch of appends runs inside the caller's transaction")
    try:
        rows = await driver.fetch(
            DRIVER_APPEND_MANY, *[params[n] for n in APPEND_MANY_PARAMS]
        )
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(exc, first.stream_id, first.expected_version) from exc
    if not rows:
        bad = (await conn.execute(FIRST_BAD, streams)).first()
        if bad is None:  # a head written by a newer transaction: retry afresh
            raise ConcurrencyConflict(first.stream_id, first.expected_version)
        raise conflict_from_head(
            bad.stream_id,
            bad.expected,
            bad.expected_tenant,
            None if bad.version is None else bad,
        )
    where = {str(event_id): (tx_id, position) for event_id, position, tx_id in rows}
    recorded = [
        [
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
        for metadata, appends in groups
    ]
    for group in recorded:  # to be read back from memory by the relay
        for events in group:
            store.remember(events)
    return recorded
