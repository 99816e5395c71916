"""Migration 0005: relationship health rows kept before it gain each session's planned
start, so their cancellation streak follows the order sessions were planned in."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.envelope import Envelope
from chassis.migrations.runner import upgrade
from services.insights.domain import health
from services.insights.projections import facts as fact_log
from services.insights.projections import health as health_view


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00")


def env(n: int, kind: str, day: str, **data: object) -> Envelope:
    return Envelope(
        id=f"ev-{n}",
        source="tandem/sessions",
        type=kind,
        subject="rel-1",
        time=at(day),
        data={"relationship_id": "rel-1", **data},
        tenant="old",
    )


HISTORY = [
    env(
        1,
        "RelationshipStarted",
        "2027-01-01",
        pairing_id="p-1",
        mentor_id="mo",
        mentee_id="me",
        cohort_id="c",
        starts_on="2027-01-01",
    ),
    env(
        2,
        "SessionScheduled",
        "2027-02-10",
        session_id="s-7",
        starts_at=at("2027-02-22").isoformat(),
        minutes=60,
        scheduled_by="mo",
    ),
    env(
        3,
        "SessionScheduled",
        "2027-02-10",
        session_id="s-6",
        starts_at=at("2027-02-23").isoformat(),
        minutes=60,
        scheduled_by="mo",
    ),
    env(
        4,
        "SessionHeld",
        "2027-02-25",
        session_id="s-4",
        held_at=at("2027-02-25").isoformat(),
        minutes=60,
        recorded_by="mo",
    ),
    env(5, "SessionMissed", "2027-03-01", session_id="s-7", absent_ids=["me"]),
    env(6, "SessionMissed", "2027-03-01", session_id="s-6", absent_ids=["me"]),
]
AS_OF = datetime(2027, 3, 1, 12, tzinfo=UTC)


async def test_the_migration_keeps_the_planned_starts_of_rows_kept_before_it(
    postgres_server,
):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights", "0004")
        # A row as the code before 0005 kept it: no planned starts.
        old = health.fold((e.type, e.data, e.time) for e in HISTORY)["rel-1"]
        old.planned = {}
        assert health.assess(old, AS_OF).cancellation_streak == 2  # the defect
        async with engine.begin() as conn:
            for e in HISTORY:
                await fact_log.record(e, conn)
            await conn.execute(
                health_view.UPSERT,
                health_view.row_params("old", old, health.assess(old, AS_OF)),
            )
        await upgrade(engine, "insights")
        async with engine.connect() as conn:
            kept = (
                await conn.execute(
                    text("SELECT facts FROM relationship_health WHERE tenant = 'old'")
                )
            ).scalar_one()
        facts = health.RelationshipFacts.from_json(json.loads(kept))
        assert set(facts.planned) == {"s-7", "s-6"}
        assert health.assess(facts, AS_OF).cancellation_streak == 0
    finally:
        await engine.dispose()
