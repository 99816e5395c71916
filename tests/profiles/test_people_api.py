"""People over HTTP on real PostgreSQL and Kafka."""

from __future__ import annotations

from tests.profiles.conftest import ADMIN, COORDINATOR, OTHER_TENANT, person, token


async def test_register_then_read(client):
    created = await client.post("/people", json=person(1), headers=COORDINATOR)
    assert created.status_code == 201, created.text
    pid = created.json()["person_id"]
    got = await client.get(f"/people/{pid}", headers=COORDINATOR)
    assert got.status_code == 200
    body = got.json()
    assert body["given_name"] == "Ada1" and body["email"] == "ada1@acme.example"
    assert body["roles"] == ["mentee"] and body["level"] == 5


async def test_cross_tenant_read_is_refused(client):
    pid = (await client.post("/people", json=person(2), headers=COORDINATOR)).json()[
        "person_id"
    ]
    other = await client.get(f"/people/{pid}", headers=OTHER_TENANT)
    assert other.status_code == 404
    listed = await client.get("/people", headers=OTHER_TENANT)
    assert listed.json()["items"] == []


async def test_invalid_email_is_a_typed_error_and_changes_nothing(client):
    bad = await client.post(
        "/people", json=person(3, email="not-an-email"), headers=ADMIN
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["code"] == "ValidationError"
    # Refused by the request model's bounded Email type (no "@"): FastAPI's path.
    assert [e["path"] for e in problem["errors"]] == ["body.email"]
    # Shaped like an address but no domain the rule accepts: the domain's refusal.
    bad = await client.post(
        "/people", json=person(3, email="ada@localhost"), headers=ADMIN
    )
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json()["errors"]] == ["email"]
    assert (await client.get("/people", headers=ADMIN)).json()["items"] == []


async def test_a_mentee_cannot_register_people(client):
    resp = await client.post("/people", json=person(4), headers=token("acme", "mentee"))
    assert resp.status_code == 403


async def test_an_email_belongs_to_one_person_per_tenant(client):
    first = await client.post("/people", json=person(5), headers=ADMIN)
    assert first.status_code == 201
    again = await client.post(
        "/people", json=person(6, email="ADA5@acme.example"), headers=ADMIN
    )
    assert again.status_code == 409
    assert again.json()["code"] == "Conflict" and again.json()["field"] == "email"
    listed = (await client.get("/people", headers=ADMIN)).json()["items"]
    assert [p["email"] for p in listed] == ["ada5@acme.example"]


async def test_listing_pages_with_a_cursor_and_filters_by_cohort_and_unit(client):
    ids = []
    for n in range(10, 17):
        unit = "Retail" if n % 2 else "Insurance"
        resp = await client.post(
            "/people", json=person(n, business_unit=unit), headers=ADMIN
        )
        ids.append(resp.json()["person_id"])
    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = (await client.get("/people", params=params, headers=ADMIN)).json()
        seen += [p["person_id"] for p in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(ids)

    retail = (await client.get("/people?business_unit=Retail", headers=ADMIN)).json()
    assert {p["business_unit"] for p in retail["items"]} == {"Retail"}
    assert len(retail["items"]) == 3

    cohort = (
        await client.post(
            "/cohorts", json={"name": "Pilot", "capacity": 9}, headers=ADMIN
        )
    ).json()["cohort_id"]
    for pid in ids[:2]:
        await client.post(
            f"/cohorts/{cohort}/participants", json={"person_id": pid}, headers=ADMIN
        )
    members = (await client.get(f"/people?cohort_id={cohort}", headers=ADMIN)).json()
    assert sorted(p["person_id"] for p in members["items"]) == sorted(ids[:2])
