"""Given an inbound event, who is told what: nothing the recipient may not read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import insights as i
from contracts import matching as m
from contracts.sessions import meetings as s
from services.notifications.domain import notices
from services.notifications.domain.notices import Kind

AT = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)
# What any notice may say: ids, moments and numbers (never a person's words,
# a score or its explanation, a warning's reasons, another person's id).
ALLOWED_FACTS = {
    "pairing_id",
    "expires_at",
    "starts_on",
    "session_id",
    "relationship_id",
    "starts_at",
    "minutes",
}


def test_a_proposal_tells_mentor_and_mentee_without_the_score():
    e = m.PairingProposed(
        pairing_id="p1",
        mentor_id="a",
        mentee_id="b",
        score=0.9,
        parts=[],
        expires_at=AT,
        reason=m.ReasonCode.NEXT_BEST_AFTER_DECLINE,
    )
    told = notices.pairing_proposed(e)
    assert [(n.kind, n.recipient_id) for n in told] == [
        (Kind.PAIRING_PROPOSED, "a"),
        (Kind.PAIRING_PROPOSED, "b"),
    ]
    assert all(n.required for n in told)
    assert all(set(n.facts) <= ALLOWED_FACTS for n in told)
    assert "0.9" not in str([n.facts for n in told])


def test_the_one_who_scheduled_a_session_is_not_told_of_it():
    e = s.SessionScheduled(
        session_id="s1",
        relationship_id="r1",
        starts_at=AT,
        minutes=45,
        scheduled_by="a",
    )
    told = notices.session_scheduled(e, "a", "b")
    assert [n.recipient_id for n in told] == ["b"]
    assert told[0].facts == {
        "session_id": "s1",
        "relationship_id": "r1",
        "starts_at": AT.isoformat(),
        "minutes": "45",
    }


def test_a_programme_s_history_tells_nobody():
    """Last year's programme brought over: its pairings were never proposed to
    anyone (no score) and its sessions had begun before they were recorded."""
    recorded = m.PairingProposed(
        pairing_id="p1", mentor_id="a", mentee_id="b", score=None, expires_at=AT
    )
    assert notices.pairing_proposed(recorded) == []
    held = s.SessionScheduled(
        session_id="s1",
        relationship_id="r1",
        starts_at=AT,
        minutes=45,
        scheduled_by="a",
    )
    assert notices.session_scheduled(held, "a", "b", now=AT) == []
    assert notices.session_scheduled(held, "a", "b", now=AT - timedelta(hours=1))


def test_an_early_warning_nudges_the_pair_without_insights_reasons():
    e = i.EarlyWarningRaised(
        relationship_id="r1",
        mentor_id="a",
        mentee_id="b",
        level=i.WarningLevel.AT_RISK,
        reasons=["mentee said they feel ignored"],
    )
    told = notices.early_warning(e)
    assert [n.recipient_id for n in told] == ["a", "b"]
    assert all(n.facts == {"relationship_id": "r1"} for n in told)
    assert not any(n.required for n in told)


def test_a_pair_of_one_person_is_told_once():
    e = m.PairingApproved(pairing_id="p", mentor_id="a", mentee_id="a")
    assert len(notices.pairing_approved(e)) == 1


def test_the_notification_id_is_one_per_tenant_event_and_recipient():
    one = notices.notification_id("acme", "e1", "a")
    assert one == notices.notification_id("acme", "e1", "a")
    assert (
        len(
            {
                one,
                notices.notification_id("acme", "e1", "b"),
                notices.notification_id("globex", "e1", "a"),
                notices.notification_id("acme", "e2", "a"),
            }
        )
        == 4
    )


def test_the_events_of_a_pairing_of_the_history_are_known_as_such():
    """An unscored proposal is of the history (and names its pairing); that
    pairing's approval and confirmation are too, a scored pairing's are not; a
    session is of the history when it had begun before it was recorded."""
    recorded = m.PairingProposed(
        pairing_id="p1", mentor_id="a", mentee_id="b", score=None, expires_at=AT
    )
    scored = m.PairingProposed(
        pairing_id="p2", mentor_id="a", mentee_id="b", score=0.7, expires_at=AT
    )
    assert notices.history_pairing(recorded) == "p1"
    assert notices.history_pairing(scored) is None
    assert notices.from_history(recorded, AT, set())
    assert not notices.from_history(scored, AT, set())
    for later in (
        m.PairingApproved(pairing_id="p1", mentor_id="a", mentee_id="b"),
        m.PairingConfirmed(pairing_id="p1", mentor_id="a", mentee_id="b"),
    ):
        assert notices.from_history(later, AT, {"p1"})
        assert not notices.from_history(later, AT, {"p2"})
    held = s.SessionScheduled(
        session_id="s1", relationship_id="r1", starts_at=AT, minutes=45,
        scheduled_by="a",
    )  # fmt: skip
    assert notices.from_history(held, AT, set())
    assert not notices.from_history(held, AT - timedelta(minutes=1), set())
