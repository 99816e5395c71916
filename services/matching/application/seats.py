"""A mentor's seats and a mentee's one pairing, checked where each pairing is recorded.

Two "at most N" rules of matching span pairings, so no single aggregate can hold them:

- a mentor holds at most ``max_mentees`` live pairings (proposed, approved or
  confirmed) across the tenant: every step that records one (a round's proposals, a
  next-best or replacement proposal, an approval, an acceptance that confirms) checks
  the count, with this step's pairing in it, in the transaction that records it;
- a mentee holds at most one live pairing per cohort; the one exception is a
  replacement, which runs alongside the pairing it replaces until it is confirmed
  (and then ends that pairing in the same transaction).

How the check and the write stay atomic. PostgreSQL (real mode): a transaction-scoped
advisory lock per tenant and mentor (``pg_advisory_xact_lock``, keyed by a 64-bit hash
of ``tenant:mentor``), taken before the count, held to commit. The pairings
projection is written by ``Repository.save`` in the same transaction as the events,
and under READ COMMITTED every statement after the lock sees what the previous holder
committed, so the count cannot be stale. Proposal paths take the cohort's lock first
(one mentee's pairings are only ever created under it), then their mentors' locks in
sorted order, so two writers never wait on each other in a circle.

Why not a seat table with a unique constraint (tenant, mentor, seat number)? Every
transition that frees a seat (decline, withdraw, expire, end) and every capacity
change would have to renumber or delete seat rows in step with the events, a second
copy of state the projection already holds, and a rebuilt projection would have to
rebuild the seats exactly too. The lock adds nothing to store and the count is the
projection itself; a hash collision between two keys only serialises two unrelated
writers a little, never lets one through.

SQLite (embedded mode): ``chassis.db`` begins every transaction with ``BEGIN
IMMEDIATE``, reads included, so one transaction at a time holds the write lock from
its first statement to commit; the count and the write are atomic without the
advisory lock, which is skipped there.

A cohort runs one round at a time (``RoundGuard``): a session-level advisory lock
held on a connection of its own while the round runs (released at the end, or by the
server when the process dies, so a crash never blocks the cohort), plus an in-process
set for SQLite, where the embedded platform is one process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import is_sqlite
from chassis.errors import Conflict
from services.matching.domain.rules import CapacityExceeded

log = logging.getLogger(__name__)


class RoundInProgress(Conflict):
    code = "RoundInProgress"
    title = "A round for this cohort is already running"


class MenteeAlreadyPaired(Conflict):
    code = "MenteeAlreadyPaired"
    title = "The mentee already has a live pairing in the cohort"


# -- locks -------------------------------------------------------------------------------


async def _lock(conn: AsyncConnection, key: str) -> None:
    if not is_sqlite(conn.engine):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )


async def lock_cohort(conn: AsyncConnection, tenant: str, cohort_id: str) -> None:
    """Serialise the cohort's proposals (to the end of the transaction)."""
    await _lock(conn, f"matching-cohort:{tenant}:{cohort_id}")


async def lock_mentors(
    conn: AsyncConnection, tenant: str, mentor_ids: Iterable[str]
) -> None:
    """Serialise every seat change of these mentors, in a fixed order (sorted ids):
    one statement, which takes the locks one by one in the order given."""
    keys = [f"matching-mentor:{tenant}:{m}" for m in sorted(set(mentor_ids))]
    if len(keys) == 1:
        await _lock(conn, keys[0])
    elif keys and not is_sqlite(conn.engine):
        await conn.execute(LOCK_IN_ORDER, {"keys": keys})


# The locks in the array's order: the aggregate takes its input rows as the sorted
# subquery yields them, so the order is that of ``keys`` (by ordinality, not by the
# database's collation of the text).
LOCK_IN_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM ("
    "SELECT k FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS u(k, n) "
    "ORDER BY n) AS ordered"
)


# -- counts ------------------------------------------------------------------------------


@dataclass
class Seats:
    """A mentor's seats as they stand in this transaction."""

    mentor_id: str
    capacity: int
    held: list[str] = field(default_factory=list)  # live pairing ids

    @property
    def free(self) -> int:
        return self.capacity - len(self.held)

    def refuse(self, pairing_id: str | None = None) -> CapacityExceeded:
        others = [p for p in self.held if p != pairing_id]
        return CapacityExceeded(
            f"{self.mentor_id} has {self.capacity} seat(s), held by "
            f"{len(others)} other live pairing(s); withdraw or end one first",
            mentor_id=self.mentor_id,
            capacity=self.capacity,
            held_by=others,
        )


async def seats_of(
    conn: AsyncConnection, tenant: str, mentor_ids: Iterable[str]
) -> dict[str, Seats]:
    """Capacity (``max_mentees`` of an active mentor with a profile, else 0) and the
    live pairings holding each mentor's seats, tenant-wide."""
    ids = sorted(set(mentor_ids))
    if not ids:
        return {}
    seats = {m: Seats(m, 0) for m in ids}
    rows = await conn.execute(
        text(
            "SELECT person_id, active, mentor_profile FROM candidates "
            "WHERE tenant = :t AND person_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"t": tenant, "ids": ids},
    )
    for r in rows:
        if r.active and r.mentor_profile:
            seats[r.person_id].capacity = int(
                json.loads(r.mentor_profile).get("max_mentees", 0)
            )
    held = await conn.execute(
        text(
            "SELECT mentor_id, pairing_id FROM pairings WHERE tenant = :t "
            "AND mentor_id IN :ids AND state IN ('proposed', 'approved', 'confirmed') "
            "ORDER BY proposed_at, pairing_id"
        ).bindparams(bindparam("ids", expanding=True)),
        {"t": tenant, "ids": ids},
    )
    for r in held:
        seats[r.mentor_id].held.append(r.pairing_id)
    return seats


async def busy_mentees(conn: AsyncConnection, tenant: str, cohort_id: str) -> set[str]:
    """Mentees of the cohort with a live pairing in it."""
    rows = await conn.execute(
        text(
            "SELECT DISTINCT mentee_id FROM pairings WHERE tenant = :t "
            "AND cohort_id = :c AND state IN ('proposed', 'approved', 'confirmed')"
        ),
        {"t": tenant, "c": cohort_id},
    )
    return {r.mentee_id for r in rows}


# -- the checks --------------------------------------------------------------------------


async def require_seat(
    conn: AsyncConnection, tenant: str, mentor_id: str, pairing_id: str | None
) -> None:
    """Lock the mentor and refuse, typed, unless their live pairings, counting
    ``pairing_id`` (an existing one, or a new one when None), fit their capacity."""
    await lock_mentors(conn, tenant, [mentor_id])
    seats = (await seats_of(conn, tenant, [mentor_id]))[mentor_id]
    taken = len({*seats.held, pairing_id or "(new)"})
    if taken > seats.capacity:
        raise seats.refuse(pairing_id)


async def require_single(
    conn: AsyncConnection,
    tenant: str,
    cohort_id: str | None,
    mentee_id: str,
    pairing_id: str | None,
    replaces: str | None,
) -> None:
    """Refuse, typed, when the mentee already has another live pairing in the cohort
    (the pairing this one replaces, and a replacement of this one, excepted)."""
    if cohort_id is None:
        return
    rows = await conn.execute(
        text(
            "SELECT pairing_id, replaces FROM pairings WHERE tenant = :t "
            "AND cohort_id = :c AND mentee_id = :e "
            "AND state IN ('proposed', 'approved', 'confirmed')"
        ),
        {"t": tenant, "c": cohort_id, "e": mentee_id},
    )
    others = [
        r.pairing_id
        for r in rows
        if r.pairing_id not in (pairing_id, replaces)
        and (pairing_id is None or r.replaces != pairing_id)
    ]
    if others:
        raise MenteeAlreadyPaired(
            f"{mentee_id} already has a live pairing in {cohort_id}",
            mentee_id=mentee_id,
            cohort_id=cohort_id,
            pairing_ids=others,
        )


async def surplus(conn: AsyncConnection, tenant: str, mentor_id: str) -> list[str]:
    """The open pairings to withdraw so the mentor is back within capacity after it
    went down: proposals before approved ones, newest first; never a confirmed one
    (a running relationship is not ended because a profile changed)."""
    await lock_mentors(conn, tenant, [mentor_id])
    seats = (await seats_of(conn, tenant, [mentor_id]))[mentor_id]
    if seats.free >= 0:
        return []
    rows = await conn.execute(
        text(
            "SELECT pairing_id FROM pairings WHERE tenant = :t AND mentor_id = :m "
            "AND state IN ('proposed', 'approved') "
            "ORDER BY CASE state WHEN 'proposed' THEN 0 ELSE 1 END, "
            "proposed_at DESC, pairing_id DESC"
        ),
        {"t": tenant, "m": mentor_id},
    )
    return [r.pairing_id for r in rows][: -seats.free]


# -- one round per cohort ----------------------------------------------------------------


class RoundGuard:
    """At most one running round per cohort, across the service's replicas."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._here: set[tuple[str, str]] = set()

    async def acquire(self, tenant: str, cohort_id: str) -> Lease:
        """Hold the cohort for a round, or refuse with ``RoundInProgress``."""
        key = (tenant, cohort_id)
        if key in self._here:
            raise _in_progress(cohort_id)
        self._here.add(key)
        conn: AsyncConnection | None = None
        try:
            if not is_sqlite(self.engine):
                conn = await self.engine.connect()
                got = (
                    await conn.execute(
                        text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"),
                        {"k": _round_key(tenant, cohort_id)},
                    )
                ).scalar_one()
                await conn.commit()  # a session lock outlives the transaction
                if not got:
                    raise _in_progress(cohort_id)
        except BaseException:
            self._here.discard(key)
            if conn is not None:
                await conn.close()
            raise
        return Lease(self, key, conn)


class Lease:
    """A cohort held for one round; ``release`` once the round has finished."""

    def __init__(
        self,
        guard: RoundGuard,
        key: tuple[str, str],
        conn: AsyncConnection | None,
    ) -> None:
        self.guard, self.key, self.conn = guard, key, conn

    async def release(self) -> None:
        self.guard._here.discard(self.key)
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            await conn.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"),
                {"k": _round_key(*self.key)},
            )
            await conn.commit()
        except Exception:  # closing below drops the session lock anyway
            log.warning("round lock of %s not released cleanly", self.key)
            await conn.invalidate()
        finally:
            await conn.close()


def _round_key(tenant: str, cohort_id: str) -> str:
    return f"matching-round:{tenant}:{cohort_id}"


def _in_progress(cohort_id: str) -> RoundInProgress:
    return RoundInProgress(
        f"a round for cohort {cohort_id} is running; wait for it to finish",
        cohort_id=cohort_id,
    )
