"""The relationship and its learning contract: given events → when command → then events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.sessions import relationships as r
from services.sessions.domain import events as ev
from services.sessions.domain.meeting import NotYetDue, Session
from services.sessions.domain.relationship import (
    ContractNotInForce,
    InvalidTransition,
    NotAParty,
    PauseEndsInPast,
    Relationship,
)

STARTED = r.RelationshipStarted(
    relationship_id="rel-1",
    pairing_id="rel-1",
    mentor_id="mentor",
    mentee_id="mentee",
    starts_on=date(2027, 2, 1),
    planned_end_on=date(2027, 8, 1),
)
CADENCE = r.Cadence(every_days=14, minutes=60)
DRAFT = ev.ContractDrafted(
    relationship_id="rel-1", version=1, cadence=CADENCE, hours_per_month=4, objectives=2
)


def given(*events) -> Relationship:
    return Relationship.rebuild("rel-1", "acme", events)


def test_starting_from_a_pairing_plans_about_six_months():
    rel = Relationship.start(
        "acme",
        pairing_id="p-1",
        mentor_id="mentor",
        mentee_id="mentee",
        cohort_id=None,
        kind="reverse",
        starts_on=date(2027, 1, 1),
    )
    (started,) = rel.pending_events
    assert (started.relationship_id, started.kind) == ("p-1", "reverse")
    assert (started.planned_end_on - started.starts_on).days in range(180, 186)


def test_the_contract_is_in_force_only_once_both_signed():
    rel = given(STARTED, DRAFT)
    rel.sign("mentee", 1)
    assert [type(e).__name__ for e in rel.pending_events] == ["ContractSigned"]
    with pytest.raises(ContractNotInForce):
        rel.require_contract()
    rel.sign("mentor", 1)
    assert type(rel.pending_events[-1]).__name__ == "ContractInForce"
    rel.require_contract()


def test_a_change_needs_both_signatures_again():
    rel = given(
        STARTED,
        DRAFT,
        r.ContractSigned(relationship_id="rel-1", version=1, person_id="mentee"),
        r.ContractSigned(relationship_id="rel-1", version=1, person_id="mentor"),
        r.ContractInForce(relationship_id="rel-1", version=1),
    )
    rel.draft_contract(
        "mentor", cadence=CADENCE, hours_per_month=6, objectives=2, terms_text_id=None
    )
    assert rel.pending_events[-1].version == 2
    with pytest.raises(ContractNotInForce):
        rel.require_contract()
    with pytest.raises(InvalidTransition):
        rel.sign("mentee", 1)  # the old version cannot be signed any more


def test_only_the_pair_drafts_and_signs():
    rel = given(STARTED, DRAFT)
    with pytest.raises(NotAParty):
        rel.sign("coordinator", 1)
    with pytest.raises(NotAParty):
        rel.draft_contract(
            "someone",
            cadence=CADENCE,
            hours_per_month=1,
            objectives=1,
            terms_text_id=None,
        )


def test_pause_resume_conclude_follow_the_states():
    rel = given(STARTED)
    rel.pause(today=date(2027, 3, 1))
    with pytest.raises(InvalidTransition):
        rel.pause(today=date(2027, 3, 1))
    rel.resume()
    rel.conclude("completed")
    with pytest.raises(InvalidTransition):
        rel.draft_contract(
            "mentee",
            cadence=CADENCE,
            hours_per_month=1,
            objectives=1,
            terms_text_id=None,
        )
    assert [type(e).__name__ for e in rel.pending_events] == [
        "RelationshipPaused",
        "RelationshipResumed",
        "RelationshipConcluded",
    ]


def test_a_concluded_relationship_takes_nothing_new():
    rel = given(
        STARTED, r.RelationshipConcluded(relationship_id="rel-1", reason="completed")
    )
    with pytest.raises(InvalidTransition):
        rel.require_open()


# -- nothing of a relationship is dated before it started --------------------------

IN_FORCE = (
    STARTED,
    DRAFT,
    r.ContractSigned(relationship_id="rel-1", version=1, person_id="mentee"),
    r.ContractSigned(relationship_id="rel-1", version=1, person_id="mentor"),
    r.ContractInForce(relationship_id="rel-1", version=1),
)


def schedule(rel: Relationship, starts_at: datetime) -> Session:
    return Session.schedule(
        rel,
        session_id="s-1",
        by="mentee",
        starts_at=starts_at,
        minutes=60,
        format="one_to_one",
        busy=[],
        availability=None,
    )


def test_a_session_that_has_not_started_takes_no_held_record():
    session = Session.rebuild(
        "s-1",
        "acme",
        schedule(given(*IN_FORCE), datetime(2027, 3, 1, 9, tzinfo=UTC)).pending_events,
    )
    with pytest.raises(NotYetDue):
        session.hold(
            "mentor",
            now=datetime(2027, 2, 20, tzinfo=UTC),
            held_at=None,
            minutes=None,
            started_on=date(2027, 2, 1),
        )


def test_a_pause_until_a_day_already_past_is_refused():
    rel = given(STARTED)
    for until in (date(2027, 2, 20), date(2027, 3, 1)):
        with pytest.raises(PauseEndsInPast):
            rel.pause(until, today=date(2027, 3, 1))
    rel.pause(date(2027, 3, 15), today=date(2027, 3, 1))
    assert rel.pending_events[-1].until == date(2027, 3, 15)
