"""Hostile input to the profiles API: every refusal is typed and changes nothing.

NUL bytes, 1 MB strings, 10,000-item lists, integers beyond a column, far dates and
references that do not exist, sent to the REST routes, SCIM and the HRIS import.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.profiles.application.scim import ERROR
from tests.profiles.conftest import ADMIN, COORDINATOR, OTHER_TENANT, person
from tests.profiles.test_cohorts_api import register
from tests.profiles.test_import import counts, hris, records, run_import
from tests.profiles.test_scim import USERS, assert_scim_error, create, scim, user

MEGA = "x" * (1024 * 1024)
LONG = "x" * 10_000
NUL = "Ada\x00Lovelace"


async def event_count(app) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()


def typed_refusal(resp, *statuses: int) -> dict:
    """A 4xx problem with a code: never a 5xx, never a bare framework error."""
    assert resp.status_code in (statuses or (400, 413, 422)), resp.text
    body = resp.json()
    assert body["code"], body
    return body


def cohort_body(**overrides) -> dict:
    return {"name": "Leaders", "capacity": 5, **overrides}


@pytest.mark.parametrize(
    "body",
    [
        cohort_body(name=LONG),
        cohort_body(name=NUL),
        cohort_body(name="   "),
        cohort_body(capacity=2**31),
        cohort_body(capacity=2**63),
        cohort_body(capacity=0),
        cohort_body(levels=[51519]),
        cohort_body(levels=list(range(1, 13)) * 1000),
        cohort_body(business_units=["Retail"] * 10_000),
        cohort_body(strategic_priority=NUL),
        cohort_body(eligibility={"business_units": [NUL]}),
        cohort_body(eligibility={"min_tenure_months": 2**40}),
        cohort_body(
            pathway=[
                {"stage": "intake", "starts_on": "9999-01-01", "ends_on": "9999-02-01"}
            ]
        ),
        cohort_body(unknown_member=True),
    ],
    ids=[
        "long-name",
        "nul-name",
        "blank-name",
        "capacity-2^31",
        "capacity-2^63",
        "capacity-0",
        "level-51519",
        "12000-levels",
        "10000-units",
        "nul-priority",
        "nul-eligibility",
        "tenure-2^40",
        "year-9999",
        "unknown-member",
    ],
)
async def test_bad_cohorts_are_refused_and_nothing_is_created(app, client, body):
    before = await event_count(app)
    typed_refusal(await client.post("/cohorts", json=body, headers=COORDINATOR))
    assert await event_count(app) == before
    assert (await client.get("/cohorts", headers=COORDINATOR)).json() == []


async def test_a_megabyte_anywhere_is_refused_before_it_is_stored(app, client):
    pid = await register(client, 1, roles=["mentor"])
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=ADMIN,
    )
    before = await event_count(app)
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 5}],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 4,
    }
    sent = [
        client.post("/cohorts", json=cohort_body(name=MEGA), headers=COORDINATOR),
        client.post(
            "/competencies", json={"competency_id": "x", "name": LONG}, headers=ADMIN
        ),
        client.post(
            "/competencies", json={"competency_id": "x", "name": MEGA}, headers=ADMIN
        ),
        client.post(
            "/competencies",
            json={"competency_id": "a/../b", "name": "Path"},
            headers=ADMIN,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={**profile, "industries": ["banking"] * 10_000},
            headers=COORDINATOR,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={**profile, "markets": [LONG]},
            headers=COORDINATOR,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={**profile, "leadership_style": NUL},
            headers=COORDINATOR,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={
                **profile,
                "availability": [{"weekday": 1, "start": "17:00", "end": "09:00"}],
            },
            headers=COORDINATOR,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={
                **profile,
                "availability": [{"weekday": 1, "start": "09:00", "end": "09:00"}],
            },
            headers=COORDINATOR,
        ),
        client.put(
            f"/people/{pid}/mentor-profile",
            json={**profile, "strengths": [{"competency_id": LONG, "proficiency": 5}]},
            headers=COORDINATOR,
        ),
    ]
    for call in sent:
        typed_refusal(await call)
    assert await event_count(app) == before
    names = [
        c["name"] for c in (await client.get("/competencies", headers=ADMIN)).json()
    ]
    assert names == ["Strategy"]
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json().get(
        "mentor_profile"
    ) is None


async def test_an_overnight_window_is_refused_a_day_long_one_accepted(client):
    pid = await register(client, 2, roles=["mentor"])
    await client.post(
        "/competencies",
        json={"competency_id": "strategy", "name": "Strategy"},
        headers=ADMIN,
    )
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 5}],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 4,
    }
    overnight = [{"weekday": 4, "start": "17:00", "end": "09:00"}]
    refused = await client.put(
        f"/people/{pid}/mentor-profile",
        json={**profile, "availability": overnight},
        headers=COORDINATOR,
    )
    problem = typed_refusal(refused, 422)
    assert problem["errors"][0]["path"].startswith("body.availability.0")
    whole_day = [{"weekday": 4, "start": "00:00", "end": "24:00"}]
    accepted = await client.put(
        f"/people/{pid}/mentor-profile",
        json={**profile, "availability": whole_day},
        headers=COORDINATOR,
    )
    assert accepted.status_code == 204, accepted.text


@pytest.mark.parametrize(
    "route", ["/people/batch", "/cohorts/batch", "/cohorts/memberships"]
)
async def test_batch_endpoints_refuse_nul_long_and_too_many_ids(client, route):
    for ids in (["ok", NUL], ["ok", LONG], [f"id-{n}" for n in range(10_000)]):
        typed_refusal(await client.post(route, json={"ids": ids}, headers=ADMIN), 422)
    ok = await client.post(route, json={"ids": ["unknown-id"]}, headers=ADMIN)
    assert ok.status_code == 200 and ok.json() == {"items": []}


async def test_query_and_path_parameters_are_bounded(client):
    pid = await register(client, 3)
    for url in (
        "/people?limit=9223372036854775808",
        "/people?limit=0",
        f"/people?after={LONG[:200]}",
        "/people?after=%00",
        "/people?role=%25",
        "/people?status=anything",
        f"/people/{LONG[:300]}",
        "/people/a%00b",
        f"/cohorts/x/eligibility/{pid}?role=admin",
        "/imports/x?errors_after=9223372036854775808",
        "/imports/x/records?after=-1",
    ):
        typed_refusal(await client.get(url, headers=ADMIN))
    # A role with LIKE wildcards used to match everyone; it is no role at all now.
    assert (await client.get("/people?role=%25", headers=ADMIN)).status_code == 422


async def test_a_manager_must_be_a_known_person_of_the_tenant(app, client):
    boss = await register(client, 10)
    stranger = (
        await client.post("/people", json=person(11), headers=OTHER_TENANT)
    ).json()["person_id"]
    gone = await register(client, 12)
    assert (await client.delete(f"/people/{gone}", headers=ADMIN)).status_code == 204
    before = await event_count(app)
    for manager in ("no-such-person", stranger, gone):
        refused = await client.post(
            "/people", json=person(13, manager_id=manager), headers=COORDINATOR
        )
        problem = typed_refusal(refused, 422)
        assert [e["path"] for e in problem["errors"]] == ["manager_id"]
    assert await event_count(app) == before

    pid = await register(client, 13, manager_id=boss)
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()[
        "manager_id"
    ] == boss
    for manager in (pid, "no-such-person"):
        details = person(13, manager_id=manager)
        details.pop("roles")
        refused = await client.put(f"/people/{pid}", json=details, headers=COORDINATOR)
        assert [e["path"] for e in typed_refusal(refused, 422)["errors"]] == [
            "manager_id"
        ]
    assert (await client.get(f"/people/{pid}", headers=ADMIN)).json()[
        "manager_id"
    ] == boss


async def test_people_refuse_nul_far_dates_and_huge_lists(app, client):
    before = await event_count(app)
    for body in (
        person(20, given_name=NUL),
        person(20, title=LONG),
        person(20, level=2**31),
        person(20, level=0),
        person(20, hire_date="9999-12-31"),
        person(20, hire_date="0001-01-01"),
        person(20, languages=["en"] * 10_000),
        person(20, employee_id="E\x001"),
    ):
        typed_refusal(await client.post("/people", json=body, headers=COORDINATOR))
    assert await event_count(app) == before


# -- SCIM: its own error format, bounded pages and filters -------------------------


async def test_scim_refuses_out_of_range_pages_with_a_scim_error(client):
    await create(client, 1)
    for params in (
        {"startIndex": "100000000000000000000"},
        {"count": "100000000000000000000"},
        {"startIndex": "-100000000000000000000"},
    ):
        resp = await scim(client, "GET", USERS, **params)
        assert_scim_error(resp, 400, "invalidValue")
    body = {"schemas": [ERROR], "startIndex": 10**20}
    resp = await scim(client, "POST", f"{USERS}/.search", body)
    assert_scim_error(resp, 400, "invalidValue")
    # Low values keep their RFC 7644 reading: startIndex < 1 is 1, count < 0 is 0.
    page = await scim(client, "GET", USERS, startIndex="-5", count="-1")
    assert page.status_code == 200 and page.json()["Resources"] == []


async def test_a_deeply_nested_scim_filter_is_an_invalid_filter(client):
    await create(client, 1)
    deep = "(" * 200 + 'userName eq "grace1@acme.example"' + ")" * 200
    assert_scim_error(
        await scim(client, "GET", USERS, filter=deep), 400, "invalidFilter"
    )
    nots = "not (" * 100 + 'userName eq "x"' + ")" * 100
    assert_scim_error(
        await scim(client, "GET", USERS, filter=nots), 400, "invalidFilter"
    )
    huge = f"{TANDEM_LEVEL} gt 100000000000000000000"
    assert_scim_error(
        await scim(client, "GET", USERS, filter=huge), 400, "invalidFilter"
    )
    nul = 'userName eq "a\\u0000b"'
    assert_scim_error(
        await scim(client, "GET", USERS, filter=nul), 400, "invalidFilter"
    )
    # A few levels still work.
    shallow = "((" + 'userName eq "grace1@acme.example"' + "))"
    found = await scim(client, "GET", USERS, filter=shallow)
    assert found.status_code == 200 and found.json()["totalResults"] == 1


TANDEM_LEVEL = "urn:ietf:params:scim:schemas:extension:tandem:2.0:User:level"


async def test_scim_refuses_nul_and_unknown_managers_and_creates_nothing(app, client):
    before = await event_count(app)
    for body in (
        user(1, userName="grace\x00@acme.example"),
        user(1, externalId="okta\x001"),
        user(1, title=LONG),
        user(1, name={"givenName": "G" * 250, "familyName": "Hopper"}),
        user(
            1,
            **{
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "S1",
                    "department": "Technology",
                    "manager": {"value": "no-such-user"},
                }
            },
        ),
    ):
        assert_scim_error(await scim(client, "POST", USERS, body), 400, "invalidValue")
    assert await event_count(app) == before


# -- HRIS import: the same bounds, per record -------------------------------------


async def test_import_applies_the_bounds_per_record_not_per_job(client):
    batch = [
        hris(1),
        hris(2, given_name=NUL),
        hris(3, title=LONG),
        hris(4, level=2**31),
        hris(5, hire_date="9999-12-31"),
        hris(6, languages=["en"] * 1000),
        hris(7, manager_employee_id="E\x0099"),
        hris(8),
    ]
    report = await run_import(client, batch)
    assert report["status"] == "succeeded"
    assert report["counts"] == counts(created=2, failed=6)
    outcome = await records(client, report)
    failed = {e for e, r in outcome.items() if r["outcome"] == "failed"}
    assert failed == {"E00002", "E00003", "E00004", "E00005", "E00006", "E00007"}
