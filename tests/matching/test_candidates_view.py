"""Matching's candidate view follows the profiles topic on the real broker."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from chassis.messaging import topic_for
from chassis.runtime import ServiceRuntime
from chassis.settings import ServiceSettings
from services.matching.projections.candidates import create_schema, handlers
from tests.profiles.conftest import ADMIN, COORDINATOR, person
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


@pytest.fixture
async def view(postgres_server, kafka_bootstrap):
    runtime = ServiceRuntime(
        ServiceSettings(
            service_name="matching",
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        ),
        consumes=[topic_for("profiles")],
        handlers=handlers(),
        setup=create_schema,
    )
    await runtime.start()
    yield runtime
    await runtime.stop()


async def row_of(view, person_id: str, timeout_s: float = 60):
    async def profiled():
        async with view.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM candidates WHERE person_id = :p"),
                    {"p": person_id},
                )
            ).first()
        return row if row is not None and (row.mentor_profile or row.intake) else None

    return await until(
        profiled, "the mentor to reach matching's candidate view", timeout_s
    )


async def test_candidates_arrive_with_their_profile_and_leave_on_erasure(view, client):
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=ADMIN,
    )
    pid = (
        await client.post(
            "/people", json=person(1, roles=["mentor"]), headers=COORDINATOR
        )
    ).json()["person_id"]
    resp = await client.put(
        f"/people/{pid}/mentor-profile",
        json={
            "strengths": [{"competency_id": "strategy", "proficiency": 5}],
            "formats": ["one_to_one"],
            "max_mentees": 2,
            "hours_per_month": 6,
        },
        headers=COORDINATOR,
    )
    assert resp.status_code == 204

    row = await row_of(view, pid)
    assert row is not None, "the mentor reached matching's candidate view"
    assert (row.tenant, row.level, row.business_unit, row.geography) == (
        "acme",
        5,
        "Retail",
        "GB",
    )
    assert json.loads(row.mentor_profile)["max_mentees"] == 2
    assert "Lovelace" not in str(tuple(row)), "no personal data in matching"

    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204

    async def gone() -> bool:
        async with view.engine.connect() as conn:
            return (
                await conn.execute(
                    text("SELECT count(*) FROM candidates WHERE person_id = :p"),
                    {"p": pid},
                )
            ).scalar_one() == 0

    await until(gone, "an erased person to leave the candidate view", 60)
