"""An advisor agreement's caps under concurrent hour logs, on real PostgreSQL.

Hours are logged on the agreement's own stream (directly, or when an engagement is
delivered): every log decides on the stream as loaded and appends at that version,
so of two concurrent logs one loses on the unique (stream, version) key, retries,
and decides again on the hours the winner logged. Each race runs many times; the
hours logged never pass the cap, and every refusal is typed.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.advisors.application.agreements import Agreements
from tests.advisors.conftest import COORDINATOR
from tests.advisors.test_agreements_api import ADVISOR, TERMS

ROUNDS = 12
CAP_HOURS = 10


async def logged_minutes(app, agreement_id: str) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT coalesce(sum((payload->>'minutes')::int), 0) FROM events "
                    "WHERE stream_id = :a AND event_type = 'HoursLogged'"
                ),
                {"a": agreement_id},
            )
        ).scalar_one()


def typed(responses) -> list[int]:
    for r in responses:
        assert r.status_code in (200, 201, 409, 422), r.text
        if r.status_code >= 400:
            assert r.json()["code"] in ("HoursOverCap", "ConcurrencyConflict"), r.text
    return [r.status_code for r in responses]


@pytest.fixture
async def client(advisors):
    app, client = advisors

    async def approved(tenant: str, advisor_id: str) -> str:
        return "approved"

    mounted(app).provide(Agreements).advisor_status = approved
    return app, client


async def sign(client, **terms) -> str:
    r = await client.post("/agreements", json=TERMS | terms, headers=COORDINATOR)
    assert r.status_code == 201, r.text
    return r.json()["agreement_id"]


async def test_concurrent_hour_logs_never_pass_the_hours_cap(client) -> None:
    app, c = client
    for _ in range(ROUNDS):
        agreement_id = await sign(
            c,
            hours_per_month=200,
            compensation={"rate_minor_units": 10_000, "currency": "EUR"}
            | {"cap_hours": CAP_HOURS},
        )
        # five logs of three hours at once: 15 h asked for, 10 h allowed
        logs = [
            c.post(
                f"/agreements/{agreement_id}/hours",
                json={"hours": "3", "on": f"2030-0{1 + i}-10"},
                headers=ADVISOR if i % 2 else COORDINATOR,
            )
            for i in range(5)
        ]
        codes = typed(await asyncio.gather(*logs))
        minutes = await logged_minutes(app, agreement_id)
        assert minutes <= CAP_HOURS * 60
        assert minutes == 180 * codes.count(201)
        usage = (
            await c.get(f"/agreements/{agreement_id}/usage", headers=COORDINATOR)
        ).json()
        assert usage["total_minutes"] == minutes


async def test_concurrent_logs_and_deliveries_keep_the_month_and_money_caps(
    client,
) -> None:
    app, c = client
    for _ in range(ROUNDS):
        # 6 h a month, and a 1,500 EUR cap at 250 EUR an hour: 6 h in all
        agreement_id = await sign(c)
        engagements = []
        for _ in range(2):
            made = await c.post(
                "/engagements",
                json={
                    "advisor_id": "adv-1",
                    "topic": "governance",
                    "on": "2030-03-05",
                    "audience_size": 10,
                },
                headers=COORDINATOR,
            )
            assert made.status_code == 201, made.text
            engagements.append(made.json()["engagement_id"])
        calls = [
            c.post(
                f"/agreements/{agreement_id}/hours",
                json={"minutes": 120, "on": "2030-03-04"},
                headers=ADVISOR if i % 2 else COORDINATOR,
            )
            for i in range(4)
        ] + [
            c.post(
                f"/engagements/{e}/deliver",
                json={"minutes": 90, "on": "2030-03-05"},
                headers=ADVISOR,
            )
            for e in engagements
        ]
        typed(await asyncio.gather(*calls))
        minutes = await logged_minutes(app, agreement_id)
        assert minutes <= 6 * 60  # the month's commitment
        assert minutes * 25_000 // 60 <= 150_000  # the money cap
        agreement = (
            await mounted(app).provide(Agreements).repo.get(agreement_id, "acme")
        )
        assert agreement.total_minutes == minutes
        assert agreement.cost_minor_units <= 150_000
