"""A cohort's members say since when they hold their place by the day it happened:
an admission's ``admitted_on`` (a programme's history recorded later), not the
moment it was recorded (issue 20)."""

from __future__ import annotations

import pytest

from tests.profiles.conftest import COORDINATOR
from tests.profiles.test_cohorts_api import new_cohort, register

pytestmark = pytest.mark.kafka


async def test_members_since_is_the_day_they_were_admitted(client):
    cohort = await new_cohort(client, capacity=3)
    past, now = await register(client, 1), await register(client, 2)
    for person, body in ((past, {"admitted_on": "2025-09-01"}), (now, {})):
        joined = await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": person, **body},
            headers=COORDINATOR,
        )
        assert joined.status_code == 201, joined.text
    today = joined.json()["admitted_on"]

    batch = await client.post(
        "/cohorts/batch", json={"ids": [cohort]}, headers=COORDINATOR
    )
    assert batch.status_code == 200, batch.text
    (listed,) = batch.json()["items"]
    since = {p["person_id"]: p["since"] for p in listed["participants"]}
    assert since[past].startswith("2025-09-01T00:00:00")
    assert since[now].startswith(today)

    memberships = await client.post(
        "/cohorts/memberships", json={"ids": [past, now]}, headers=COORDINATOR
    )
    assert memberships.status_code == 200, memberships.text
    by_person = {m["person_id"]: m["since"] for m in memberships.json()["items"]}
    assert by_person == since
