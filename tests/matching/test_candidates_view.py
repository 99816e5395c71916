"""Matching's candidate view follows the profiles topic on the real broker."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlalchemy import text

from chassis.messaging import topic_for
from chassis.runtime import ServiceRuntime
from chassis.settings import ServiceSettings
from services.matching.projections.candidates import create_schema, handlers
from tests.profiles.conftest import ADMIN, COORDINATOR, person

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
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with view.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM candidates WHERE person_id = :p"),
                    {"p": person_id},
                )
            ).first()
        if row is not None and (row.mentor_profile or row.intake):
            return row
        await asyncio.sleep(0.1)
    return None


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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with view.engine.connect() as conn:
            gone = (
                await conn.execute(
                    text("SELECT count(*) FROM candidates WHERE person_id = :p"),
                    {"p": pid},
                )
            ).scalar_one() == 0
        if gone:
            break
        await asyncio.sleep(0.1)
    assert gone, "an erased person leaves the candidate view"
