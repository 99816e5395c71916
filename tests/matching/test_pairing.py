"""The pairing lifecycle: given events → when command → then events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import matching as m
from services.matching.domain.pairing import (
    InvalidTransition,
    NotAParty,
    Pairing,
    ProposalExpired,
)

NOW = datetime(2027, 2, 1, 9, tzinfo=UTC)
PROPOSED = m.PairingProposed(
    pairing_id="pr-1",
    cohort_id="c-1",
    mentor_id="mentor",
    mentee_id="mentee",
    score=0.8,
    expires_at=NOW + timedelta(days=7),
)
APPROVED = m.PairingApproved(pairing_id="pr-1", mentor_id="mentor", mentee_id="mentee")


def given(*events) -> Pairing:
    return Pairing.rebuild("pr-1", "acme", events)


def test_both_acceptances_confirm_the_pairing():
    pairing = given(PROPOSED, APPROVED)
    pairing.accept("mentee", NOW)
    assert [type(e).__name__ for e in pairing.pending_events] == ["PairingAccepted"]
    pairing.accept("mentor", NOW)
    _accepted, confirmed = pairing.pending_events[1:]
    assert isinstance(confirmed, m.PairingConfirmed)
    assert (confirmed.mentor_id, confirmed.mentee_id, confirmed.cohort_id) == (
        "mentor",
        "mentee",
        "c-1",
    )
    assert pairing.state == "confirmed"


def test_accepting_twice_records_once():
    pairing = given(
        PROPOSED, APPROVED, m.PairingAccepted(pairing_id="pr-1", person_id="mentee")
    )
    pairing.accept("mentee", NOW)
    assert pairing.pending_events == []


def test_people_answer_only_after_the_coordinator_approved():
    pairing = given(PROPOSED)
    with pytest.raises(InvalidTransition):
        pairing.accept("mentee", NOW)


def test_only_the_two_people_can_answer():
    pairing = given(PROPOSED, APPROVED)
    with pytest.raises(NotAParty):
        pairing.accept("someone-else", NOW)
    with pytest.raises(NotAParty):
        pairing.decline("someone-else")


def test_a_decline_closes_the_proposal():
    pairing = given(PROPOSED, APPROVED)
    pairing.decline("mentor", "declined_schedule")
    assert pairing.state == "declined"
    assert pairing.pending_events[-1].reason == "declined_schedule"
    with pytest.raises(InvalidTransition):
        pairing.accept("mentee", NOW)


def test_an_expired_proposal_cannot_be_approved_and_expires():
    pairing = given(PROPOSED)
    later = NOW + timedelta(days=8)
    with pytest.raises(ProposalExpired):
        pairing.approve(later)
    assert pairing.expire(NOW) is False
    assert pairing.expire(later) is True
    assert isinstance(pairing.pending_events[-1], m.PairingExpired)


def test_a_confirmed_pairing_ends_but_cannot_be_withdrawn():
    pairing = given(
        PROPOSED,
        APPROVED,
        m.PairingConfirmed(pairing_id="pr-1", mentor_id="mentor", mentee_id="mentee"),
    )
    with pytest.raises(InvalidTransition):
        pairing.withdraw("re-run")
    pairing.end("rematched")
    assert pairing.pending_events[-1].reason == "rematched"


def test_nobody_is_paired_with_themself():
    with pytest.raises(InvalidTransition):
        Pairing.propose("acme", PROPOSED.model_copy(update={"mentor_id": "mentee"}))
