"""The pairings of a programme's history (``notification_history_pairings``): known
from their unscored proposals, so that their approval and confirmation tell nobody
(``domain.notices.from_history``). Pairing ids and a moment; nothing personal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.projections import rules_tables  # noqa: F401  (schema)
from services.notifications.projections.inbox import stamp

_REMEMBER = text(
    "INSERT INTO notification_history_pairings (tenant, pairing_id, recorded_at) "
    "VALUES (:t, :p, :at) ON CONFLICT DO NOTHING"
)
_KNOWN = text(
    "SELECT tenant, pairing_id FROM notification_history_pairings "
    "WHERE pairing_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


async def remember(
    conn: AsyncConnection, pairings: Iterable[tuple[str, str]], at: datetime
) -> None:
    """Keep each (tenant, pairing) as one of a programme's history."""
    rows = [{"t": t, "p": p, "at": stamp(at)} for t, p in sorted(set(pairings))]
    if rows:
        await conn.execute(_REMEMBER, rows)


async def known(
    conn: AsyncConnection, pairings: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Those of ``pairings`` (tenant, pairing) that are of a programme's history."""
    wanted = set(pairings)
    if not wanted:
        return set()
    rows = await conn.execute(_KNOWN, {"ids": sorted({p for _, p in wanted})})
    return {(r.tenant, r.pairing_id) for r in rows} & wanted
