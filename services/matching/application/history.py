"""A programme's history, matching's part: past and running pairings (issue 20).

A pairing of the history is recorded with the events a live one records, dated
(``Pairing.recorded``): proposed, approved on ``approved_on``, accepted by both,
confirmed with ``starts_on`` (so sessions starts its relationship, id = pairing id,
with no consumer of its own for history) and, when it ended, ended with ``ended_on``.
Its cohort and people are given by id; matching knows them from profiles' events (its
``cohorts`` and ``candidates`` views), and one it does not know is the record's error
``unknown_cohort`` / ``unknown_person`` (the caller retries once they arrive).

A pairing still running holds one of the mentor's seats and is the mentee's one pairing
in the cohort, checked as an approval checks them (``application.seats``, in the
transaction that records it); one that ended holds nothing. The job, its idempotency
and its report are ``chassis.history_jobs``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.history_jobs import Entry, HistoryJobs, Refused
from contracts.api.history import (
    HistoryImportJob,
    HistoryPairing,
    HistoryRecordPage,
    MatchingHistoryIn,
)
from services.matching.application.access import COORDINATORS
from services.matching.application.pairings import Pairings
from services.matching.application.seats import require_seat, require_single
from services.matching.domain.pairing import Pairing, PastPairing

SECTIONS = ("pairings",)
# Matching holds no secret of its own and its records hold pseudonymous ids only: the
# ledger's content hashes are keyed with a constant (they hide nothing personal).
SECRET = hashlib.sha256(b"tandem/matching/history-imports").digest()


def _require(principal: Principal) -> None:
    principal.require(*COORDINATORS)


class MatchingHistory:
    """The matching history import: its jobs, and what a pairing record means here."""

    def __init__(self, pairings: Pairings) -> None:
        self.pairings = pairings
        self.jobs = HistoryJobs(
            pairings.engine,
            secret=SECRET,
            sections=SECTIONS,
            apply=self._apply,
            require=_require,
        )

    async def stop(self) -> None:
        await self.jobs.stop()

    async def submit(
        self,
        principal: Principal,
        document: MatchingHistoryIn,
        *,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> tuple[str, bool]:
        entries = [Entry("pairings", p.key, p) for p in document.pairings]
        return await self.jobs.submit(
            principal, entries, dry_run=dry_run, idempotency_key=idempotency_key
        )

    async def wait(self, job_id: str, timeout_s: float) -> None:
        await self.jobs.wait(job_id, timeout_s)

    async def _apply(
        self, conn: AsyncConnection, principal: Principal, entry: Entry
    ) -> str:
        rec = cast(HistoryPairing, entry.record)
        tenant = principal.tenant
        cohort = (
            await conn.execute(
                text(
                    "SELECT programme_type FROM cohorts "
                    "WHERE tenant = :t AND cohort_id = :c"
                ),
                {"t": tenant, "c": rec.cohort_id},
            )
        ).first()
        if cohort is None:
            raise Refused(
                "unknown_cohort", "cohort_id", "matching knows no such cohort"
            )
        known = {
            r.person_id
            for r in await conn.execute(
                text(
                    "SELECT person_id FROM candidates "
                    "WHERE tenant = :t AND person_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"t": tenant, "ids": [rec.mentor_id, rec.mentee_id]},
            )
        }
        for name, person_id in (
            ("mentor_id", rec.mentor_id),
            ("mentee_id", rec.mentee_id),
        ):
            if person_id not in known:
                raise Refused("unknown_person", name, "matching knows no such person")
        if rec.programme_type != cohort.programme_type:
            raise Refused(
                "invalid",
                "programme_type",
                f"the cohort runs the {cohort.programme_type} programme",
            )
        pairing = Pairing.recorded(
            tenant,
            PastPairing(
                pairing_id=str(uuid.uuid4()),
                cohort_id=rec.cohort_id,
                mentor_id=rec.mentor_id,
                mentee_id=rec.mentee_id,
                programme_type=rec.programme_type,
                approved_on=rec.approved_on,
                starts_on=rec.starts_on,
                ended_on=rec.ended_on,
                end_reason=rec.end_reason,
            ),
            datetime.now(UTC).date(),
        )
        if pairing.is_live:  # still running: a seat, and the mentee's one pairing
            await require_seat(conn, tenant, rec.mentor_id, None)
            await require_single(conn, tenant, rec.cohort_id, rec.mentee_id, None, None)
        await self.pairings.pairings.save(
            pairing, self.pairings.metadata_for(principal), connection=conn
        )
        return pairing.id

    async def job(
        self, principal: Principal, job_id: str, *, replayed: bool = False
    ) -> HistoryImportJob:
        state = await self.jobs.state(principal, job_id)
        return HistoryImportJob.of(state, replayed=replayed)

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: str | None,
        after: int,
        limit: int,
    ) -> HistoryRecordPage:
        items, cursor = await self.jobs.records(
            principal, job_id, outcome=outcome, after=after, limit=limit
        )
        return HistoryRecordPage.of(items, cursor)
