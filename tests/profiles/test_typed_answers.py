"""The typed answers say exactly what the routes have always answered: a response
model drops no field, adds no null, and the closed sets answer their wire values."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.profiles.conftest import ADMIN, COORDINATOR, person, token

CONTACT = {"employee_id", "email", "hire_date", "intake", "consents"}
VISIBLE = {
    "person_id", "status", "erased", "given_name", "family_name", "title", "level",
    "business_unit", "function", "geography", "time_zone", "manager_id", "languages",
    "roles", "mentor_profile", "version",
}  # fmt: skip


async def test_a_person_answers_the_fields_the_caller_may_see_and_no_more(client):
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=COORDINATOR,
    )
    created = await client.post(
        "/people", json=person(41, roles=["mentor"]), headers=COORDINATOR
    )
    assert created.status_code == 201 and set(created.json()) == {"person_id"}
    pid = created.json()["person_id"]
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 4}],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 6,
        "availability": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
    }
    put = await client.put(
        f"/people/{pid}/mentor-profile", json=profile, headers=COORDINATOR
    )
    assert put.status_code == 204

    peer = (await client.get(f"/people/{pid}", headers=token("acme", "mentee"))).json()
    assert set(peer) == VISIBLE
    assert peer["roles"] == ["mentor"] and peer["status"] == "active"
    assert peer["mentor_profile"] == {
        "person_id": pid,
        **profile,
        "industries": [],
        "markets": [],
        "functions_led": [],
        "crisis_experience": [],
        "leadership_style": None,
    }
    provisioner = (await client.get(f"/people/{pid}", headers=COORDINATOR)).json()
    assert set(provisioner) == VISIBLE | CONTACT
    assert provisioner["hire_date"] == "2015-03-01"
    assert provisioner["intake"] is None and provisioner["consents"] == []
    admin = (await client.get(f"/people/{pid}", headers=ADMIN)).json()
    assert set(admin) == VISIBLE | CONTACT | {"demographics"}

    page = (
        await client.get("/people", params={"status": "active"}, headers=COORDINATOR)
    ).json()
    assert set(page) == {"items", "next"}
    assert all(set(p) == VISIBLE | CONTACT for p in page["items"])


async def test_a_cohort_answers_its_definition_seats_and_lists(client):
    mentee = (
        await client.post("/people", json=person(42), headers=COORDINATOR)
    ).json()["person_id"]
    cohort = (
        await client.post(
            "/cohorts", json={"name": "Typed 2027", "capacity": 1}, headers=COORDINATOR
        )
    ).json()["cohort_id"]
    joined = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": mentee},
        headers=COORDINATOR,
    )
    assert joined.status_code == 201
    assert joined.json() == {
        "cohort_id": cohort,
        "person_id": mentee,
        "status": "admitted",
        "waiting_position": None,
        "admitted_on": datetime.now(UTC).date().isoformat(),
    }

    one = (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()
    assert one["participants"] == [{"person_id": mentee, "role": "mentee"}]
    assert one["waiting_list"] == []
    assert {k: one[k] for k in ("programme_type", "stage", "seats_taken")} == {
        "programme_type": "standard",
        "stage": "intake",
        "seats_taken": 1,
    }
    batch = (
        await client.post("/cohorts/batch", json={"ids": [cohort]}, headers=COORDINATOR)
    ).json()["items"]
    assert set(batch[0]["participants"][0]) == {"person_id", "role", "since"}
    assert set(batch[0]) == set(one)
    memberships = (
        await client.post(
            "/cohorts/memberships", json={"ids": [mentee]}, headers=COORDINATOR
        )
    ).json()["items"]
    assert [(m["cohort_id"], m["role"], m["status"]) for m in memberships] == [
        (cohort, "mentee", "admitted")
    ]
    assert set(memberships[0]) == {"person_id", "cohort_id", "role", "status", "since"}


async def test_a_closed_set_refuses_a_value_outside_it(client):
    refused = await client.get(
        "/people", params={"status": "retired"}, headers=COORDINATOR
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    bad_id = await client.post(
        "/competencies",
        json={"competency_id": "Not An Id", "name": "x"},
        headers=COORDINATOR,
    )
    assert bad_id.status_code == 422
    listed = (await client.get("/competencies", headers=COORDINATOR)).json()
    assert all(c["competency_id"] != "Not An Id" for c in listed)
