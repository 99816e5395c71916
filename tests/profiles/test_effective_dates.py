"""Effective dates in profiles (issue 20), over HTTP on real PostgreSQL and Kafka.

- A reassessment (a later intake) may record a goal at or above its target, so a goal
  can be reached; a first assessment of a goal must still aim above its level.
- An admission carries the day it took effect (``admitted_on``, default today; a
  past day records history); impossible histories are a typed 422 naming the field.
- A career outcome carries the day it happened; one before the hire date, or in the
  future, is a typed 422 naming ``effective_on``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.service import mounted
from services.profiles.application import Profiles
from tests.profiles.conftest import ADMIN, COORDINATOR, person, token
from tests.profiles.test_cohorts_api import new_cohort, register
from tests.profiles.test_import import hris, people, run_import

pytestmark = pytest.mark.kafka

TODAY = datetime.now(UTC).date()


async def stored(app, stream_id: str, kind: str) -> list[dict]:
    events = await mounted(app).provide(Profiles).store.read_stream(stream_id)
    return [e.data for e in events if e.event_type == kind]


def refusal_paths(response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "ValidationError", body
    return [e["path"] for e in body["errors"]]


# -- reassessment: a goal can be reached ---------------------------------------------


async def test_a_reassessment_records_a_goal_reached_and_the_event_carries_it(
    app, client
):
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=ADMIN,
    )
    await client.post(
        "/competencies",
        json={"competency_id": "finance", "name": "Finance"},
        headers=ADMIN,
    )
    pid = await register(client, 1)
    me = token("acme", "mentee", sub=pid)

    def intake(*goals: tuple[str, int, int]) -> dict:
        return {
            "goals": [
                {"competency_id": c, "current": cur, "target": tgt}
                for c, cur, tgt in goals
            ],
            "hours_per_month": 4,
        }

    # A first assessment of a goal already reached is no development goal.
    first_reached = await client.put(
        f"/people/{pid}/intake", json=intake(("strategy", 4, 4)), headers=me
    )
    assert refusal_paths(first_reached) == ["goals.0.target"]
    assert await stored(app, pid, "IntakeSubmitted") == []

    ok = await client.put(
        f"/people/{pid}/intake", json=intake(("strategy", 2, 4)), headers=me
    )
    assert ok.status_code == 204, ok.text

    # The reassessment: strategy now at its target, beyond it is fine too; a goal
    # named for the first time in it must still aim above its level.
    new_goal_reached = await client.put(
        f"/people/{pid}/intake",
        json=intake(("strategy", 4, 4), ("finance", 3, 3)),
        headers=me,
    )
    assert refusal_paths(new_goal_reached) == ["goals.1.target"]
    reassessed = await client.put(
        f"/people/{pid}/intake",
        json=intake(("strategy", 5, 4), ("finance", 2, 3)),
        headers=me,
    )
    assert reassessed.status_code == 204, reassessed.text

    intakes = await stored(app, pid, "IntakeSubmitted")
    assert [i["goals"] for i in intakes] == [
        [{"competency_id": "strategy", "current": 2, "target": 4}],
        [
            {"competency_id": "strategy", "current": 5, "target": 4},
            {"competency_id": "finance", "current": 2, "target": 3},
        ],
    ]
    shown = (await client.get(f"/people/{pid}", headers=COORDINATOR)).json()
    assert shown["intake"]["goals"][0] == {
        "competency_id": "strategy",
        "current": 5,
        "target": 4,
    }


# -- admission dates -----------------------------------------------------------------


async def test_an_admission_carries_its_day_today_by_default_or_a_past_day(app, client):
    cohort = await new_cohort(client, capacity=3)
    now_person, past_person = await register(client, 1), await register(client, 2)

    joined = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": now_person},
        headers=COORDINATOR,
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["admitted_on"] == TODAY.isoformat()

    # Last year's programme, brought over: admitted before the cohort was created.
    joined = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": past_person, "admitted_on": "2025-09-01"},
        headers=COORDINATOR,
    )
    assert joined.status_code == 201, joined.text
    assert joined.json() == {
        "cohort_id": cohort,
        "person_id": past_person,
        "status": "admitted",
        "waiting_position": None,
        "admitted_on": "2025-09-01",
    }
    admitted = await stored(app, cohort, "ParticipantAdmitted")
    assert [(a["person_id"], a["admitted_on"]) for a in admitted] == [
        (now_person, TODAY.isoformat()),
        (past_person, "2025-09-01"),
    ]


async def test_impossible_admissions_are_typed_422s_naming_the_field(app, client):
    cohort = await new_cohort(client, capacity=1)
    pid = await register(client, 1)  # hired 2015-03-01
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    for day in (tomorrow, "2015-02-28"):
        refused = await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": pid, "admitted_on": day},
            headers=COORDINATOR,
        )
        assert refusal_paths(refused) == ["admitted_on"], day
    assert await stored(app, cohort, "ParticipantAdmitted") == []

    # The hire date itself is possible; then the one seat is taken, and a second
    # past admission cannot wait in a queue.
    first = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": pid, "admitted_on": "2015-03-01"},
        headers=COORDINATOR,
    )
    assert first.status_code == 201, first.text
    other = await register(client, 2)
    full = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": other, "admitted_on": "2025-09-01"},
        headers=COORDINATOR,
    )
    assert refusal_paths(full) == ["admitted_on"]
    assert await stored(app, cohort, "ParticipantWaitlisted") == []


async def test_a_person_joining_themself_cannot_date_their_admission(app, client):
    cohort = await new_cohort(client, capacity=1)
    pid = await register(client, 1)
    refused = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": pid, "admitted_on": "2025-09-01"},
        headers=token("acme", "mentee", sub=pid),
    )
    assert refused.status_code == 403, refused.text
    assert await stored(app, cohort, "ParticipantAdmitted") == []


# -- career outcomes -----------------------------------------------------------------


async def test_an_outcome_carries_the_day_it_happened(app, client):
    pid = await register(client, 1)
    recorded = await client.post(
        f"/people/{pid}/outcomes",
        json={"kind": "promotion", "effective_on": "2025-11-01", "to_level": 6},
        headers=COORDINATOR,
    )
    assert recorded.status_code == 204, recorded.text
    [outcome] = await stored(app, pid, "CareerOutcomeRecorded")
    assert (outcome["kind"], outcome["effective_on"]) == ("promotion", "2025-11-01")


async def test_an_outcome_before_the_hire_date_or_in_the_future_is_refused(app, client):
    pid = await register(client, 1)  # hired 2015-03-01
    for day in ("2015-02-28", (TODAY + timedelta(days=1)).isoformat()):
        refused = await client.post(
            f"/people/{pid}/outcomes",
            json={"kind": "promotion", "effective_on": day, "to_level": 6},
            headers=COORDINATOR,
        )
        assert refusal_paths(refused) == ["effective_on"], day
    assert await stored(app, pid, "CareerOutcomeRecorded") == []


async def test_a_level_change_dated_before_the_hire_date_is_refused(app, client):
    pid = await register(client, 1)
    body = {k: v for k, v in person(1, level=6).items() if k != "roles"}
    refused = await client.put(
        f"/people/{pid}",
        json={**body, "effective_on": "2014-01-01"},
        headers=COORDINATOR,
    )
    assert refusal_paths(refused) == ["effective_on"]
    shown = (await client.get(f"/people/{pid}", headers=COORDINATOR)).json()
    assert shown["level"] == 5
    promoted = await client.put(
        f"/people/{pid}",
        json={**body, "effective_on": "2025-06-30"},
        headers=COORDINATOR,
    )
    assert promoted.status_code == 200, promoted.text
    [outcome] = await stored(app, pid, "CareerOutcomeRecorded")
    assert (outcome["kind"], outcome["effective_on"]) == ("promotion", "2025-06-30")
    assert date.fromisoformat(outcome["effective_on"]) < TODAY


# -- deactivation -----------------------------------------------------------------


async def test_a_deactivation_carries_the_day_it_happened(app, client):
    told_late, today = await register(client, 1), await register(client, 2)
    for pid, body in (
        (told_late, {"reason": "inactive", "effective_on": "2025-08-15"}),
        (today, {"reason": "inactive"}),
    ):
        done = await client.post(f"/people/{pid}/deactivate", json=body, headers=ADMIN)
        assert done.status_code == 204, done.text
    [late] = await stored(app, told_late, "PersonDeactivated")
    assert late["deactivated_on"] == "2025-08-15"
    [now] = await stored(app, today, "PersonDeactivated")
    assert now.get("deactivated_on") is None  # the day it was recorded


async def test_a_deactivation_before_hire_or_in_the_future_is_refused(app, client):
    pid = await register(client, 1)  # hired 2015-03-01
    for day in ("2015-02-28", (TODAY + timedelta(days=1)).isoformat()):
        refused = await client.post(
            f"/people/{pid}/deactivate",
            json={"reason": "inactive", "effective_on": day},
            headers=ADMIN,
        )
        assert refusal_paths(refused) == ["effective_on"], day
    assert await stored(app, pid, "PersonDeactivated") == []
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()["status"] == (
        "active"
    )


async def test_an_hris_leaver_is_deactivated_on_the_termination_date(app, client):
    await run_import(client, [hris(1)])
    await run_import(client, [hris(1, termination_date="2024-01-31")])
    pid = (await people(client))["E00001"]["person_id"]
    [event] = await stored(app, pid, "PersonDeactivated")
    assert (event["reason"], event["deactivated_on"]) == ("departure", "2024-01-31")
