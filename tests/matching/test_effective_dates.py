"""Effective dates in matching (issue 20): a coordinator sets the relationship's start
on approval; ``PairingConfirmed`` carries it, the pairing shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.errors import ValidationFailed
from chassis.service import mounted
from contracts import matching as m
from services.matching.domain.pairing import Pairing
from tests.matching.test_pairings_api import COORDINATOR, propose
from tests.profiles.conftest import token

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _proposed() -> Pairing:
    return Pairing.propose(
        "acme",
        m.PairingProposed(
            pairing_id="p-1",
            mentor_id="mentor",
            mentee_id="mentee",
            score=0.5,
            expires_at=NOW + timedelta(days=7),
        ),
    )


@pytest.mark.unit
def test_the_start_set_on_approval_is_carried_by_the_confirmation():
    pairing = _proposed()
    pairing.approve(NOW, date(2025, 9, 1))  # last year's programme: a past start
    pairing.accept("mentee", NOW)
    pairing.accept("mentor", NOW)
    confirmed = [e for e in pairing.pending_events if isinstance(e, m.PairingConfirmed)]
    assert [e.starts_on for e in confirmed] == [date(2025, 9, 1)]


@pytest.mark.unit
def test_without_a_start_the_confirmation_says_none():
    pairing = _proposed()
    pairing.approve(NOW)
    pairing.accept("mentee", NOW)
    pairing.accept("mentor", NOW)
    confirmed = [e for e in pairing.pending_events if isinstance(e, m.PairingConfirmed)]
    assert [e.starts_on for e in confirmed] == [None]


@pytest.mark.unit
def test_a_start_more_than_a_year_ahead_is_refused_and_records_nothing():
    pairing = _proposed()
    before = list(pairing.pending_events)
    with pytest.raises(ValidationFailed) as refused:
        pairing.approve(NOW, date(2028, 1, 1))
    assert [e.path for e in refused.value.errors] == ["starts_on"]
    assert pairing.pending_events == before
    pairing.approve(NOW, date(2027, 12, 3))  # a year ahead is still allowed


@pytest.mark.unit
def test_an_old_confirmation_without_the_field_still_decodes():
    old = m.PairingConfirmed.model_validate(
        {"pairing_id": "p", "mentor_id": "a", "mentee_id": "b"}
    )
    assert old.starts_on is None


@pytest.mark.kafka
async def test_approval_with_a_past_start_shows_it_and_the_confirmation_carries_it(
    matching,
):
    app, c = matching
    pid, mentor, mentee = await propose(app)
    approved = await c.post(
        f"/pairings/{pid}/approve",
        json={"starts_on": "2025-09-01"},
        headers=COORDINATOR,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["starts_on"] == "2025-09-01"
    await c.post(f"/pairings/{pid}/accept", headers=token("acme", "mentee", sub=mentee))
    await c.post(f"/pairings/{pid}/accept", headers=token("acme", "mentor", sub=mentor))
    seen = (await c.get(f"/pairings/{pid}", headers=COORDINATOR)).json()
    assert seen["state"] == "confirmed" and seen["starts_on"] == "2025-09-01"
    mine = await c.get("/pairings", headers=token("acme", "mentee", sub=mentee))
    assert [p["starts_on"] for p in mine.json()] == ["2025-09-01"]

    stream = await mounted(app).runtime.store.read_stream(pid, tenant="acme")
    confirmed = [e for e in stream if e.event_type == "PairingConfirmed"]
    assert [e.data["starts_on"] for e in confirmed] == ["2025-09-01"]


@pytest.mark.kafka
async def test_approval_without_a_body_still_works_and_shows_no_start(matching):
    app, c = matching
    pid, _mentor, _mentee = await propose(app)
    approved = await c.post(f"/pairings/{pid}/approve", headers=COORDINATOR)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert approved.json()["starts_on"] is None


@pytest.mark.kafka
async def test_a_start_too_far_ahead_is_a_typed_422_naming_the_field_and_changes_nothing(
    matching,
):
    app, c = matching
    pid, _mentor, _mentee = await propose(app)
    too_far = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    refused = await c.post(
        f"/pairings/{pid}/approve", json={"starts_on": too_far}, headers=COORDINATOR
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "ValidationError"
    assert [e["path"] for e in body["errors"]] == ["starts_on"]
    seen = (await c.get(f"/pairings/{pid}", headers=COORDINATOR)).json()
    assert seen["state"] == "proposed" and seen["starts_on"] is None

    garbage = await c.post(
        f"/pairings/{pid}/approve", json={"starts_on": "soon"}, headers=COORDINATOR
    )
    assert garbage.status_code == 422
    seen = (await c.get(f"/pairings/{pid}", headers=COORDINATOR)).json()
    assert seen["state"] == "proposed"
