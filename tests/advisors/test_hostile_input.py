"""The advisors service from the attacker's side, on real PostgreSQL: NUL bytes,
1 MB strings, 10,000-item lists, 2^63, the year 9999, a window that ends before
it starts, ids that are not ids. Every answer is a typed 4xx and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.advisors.application.agreements import Agreements
from tests.advisors.conftest import COORDINATOR, OTHER_TENANT
from tests.advisors.test_agreements_api import ADVISOR, TERMS

MB = "x" * 1_000_000
HUGE = 2**63
PROPOSAL = {
    "name": "Grace Hopper",
    "email": "grace@navy.example",
    "expertise_sought": ["transformation"],
}
PROFILE = {"geography": "US", "time_zone": "America/New_York"}


@pytest.fixture
async def client(advisors):
    app, client = advisors

    async def approved(tenant: str, advisor_id: str) -> str:
        return "approved"

    mounted(app).provide(Agreements).advisor_status = approved
    return app, client


async def events(app) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()


async def test_hostile_values_are_typed_refusals_that_change_nothing(client) -> None:
    app, c = client
    signed = await c.post("/agreements", json=TERMS, headers=COORDINATOR)
    assert signed.status_code == 201, signed.text
    agreement = signed.json()["agreement_id"]
    proposed = await c.post("/advisors", json=PROPOSAL, headers=COORDINATOR)
    assert proposed.status_code == 201, proposed.text
    advisor = proposed.json()["advisor_id"]
    logged = await c.post(
        f"/agreements/{agreement}/hours",
        json={"hours": "1", "on": "2030-05-10"},
        headers=ADVISOR,
    )
    assert logged.status_code == 201, logged.text
    pay = TERMS["compensation"]
    refused = [
        # -- oversized strings and lists
        ("POST", "/advisors", PROPOSAL | {"name": MB}, 422),
        ("POST", "/advisors", PROPOSAL | {"expertise_sought": ["x"] * 10_000}, 422),
        ("POST", "/agreements", TERMS | {"scope_text": MB}, 422),
        ("PUT", "/restricted-organisations", {"organisations": ["o"] * 10_000}, 422),
        ("POST", "/agreements/batch", {"ids": ["a"] * 10_000}, 422),
        (
            "POST",
            "/risks",
            {
                "title": MB,
                "category": "c",
                "likelihood": 1,
                "impact": 1,
                "owner_id": "o",
            },
            422,
        ),
        # -- NUL and other control characters
        ("POST", "/agreements", TERMS | {"advisor_id": "adv\x00"}, 422),
        ("POST", "/advisors", PROPOSAL | {"organisation": "Navy\x00"}, 422),
        (
            "POST",
            "/councils",
            {"name": "C\x00", "purpose": "p", "cadence_weeks": 4},
            422,
        ),
        ("GET", "/agreements?advisor_id=%00", None, 422),
        ("GET", "/advisors?after=%00", None, 422),
        ("PUT", "/diligence-checklist", {"checks": [{"name": "bg\x00"}]}, 422),
        # -- integers beyond their column, dates beyond the sane window
        (
            "POST",
            "/agreements",
            TERMS | {"compensation": pay | {"cap_minor_units": HUGE}},
            422,
        ),
        (
            "POST",
            "/agreements",
            TERMS | {"compensation": pay | {"rate_minor_units": 2**31}},
            422,
        ),
        ("POST", "/agreements", TERMS | {"hours_per_month": HUGE}, 422),
        (
            "POST",
            f"/agreements/{agreement}/hours",
            {"minutes": HUGE, "on": "2030-05-11"},
            422,
        ),
        ("GET", f"/advisors?limit={HUGE}", None, 422),
        ("GET", f"/advisors?after={'a' * 300}", None, 422),
        (
            "POST",
            "/councils",
            {"name": "C", "purpose": "p", "cadence_weeks": HUGE},
            422,
        ),
        ("POST", "/agreements", TERMS | {"ends_on": "9999-12-31"}, 422),
        ("POST", f"/agreements/{agreement}/renew", {"ends_on": "9999-12-31"}, 422),
        ("GET", f"/agreements/{agreement}/usage?on=0001-01-01", None, 422),
        (
            "POST",
            f"/agreements/{agreement}/hours",
            {"hours": "1", "on": "9999-01-01"},
            422,
        ),
        # -- values that make no sense
        (
            "POST",
            f"/advisors/{advisor}/approve",
            PROFILE
            | {"availability": [{"weekday": 0, "start": "17:00", "end": "09:00"}]},
            422,
        ),
        (
            "POST",
            f"/agreements/{agreement}/terminate",
            {"on": "2030-05-01", "reason_code": "budget"},
            422,
        ),
        ("GET", "/agreements/" + "a" * 300, None, 422),
        ("GET", "/councils/a%20b", None, 422),
        # -- another tenant's agreement
        (
            "POST",
            f"/agreements/{agreement}/hours",
            {"hours": "1", "on": "2030-05-11"},
            404,
        ),
    ]
    before = await events(app)
    for method, url, body, status in refused:
        who = OTHER_TENANT if status == 404 else COORDINATOR
        resp = await c.request(method, url, json=body, headers=who)
        assert resp.status_code == status, (method, url, resp.text[:300])
        assert resp.json()["code"], resp.text[:300]
    assert await events(app) == before
