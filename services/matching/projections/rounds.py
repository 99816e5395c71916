"""Several rounds' streams in one read (``POST /rounds/batch``).

A round keeps no current-state table: its stream is short (started, a progress event
per phase, pins, completed or failed) and ``Repository.get`` folds it. A batch reads
every stream asked for in one statement instead of one statement per round.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import RecordedEvent
from chassis.eventstore.base import SELECT_COLUMNS, row_to_event
from services.matching.domain.round_record import Round

READ_ROUNDS = text(
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream_id IN :ids "
    "AND tenant = :t AND stream_type = :type ORDER BY stream_id, version"
).bindparams(bindparam("ids", expanding=True))


async def round_streams(
    conn: AsyncConnection, tenant: str, round_ids: Sequence[str]
) -> dict[str, list[RecordedEvent]]:
    """The events of each of ``round_ids`` that is a round of ``tenant``, in version
    order (unknown ids, other tenants' and other kinds of streams left out)."""
    wanted = sorted(set(round_ids))
    if not wanted:
        return {}
    streams: dict[str, list[RecordedEvent]] = {}
    rows = await conn.execute(
        READ_ROUNDS, {"ids": wanted, "t": tenant, "type": Round.stream_type}
    )
    for row in rows:
        event = row_to_event(row)
        streams.setdefault(event.stream_id, []).append(event)
    return streams
