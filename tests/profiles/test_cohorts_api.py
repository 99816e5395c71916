"""Cohorts over HTTP: seats, the ordered waiting list, eligibility reasons, rebuild."""

from __future__ import annotations

from tests.profiles.conftest import ADMIN, COORDINATOR, OTHER_TENANT, person, token


async def register(client, n: int, **overrides) -> str:
    resp = await client.post(
        "/people", json=person(n, **overrides), headers=COORDINATOR
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["person_id"]


async def new_cohort(client, capacity: int = 1, **eligibility) -> str:
    resp = await client.post(
        "/cohorts",
        json={
            "name": "Executive leaders 2027",
            "capacity": capacity,
            "strategic_priority": "digital transformation",
            "eligibility": eligibility,
            "pathway": [
                {"stage": "intake", "starts_on": "2027-01-04", "ends_on": "2027-01-31"},
                {
                    "stage": "pairing",
                    "starts_on": "2027-02-01",
                    "ends_on": "2027-02-14",
                },
            ],
        },
        headers=COORDINATOR,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["cohort_id"]


async def test_waiting_list_is_served_in_arrival_order(client):
    cohort = await new_cohort(client, capacity=1)
    ids = [await register(client, n) for n in range(1, 4)]
    joined = [
        (
            await client.post(
                f"/cohorts/{cohort}/participants",
                json={"person_id": p},
                headers=COORDINATOR,
            )
        ).json()
        for p in ids
    ]
    assert [(j["status"], j["waiting_position"]) for j in joined] == [
        ("admitted", None),
        ("waiting", 1),
        ("waiting", 2),
    ]
    waiting = (
        await client.get(f"/cohorts/{cohort}/waiting-list", headers=COORDINATOR)
    ).json()
    assert waiting == [
        {"person_id": ids[1], "position": 1},
        {"person_id": ids[2], "position": 2},
    ]

    # The admitted mentee withdraws: the first in line takes the seat.
    left = await client.delete(
        f"/cohorts/{cohort}/participants/{ids[0]}", headers=COORDINATOR
    )
    assert left.status_code == 204
    view = (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()
    assert view["participants"] == [{"person_id": ids[1], "role": "mentee"}]
    assert view["waiting_list"] == [{"person_id": ids[2], "position": 1}]
    assert view["seats_taken"] == 1


async def test_people_see_why_they_are_not_eligible(client):
    cohort = await new_cohort(
        client, capacity=5, min_level=7, business_units=["Retail"]
    )
    junior = await register(client, 10, level=4, business_unit="Insurance")
    check = await client.get(
        f"/cohorts/{cohort}/eligibility/{junior}", headers=COORDINATOR
    )
    assert check.json()["eligible"] is False
    assert len(check.json()["reasons"]) == 2

    # The person themself may ask too, and joining anyway is a typed error.
    mine = token("acme", "mentee", sub=junior)
    assert (
        await client.get(f"/cohorts/{cohort}/eligibility/{junior}", headers=mine)
    ).status_code == 200
    refused = await client.post(
        f"/cohorts/{cohort}/participants", json={"person_id": junior}, headers=mine
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "NotEligible"
    assert len(refused.json()["reasons"]) == 2
    view = (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()
    assert view["participants"] == [] and view["waiting_list"] == []


async def test_capacity_below_seats_taken_is_refused_and_changes_nothing(client):
    cohort = await new_cohort(client, capacity=2)
    for n in (20, 21):
        pid = await register(client, n)
        await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": pid},
            headers=COORDINATOR,
        )
    resp = await client.put(
        f"/cohorts/{cohort}/capacity", json={"capacity": 1}, headers=COORDINATOR
    )
    assert resp.status_code == 422
    assert resp.json()["code"] == "CapacityBelowLoad"
    assert (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()[
        "capacity"
    ] == 2


async def test_a_mentee_cannot_enrol_someone_else_and_tenants_are_apart(client):
    cohort = await new_cohort(client)
    a, b = await register(client, 30), await register(client, 31)
    as_a = token("acme", "mentee", sub=a)
    other = await client.post(
        f"/cohorts/{cohort}/participants", json={"person_id": b}, headers=as_a
    )
    assert other.status_code == 403
    assert (
        await client.get(f"/cohorts/{cohort}", headers=OTHER_TENANT)
    ).status_code == 404
    foreign = await client.post(
        f"/cohorts/{cohort}/participants", json={"person_id": a}, headers=OTHER_TENANT
    )
    assert foreign.status_code == 404


async def test_rebuilt_tables_equal_the_live_ones(client):
    cohort = await new_cohort(client, capacity=1)
    for n in (40, 41, 42):
        pid = await register(client, n)
        await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": pid},
            headers=COORDINATOR,
        )
    await client.put(
        f"/cohorts/{cohort}/capacity", json={"capacity": 2}, headers=COORDINATOR
    )
    before_people = (await client.get("/people", headers=ADMIN)).json()
    before_cohort = (await client.get(f"/cohorts/{cohort}", headers=ADMIN)).json()

    rebuilt = await client.post("/admin/projections/rebuild", headers=ADMIN)
    assert rebuilt.status_code == 200 and rebuilt.json()["events_replayed"] > 0
    assert (await client.get("/people", headers=ADMIN)).json() == before_people
    assert (
        await client.get(f"/cohorts/{cohort}", headers=ADMIN)
    ).json() == before_cohort
    assert (
        await client.post("/admin/projections/rebuild", headers=COORDINATOR)
    ).status_code == 403
