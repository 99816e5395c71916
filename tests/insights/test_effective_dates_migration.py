"""Migration 0006: rows kept before it are folded again with each fact at the day it
happened (a pairing's ``ended_on``, an admission's ``admitted_on``), as a rebuild
gives them."""

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

RECORDED = datetime(2027, 3, 20, 10, tzinfo=UTC)


def env(n: int, kind: str, **data: object) -> Envelope:
    return Envelope(
        id=f"ev-{n}",
        source="tandem/test",
        type=kind,
        subject="rel-1",
        time=RECORDED,
        data=data,
        tenant="old",
    )


HISTORY = [
    env(
        1,
        "RelationshipStarted",
        relationship_id="rel-1",
        pairing_id="p-1",
        mentor_id="mo",
        mentee_id="me",
        cohort_id="c",
        starts_on="2026-09-01",
    ),
    env(
        2,
        "PairingEnded",
        pairing_id="p-1",
        mentor_id="mo",
        mentee_id="me",
        reason="concluded",
        ended_on="2027-02-10",
    ),
    env(
        3,
        "ParticipantAdmitted",
        cohort_id="c",
        person_id="me",
        role="mentee",
        admitted_on="2026-08-20",
    ),
]


async def test_the_migration_dates_kept_rows_by_when_facts_happened(postgres_server):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights", "0005")
        # The row as the code before 0006 kept it: ended when recorded.
        old = health.RelationshipFacts(
            "rel-1",
            pairing_id="p-1",
            mentor_id="mo",
            mentee_id="me",
            cohort_id="c",
            started_at="2026-09-01",
            concluded_at=RECORDED.isoformat(),
        )
        async with engine.begin() as conn:
            for e in HISTORY:
                await fact_log.record(e, conn)
            await conn.execute(
                health_view.UPSERT,
                health_view.row_params("old", old, health.assess(old, RECORDED)),
            )
            await conn.execute(
                text(
                    "INSERT INTO equity_people (tenant, person_id, data) "
                    "VALUES ('old', 'me', '{}')"
                )
            )
        await upgrade(engine, "insights")
        async with engine.connect() as conn:
            kept = (
                await conn.execute(
                    text("SELECT facts FROM relationship_health WHERE tenant = 'old'")
                )
            ).scalar_one()
            person = (
                await conn.execute(
                    text(
                        "SELECT data FROM equity_people "
                        "WHERE tenant = 'old' AND person_id = 'me'"
                    )
                )
            ).scalar_one()
            parts = (
                await conn.execute(
                    text("SELECT slice FROM scorecard_parts WHERE tenant = 'old'")
                )
            ).scalars()
            slices = [json.loads(s) for s in parts]
        facts = health.RelationshipFacts.from_json(json.loads(kept))
        assert facts.concluded_at is not None
        assert facts.concluded_at.startswith("2027-02-10")
        admitted = json.loads(person)["cohorts"]["c"]["admitted_at"]
        assert admitted.startswith("2026-08-20")
        assert {"admitted": {"c": {"me": "2026-08-20"}}}.items() <= {
            k: v for s in slices for k, v in s.items() if k == "admitted"
        }.items()
    finally:
        await engine.dispose()
