"""Councils and the risk register, given events → when a command → then events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.advisors import councils as c
from services.advisors.domain.council import (
    AlreadyDecided,
    Council,
    CouncilMeetingHeld,
    DeciderNotEligible,
    DecisionRightsNotAdvisory,
    MeetingNotHeldYet,
    NotAccepted,
    NotAMember,
    RationaleRequired,
    RecommendationAccepted,
    RecommendationRejected,
    UnknownMeeting,
)
from services.advisors.domain.risk import (
    Risk,
    RiskAlreadyClosed,
    RiskRaised,
    Scored,
    ScoreOutOfRange,
    heat_map,
    ranked,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHARTER = c.CouncilChartered(
    council_id="c1",
    name="Transformation council",
    purpose="Advise the programme on its transformation track",
    cadence_weeks=6,
    publish_decisions=True,
)
GIVEN = [
    CHARTER,
    c.CouncilMemberAdded(council_id="c1", member_id="adv-1", kind="advisor"),
    c.CouncilMemberAdded(council_id="c1", member_id="sponsor-1", kind="sponsor"),
    CouncilMeetingHeld(
        council_id="c1",
        meeting_id="m1",
        held_on=date(2026, 3, 1),
        attendees=5,
        agenda_items=1,
        agenda=["Retention of first-year executives"],
    ),
    c.RecommendationMade(
        council_id="c1",
        recommendation_id="r1",
        meeting_id="m1",
        title="Pair every new VP with an external advisor",
        made_by="adv-1",
        made_at=NOW,
    ),
]


def given(*extra) -> Council:
    return Council.rebuild("c1", "acme", [*GIVEN, *extra])


def test_a_council_is_chartered_to_advise():
    council = Council.charter_new(
        "c1",
        "acme",
        name="Transformation council",
        purpose="Advise",
        decision_rights="advise",
        cadence_weeks=6,
        publish_decisions=False,
    )
    assert [type(e) for e in council.pending_events] == [c.CouncilChartered]
    assert council.pending_events[0].decision_rights == "advise"


@pytest.mark.parametrize("rights", ["decide", "approve", ""])
def test_a_council_cannot_be_chartered_to_decide(rights):
    with pytest.raises(DecisionRightsNotAdvisory):
        Council.charter_new(
            "c1",
            "acme",
            name="Board",
            purpose="Decide",
            decision_rights=rights,
            cadence_weeks=4,
            publish_decisions=False,
        )


@pytest.mark.parametrize("rationale", [None, "", "   "])
def test_rejection_needs_a_rationale(rationale):
    council = given()
    with pytest.raises(RationaleRequired):
        council.reject(
            "r1", by="sponsor-1", overseer=False, at=NOW, rationale=rationale
        )
    assert council.pending_events == []
    assert council.recommendation("r1").status == "open"


def test_a_sponsor_member_rejects_with_a_rationale():
    council = given()
    council.reject("r1", by="sponsor-1", overseer=False, at=NOW, rationale=" Cost ")
    [event] = council.pending_events
    assert isinstance(event, RecommendationRejected)
    assert event.rationale == "Cost"
    assert council.recommendation("r1").decision == "rejected"


def test_an_advisor_cannot_decide_what_the_council_recommends():
    with pytest.raises(DeciderNotEligible):
        given().accept("r1", by="adv-1", overseer=False, at=NOW)


def test_implementing_needs_acceptance_first():
    with pytest.raises(NotAccepted):
        given().implement("r1", by="coordinator-1", overseer=True, at=NOW)
    rejected = given(
        RecommendationRejected(
            council_id="c1",
            recommendation_id="r1",
            rejected_by="sponsor-1",
            at=NOW,
            rationale="Not now",
        )
    )
    with pytest.raises(NotAccepted):
        rejected.implement("r1", by="coordinator-1", overseer=True, at=NOW)


def test_an_accepted_recommendation_is_implemented():
    council = given(
        RecommendationAccepted(
            council_id="c1", recommendation_id="r1", accepted_by="sponsor-1", at=NOW
        )
    )
    council.implement("r1", by="coordinator-1", overseer=True, at=NOW)
    assert [type(e) for e in council.pending_events] == [c.RecommendationImplemented]
    assert council.recommendation("r1").status == "implemented"
    assert council.recommendation("r1").decision == "accepted"
    with pytest.raises(AlreadyDecided):
        council.reject("r1", by="sponsor-1", overseer=False, at=NOW, rationale="x")


def test_recommendations_come_from_members_at_held_meetings():
    council = given()
    with pytest.raises(UnknownMeeting):
        council.recommend("r2", meeting_id="m9", title="t", made_by="adv-1", at=NOW)
    with pytest.raises(NotAMember):
        council.recommend("r2", meeting_id="m1", title="t", made_by="adv-9", at=NOW)
    assert council.next_meeting_due() == date(2026, 4, 12)


# -- risk register ---------------------------------------------------------------------


def test_a_risk_is_scored_and_reassessed():
    risk = Risk.raise_new(
        "k1",
        "acme",
        title="Executives lack time",
        category="capacity",
        likelihood=4,
        impact=3,
        owner_id="coordinator-1",
    )
    risk.reassess(5, 4)
    assert risk.score == 20
    assert [e.event_type for e in risk.pending_events] == [
        "RiskRaised",
        "RiskReassessed",
    ]


@pytest.mark.parametrize("likelihood, impact", [(0, 3), (6, 1), (3, 9)])
def test_scores_run_from_one_to_five(likelihood, impact):
    with pytest.raises(ScoreOutOfRange):
        Risk.raise_new(
            "k1",
            "acme",
            title="t",
            category="c",
            likelihood=likelihood,
            impact=impact,
            owner_id="o",
        )


def test_a_closed_risk_stays_closed():
    raised = RiskRaised(
        risk_id="k1", title="t", category="c", likelihood=2, impact=2, owner_id="o"
    )
    risk = Risk.rebuild("k1", "acme", [raised, c.RiskClosed(risk_id="k1")])
    with pytest.raises(RiskAlreadyClosed):
        risk.update_mitigation("Protect calendar time")


def test_the_register_ranks_by_likelihood_times_impact_then_impact():
    risks = [
        Scored("a", likelihood=2, impact=2),
        Scored("b", likelihood=5, impact=4),
        Scored("c", likelihood=2, impact=5),
        Scored("d", likelihood=5, impact=2),
        Scored("e", likelihood=4, impact=5),
    ]
    assert [r.risk_id for r in ranked(risks)] == ["e", "b", "c", "d", "a"]
    cells = {(x.likelihood, x.impact): x for x in heat_map(risks)}
    assert len(cells) == 25
    assert cells[(5, 4)].count == 1 and cells[(1, 1)].count == 0
    assert cells[(5, 4)].severity == "critical"
    assert sum(x.count for x in cells.values()) == 5


def test_a_meeting_is_recorded_once_it_was_held():
    council = given()
    with pytest.raises(MeetingNotHeldYet):
        council.hold_meeting(
            "m2",
            held_on=date(2026, 3, 3),
            attendees=4,
            agenda=[],
            today=date(2026, 3, 2),
        )
    council.hold_meeting(
        "m2", held_on=date(2026, 3, 2), attendees=4, agenda=[], today=date(2026, 3, 2)
    )
    assert council.pending_events[0].held_on == date(2026, 3, 2)
