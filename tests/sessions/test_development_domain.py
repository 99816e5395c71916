"""Milestones, rotations, check-ins and escalations: given events → when → then."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from chassis.errors import Forbidden
from chassis.events import EventMetadata, LogPosition, RecordedEvent, encode, utcnow
from chassis.publication import Publication
from contracts.sessions import development as d
from contracts.sessions import registry as contracts
from services.sessions.domain.checkin import (
    CheckIn,
    Escalation,
    NotCoordinator,
    NotHeldYet,
    SponsorRequired,
)
from services.sessions.domain.events import registry
from services.sessions.domain.milestone import (
    ConfirmerNotEligible,
    CriteriaRequired,
    DueDateInPast,
    EvidenceRequired,
    Milestone,
    MilestoneClosed,
    MilestoneSet,
    UnknownObjective,
)
from services.sessions.domain.relationship import BeforeRelationshipStarted
from services.sessions.domain.rotation import (
    DebriefRequired,
    GoalLinkRequired,
    Rotation,
    RotationAssigned,
    RotationLengthInvalid,
)

TODAY = date(2026, 3, 1)
STARTED_ON = date(2026, 2, 1)  # the relationship's first day
LATER = date(2026, 4, 30)  # a day when achievements are recorded
MENTOR, MENTEE, COORD = "mentor-1", "mentee-1", "coordinator-1"


def set_milestone(**overrides) -> Milestone:
    args = {
        "relationship_id": "rel-1",
        "mentee_id": MENTEE,
        "objective_index": 0,
        "objectives": 2,
        "due_on": date(2026, 3, 30),
        "criteria": ["plan presented", "executive team endorses it"],
        "label_text_id": "t-label",
        "criteria_text_id": "t-criteria",
        "today": TODAY,
        "started_on": STARTED_ON,
    }
    return Milestone.set("m-1", "acme", **{**args, **overrides})


def given_milestone() -> Milestone:
    """A milestone as loaded from its stored MilestoneSet."""
    return Milestone.rebuild("m-1", "acme", set_milestone().pending_events)


def test_a_milestone_is_set_on_an_objective_with_counted_criteria():
    (event,) = set_milestone().pending_events
    assert isinstance(event, MilestoneSet)
    assert event.criteria == 2 and event.label_text_id == "t-label"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"due_on": TODAY - timedelta(days=3)}, DueDateInPast),
        ({"criteria": []}, CriteriaRequired),
        ({"criteria": ["  "]}, CriteriaRequired),
        ({"objective_index": 2}, UnknownObjective),
    ],
)
def test_a_milestone_needs_a_due_date_not_past_criteria_and_a_real_objective(
    overrides, error
):
    with pytest.raises(error):
        set_milestone(**overrides)


def test_the_mentor_confirms_achievement_with_evidence_on_time():
    milestone = given_milestone()
    milestone.achieve(
        MENTOR,
        mentor_id=MENTOR,
        is_coordinator=False,
        evidence_text_id="t-evidence",
        achieved_on=date(2026, 3, 28),
        today=LATER,
        started_on=STARTED_ON,
    )
    (event,) = milestone.pending_events
    assert event.confirmed_by == MENTOR and event.confirmer_role == "mentor"
    assert event.on_time is True
    assert milestone.require_achieved() is event


def test_a_coordinator_may_confirm_and_lateness_is_recorded():
    milestone = given_milestone()
    milestone.achieve(
        COORD,
        mentor_id=MENTOR,
        is_coordinator=True,
        evidence_text_id="t-evidence",
        achieved_on=date(2026, 4, 2),
        today=LATER,
        started_on=STARTED_ON,
    )
    (event,) = milestone.pending_events
    assert event.confirmer_role == "coordinator" and event.on_time is False


def test_the_mentee_alone_cannot_confirm_and_evidence_is_required():
    milestone = given_milestone()
    with pytest.raises(ConfirmerNotEligible):
        milestone.achieve(
            MENTEE,
            mentor_id=MENTOR,
            is_coordinator=False,
            evidence_text_id="t-evidence",
            achieved_on=TODAY,
            today=LATER,
            started_on=STARTED_ON,
        )
    with pytest.raises(EvidenceRequired):
        milestone.achieve(
            MENTOR,
            mentor_id=MENTOR,
            is_coordinator=False,
            evidence_text_id=None,
            achieved_on=TODAY,
            today=LATER,
            started_on=STARTED_ON,
        )
    assert milestone.pending_events == []


def test_an_achieved_milestone_is_closed():
    milestone = given_milestone()
    milestone.achieve(
        MENTOR,
        mentor_id=MENTOR,
        is_coordinator=False,
        evidence_text_id="t",
        achieved_on=TODAY,
        today=LATER,
        started_on=STARTED_ON,
    )
    with pytest.raises(MilestoneClosed):
        milestone.progress("at_risk")


def test_stored_text_ids_are_not_published():
    recorded = registry.model("MilestoneSet")
    assert recorded is MilestoneSet
    assert "label_text_id" not in d.MilestoneSet.model_fields


def assign(days: int = 21) -> Rotation:
    return Rotation.assign(
        "r-1",
        "acme",
        relationship_id="rel-1",
        mentee_id=MENTEE,
        function="supply-chain",
        market=None,
        host_id="host-1",
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=days),
        project_kind="cost_to_serve_analysis",
        project_text_id=None,
        started_on=STARTED_ON,
    )


@pytest.mark.parametrize("days", [14, 21, 28])
def test_a_rotation_lasts_two_to_four_weeks(days):
    (event,) = assign(days).pending_events
    assert isinstance(event, RotationAssigned)
    assert (event.ends_on - event.starts_on).days == days


@pytest.mark.parametrize("days", [0, 13, 29, 60])
def test_a_shorter_or_longer_rotation_is_refused(days):
    with pytest.raises(RotationLengthInvalid):
        assign(days)


def test_completing_a_rotation_needs_its_debrief_linked_to_goals():
    rotation = Rotation.rebuild("r-1", "acme", assign().pending_events)
    with pytest.raises(DebriefRequired):
        rotation.complete(TODAY)
    with pytest.raises(GoalLinkRequired):
        rotation.debrief([], "t-reflection")
    rotation.debrief(["strategic-foresight", "strategic-foresight"], "t-reflection")
    rotation.complete(TODAY + timedelta(days=21))
    debriefed, completed = rotation.pending_events
    assert debriefed.goal_competency_ids == ("strategic-foresight",)
    assert completed.event_type == "RotationCompleted"


def record_check_in(kind: str, sponsor_id: str | None) -> CheckIn:
    return CheckIn.record(
        "c-1",
        "acme",
        relationship_id="rel-1",
        kind=kind,  # type: ignore[arg-type]
        held_on=TODAY,
        sponsor_id=sponsor_id,
        alignment=4,
        correction_text_id="t-correction",
        today=TODAY,
        started_on=STARTED_ON,
    )


def test_a_quarterly_review_needs_its_sponsor_a_monthly_check_does_not():
    with pytest.raises(SponsorRequired):
        record_check_in("quarterly", None)
    (review,) = record_check_in("quarterly", "sponsor-1").pending_events
    assert review.sponsor_id == "sponsor-1" and review.correction_recorded is True
    (monthly,) = record_check_in("monthly", None).pending_events
    assert monthly.kind == "monthly"


def test_either_side_escalates_and_only_a_coordinator_resolves():
    raise_it = dict(
        relationship_id="rel-1",
        mentor_id=MENTOR,
        mentee_id=MENTEE,
        category="chemistry",
        detail_text_id=None,
    )
    with pytest.raises(Forbidden):
        Escalation.raise_concern("e-1", "acme", by="stranger", **raise_it)
    escalation = Escalation.raise_concern("e-1", "acme", by=MENTEE, **raise_it)
    assert escalation.pending_events[0].by_role == "mentee"
    with pytest.raises(NotCoordinator):
        escalation.resolve(
            MENTOR, is_coordinator=False, outcome="resolved", note_text_id=None
        )
    escalation.resolve(
        COORD, is_coordinator=True, outcome="repair_requested", note_text_id="t"
    )
    assert escalation.pending_events[-1].outcome == "repair_requested"


def test_published_escalations_carry_neither_text_ids_nor_who_raised_them():
    event = Escalation.raise_concern(
        "e-1",
        "acme",
        relationship_id="rel-1",
        by=MENTEE,
        mentor_id=MENTOR,
        mentee_id=MENTEE,
        category="goals",
        detail_text_id="t-detail",
    ).pending_events[0]
    recorded = RecordedEvent(
        id=uuid.uuid4(),
        stream_id="e-1",
        stream_type="Escalation",
        version=1,
        event_type=event.event_type,
        schema_version=1,
        data=encode(event),
        metadata=EventMetadata(tenant="acme", actor=MENTEE),
        time=utcnow(),
        position=LogPosition.START,
    )
    (published,) = asyncio.run(Publication(contracts, "tandem/sessions")(recorded))
    assert published.data == {
        "escalation_id": "e-1",
        "relationship_id": "rel-1",
        "by_role": "mentee",
        "category": "goals",
    }


# -- dated within the relationship ---------------------------------------------------


def test_a_milestone_cannot_fall_due_before_the_relationship_started():
    # a relationship that starts later than today (confirmed ahead of its cycle)
    with pytest.raises(BeforeRelationshipStarted):
        set_milestone(started_on=date(2026, 4, 15), due_on=date(2026, 3, 30))
    (event,) = set_milestone(started_on=date(2026, 3, 30)).pending_events
    assert event.due_on == date(2026, 3, 30)


def test_a_rotation_cannot_start_before_the_relationship_started():
    with pytest.raises(BeforeRelationshipStarted):
        Rotation.assign(
            "r-1",
            "acme",
            relationship_id="rel-1",
            mentee_id=MENTEE,
            function="supply-chain",
            market=None,
            host_id="host-1",
            starts_on=STARTED_ON - timedelta(days=1),
            ends_on=STARTED_ON + timedelta(days=20),
            project_kind="other",
            project_text_id=None,
            started_on=STARTED_ON,
        )


def test_a_check_in_is_not_dated_in_the_future():
    def record(held_on):
        return CheckIn.record(
            "c-1",
            "acme",
            relationship_id="rel-1",
            kind="monthly",
            held_on=held_on,
            sponsor_id=None,
            alignment=4,
            correction_text_id=None,
            today=TODAY,
            started_on=STARTED_ON,
        )

    with pytest.raises(NotHeldYet):
        record(TODAY + timedelta(days=1))
    (today_held,) = record(TODAY).pending_events
    assert today_held.held_on == TODAY
