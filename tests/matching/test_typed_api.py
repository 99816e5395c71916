"""Matching's typed API: each answer keeps the shape the gateway and the portal read
(no field lost to a response model, no absent field turned into a null), the closed
sets are enums in the document, and every route says which errors it answers."""

from __future__ import annotations

import pytest

from contracts.api.matching import RoundStatus
from contracts.matching import Criterion, Mode, PairingState, ReasonCode
from tests.invariants import matching_helpers
from tests.invariants.matching_helpers import build_org, event_types

pytestmark = pytest.mark.kafka
matching_pg = matching_helpers.matching_pg  # the fixture

PAIRING_FIELDS = {
    "pairing_id", "round_id", "cohort_id", "mentor_id", "mentee_id",
    "programme_type", "state", "score", "parts", "accepted_by", "replaces",
    "reason", "reason_code", "expires_at", "notes", "starts_on",
}  # fmt: skip
ROUND_FIELDS = {
    "round_id", "cohort_id", "mode", "programme_type", "mentees", "mentors",
    "status", "progress", "pinned",
}  # fmt: skip
OUTCOME = {"proposed", "unmatched", "total_score", "fairness", "not_proposed"}


async def test_the_answers_keep_their_shape(matching_pg):
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=2)
    started = await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    assert started.status_code == 202, started.text
    done = started.json()
    assert set(done) == ROUND_FIELDS | OUTCOME, "no error field, nothing null-filled"
    assert done["status"] == "completed" and done["fairness"] == {}
    assert done["pinned"] == [] and done["not_proposed"] == []
    again = await c.get(f"/rounds/{done['round_id']}", headers=org.coordinator)
    assert again.json() == done
    batch = await c.post(
        "/rounds/batch", json={"ids": [done["round_id"]]}, headers=org.coordinator
    )
    assert batch.json() == {"items": [done]}

    listed = (
        await c.get(f"/pairings?round_id={done['round_id']}", headers=org.coordinator)
    ).json()
    assert len(listed) == 1
    pairing = listed[0]
    assert set(pairing) == PAIRING_FIELDS
    assert pairing["state"] == "proposed" and pairing["reason"] is None
    assert pairing["reason_code"] is None and pairing["replaces"] is None
    assert set(pairing["parts"][0]) == {
        "criterion", "weight", "value", "contribution", "reason",
    }  # fmt: skip
    one = await c.get(f"/pairings/{pairing['pairing_id']}", headers=org.coordinator)
    assert one.json() == pairing

    declined = await c.post(
        f"/pairings/{pairing['pairing_id']}/withdraw",
        json={"reason": "the mentor moves abroad"},
        headers=org.coordinator,
    )
    assert declined.status_code == 204
    seen = (
        await c.get(f"/pairings/{pairing['pairing_id']}", headers=org.coordinator)
    ).json()
    assert seen["state"] == "withdrawn"
    (note,) = seen["notes"]
    assert set(note) == {"action", "code", "author_id", "text", "written_at"}
    assert (note["action"], note["code"]) == ("PairingWithdrawn", "other")


async def test_an_unknown_grouping_or_criterion_is_a_typed_422_and_starts_nothing(
    matching_pg,
):
    app, c = matching_pg
    org = await build_org(app, seats=[1], mentees=1)
    before = await event_types(app, org.tenant)
    bodies = [
        {"fairness": {"group_by": group_by}}
        for group_by in ("shoe_size", "demographics.", "demographics.a\u0000")
    ] + [{"weights": {"charisma": 1}}, {"mode": "speed"}]
    for body in bodies:
        resp = await c.post(
            "/rounds", json={"cohort_id": org.cohort, **body}, headers=org.coordinator
        )
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["code"] == "ValidationError"
    assert await event_types(app, org.tenant) == before, "nothing was recorded"


async def test_the_document_names_the_closed_sets_and_the_errors(matching_pg):
    _app, c = matching_pg
    doc = (await c.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert schemas["PairingState"]["enum"] == [s.value for s in PairingState]
    assert schemas["ReasonCode"]["enum"] == [r.value for r in ReasonCode]
    assert schemas["Mode"]["enum"] == [m.value for m in Mode]
    assert schemas["Criterion"]["enum"] == [c.value for c in Criterion]
    assert schemas["RoundStatus"]["enum"] == [s.value for s in RoundStatus]
    for name in ("PairingState", "ReasonCode", "RoundStatus"):
        assert schemas[name].get("description"), name
    state = next(
        p
        for p in doc["paths"]["/pairings"]["get"]["parameters"]
        if p["name"] == "state"
    )
    assert "PairingState" in str(state["schema"])
    group_by = schemas["FairnessIn"]["properties"]["group_by"]
    assert "demographics" in group_by["pattern"]
    approve = doc["paths"]["/pairings/{pairing_id}/approve"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(approve)
    assert "application/problem+json" in approve["409"]["content"]
    answer = approve["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/PairingView"}
