"""Batch reads for the gateway: each item authorised like ``GET /pairings/{id}``."""

from __future__ import annotations

import pytest

from tests.matching.test_pairings_api import COORDINATOR, propose
from tests.profiles.conftest import OTHER_TENANT, token

pytestmark = pytest.mark.kafka


async def test_pairings_batch_answers_only_what_the_caller_may_see(matching):
    app, c = matching
    first, mentor, mentee = await propose(app)
    second, _, _ = await propose(app)
    ids = {"ids": [first, second, "no-such"]}

    seen = await c.post("/pairings/batch", json=ids, headers=COORDINATOR)
    assert seen.status_code == 200, seen.text
    assert {p["pairing_id"] for p in seen.json()["items"]} == {first, second}
    assert all(p["parts"] for p in seen.json()["items"])

    as_mentee = token("acme", "mentee", sub=mentee)
    own = (await c.post("/pairings/batch", json=ids, headers=as_mentee)).json()
    assert [p["pairing_id"] for p in own["items"]] == [first]
    as_mentor = token("acme", "mentor", sub=mentor)
    own = (await c.post("/pairings/batch", json=ids, headers=as_mentor)).json()
    assert [p["pairing_id"] for p in own["items"]] == [first]

    other = await c.post("/pairings/batch", json=ids, headers=OTHER_TENANT)
    assert other.json()["items"] == []


async def test_rounds_batch_is_for_the_programme_team(matching):
    _app, c = matching
    body = {"ids": ["no-such-round"]}
    empty = await c.post("/rounds/batch", json=body, headers=COORDINATOR)
    assert empty.status_code == 200 and empty.json()["items"] == []
    refused = await c.post(
        "/rounds/batch", json=body, headers=token("acme", "mentee", sub="m")
    )
    assert refused.status_code == 403
