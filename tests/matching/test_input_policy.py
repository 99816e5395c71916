"""Matching's share of the input policy: every id, text, list, number and date a
caller sends is bounded (``chassis.inputs``), so hostile input is a typed 422 that
changes nothing, and the bounds show in the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.invariants import matching_helpers
from tests.invariants.matching_helpers import build_org, event_types

pytestmark = pytest.mark.kafka
matching_pg = matching_helpers.matching_pg  # the fixture

MEGABYTE = "x" * 1_000_000
LONG_ID = "a" * 129


async def test_hostile_input_is_a_typed_422_and_changes_nothing(matching_pg):
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=1)
    (mentor,), (mentee,) = org.mentors, org.mentees
    before = await event_types(app, org.tenant)
    posts = [
        ("/rounds", {"cohort_id": MEGABYTE}),
        ("/rounds", {"cohort_id": "cohort\u0000"}),
        ("/rounds", {"cohort_id": org.cohort, "min_score": 2}),
        ("/rounds", {"cohort_id": org.cohort, "weights": {"skills": 1e308}}),
        ("/rounds", {"cohort_id": org.cohort, "weights": {MEGABYTE: 1}}),
        (
            "/rounds",
            {
                "cohort_id": org.cohort,
                "fairness": {"group_by": "business_unit", "min_group_size": 2**63},
            },
        ),
        (
            "/rounds",
            {
                "cohort_id": org.cohort,
                "pins": [{"mentee_id": mentee, "mentor_id": mentor}] * 10_000,
            },
        ),
        ("/rounds", {"cohort_id": org.cohort, "pins": [{"mentee_id": LONG_ID}]}),
        ("/rounds/batch", {"ids": [LONG_ID]}),
        ("/pairings/batch", {"ids": ["a"] * 10_000}),
        (
            "/forbidden-pairs",
            {"mentor_id": mentor, "mentee_id": "e\u0000", "reason": "x"},
        ),
        (
            "/forbidden-pairs",
            {"mentor_id": mentor, "mentee_id": mentee, "reason": MEGABYTE},
        ),
        (f"/mentees/{mentee}/dismissed", {"mentor_id": LONG_ID}),
        (
            f"/mentees/{mentee}/rotation",
            {"cycles": 2, "cycle_weeks": 8, "starts_on": "9999-01-01"},
        ),
        (
            f"/mentees/{mentee}/rotation",
            {"cycles": 2**63, "cycle_weeks": 8, "starts_on": "2030-01-01"},
        ),
        ("/pairings/p-1/withdraw", {"reason": MEGABYTE}),
        ("/pairings/p-1/decline", {"reason": "a\u0000b"}),
        ("/pairings/p-1/repair", {"reason": ""}),
        (f"/pairings/{LONG_ID}/approve", None),
        (f"/rounds/{LONG_ID}/rerun", {"pins": []}),
    ]
    for path, body in posts:
        resp = await c.post(path, json=body, headers=org.coordinator)
        assert resp.status_code == 422, (path, resp.status_code, resp.text[:300])
        assert resp.json()["code"] == "ValidationError", path
    gets = [
        f"/pairings?person_id={LONG_ID}",
        "/pairings?round_id=a%20b",
        "/pairings?state=everything",
        "/pairings?limit=100000000000000000000",
        "/pairings?limit=0",
        f"/rounds/{LONG_ID}",
        f"/mentees/{mentee}/suggestions?cohort_id={LONG_ID}",
        f"/mentees/{mentee}/suggestions?top=1000",
    ]
    for path in gets:
        resp = await c.get(path, headers=org.coordinator)
        assert resp.status_code == 422, (path, resp.status_code, resp.text[:300])
        assert resp.json()["code"] == "ValidationError", path
    assert await event_types(app, org.tenant) == before, "nothing was recorded"


async def test_the_bounds_are_in_the_openapi_document(matching_pg):
    _app, c = matching_pg
    doc = (await c.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    cohort_id = schemas["RoundIn"]["properties"]["cohort_id"]
    assert cohort_id["maxLength"] == 128 and "pattern" in cohort_id
    assert schemas["RoundIn"]["properties"]["pins"]["maxItems"] == 500
    listing = doc["paths"]["/pairings"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 500)
    person = next(p for p in listing if p["name"] == "person_id")["schema"]
    assert "128" in str(person)
    approve = doc["paths"]["/pairings/{pairing_id}/approve"]["post"]["parameters"]
    assert approve[0]["schema"]["maxLength"] == 128
