"""Feedback and notes refer to sessions and milestones that exist in their
relationship: given what was found → when the command → then the refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.sessions.domain.notes import (
    Feedback,
    FeedbackAlreadyGiven,
    Note,
    SessionNotHeld,
    Subject,
    UnknownSubject,
)

HELD = Subject("session", "s-1", "rel-1", "held")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def give(subject: Subject | None, *, about="session", subject_id="s-1") -> Feedback:
    feedback = Feedback("f-1", "acme")
    feedback.initial_state()
    feedback.give(
        relationship_id="rel-1",
        from_role="mentee",
        about=about,
        subject_id=subject_id,
        subject=subject,
        rating=4,
        comment_text_id=None,
        now=NOW,
    )
    return feedback


def test_feedback_on_a_held_session_of_the_relationship_is_recorded():
    (event,) = give(HELD).pending_events
    assert (event.about, event.subject_id, event.rating) == ("session", "s-1", 4)


@pytest.mark.parametrize("state", ["scheduled", "cancelled", "missed"])
def test_feedback_on_a_session_that_did_not_take_place_is_refused(state):
    with pytest.raises(SessionNotHeld):
        give(Subject("session", "s-1", "rel-1", state))


@pytest.mark.parametrize(
    ("found", "about"),
    [
        (None, "session"),  # no such session (or another tenant's)
        (Subject("session", "s-1", "rel-2", "held"), "session"),  # another pair's
        (Subject("milestone", "s-1", "rel-1", "open"), "session"),  # not a session
        (None, "milestone"),
    ],
)
def test_feedback_on_something_outside_the_relationship_is_refused(found, about):
    with pytest.raises(UnknownSubject):
        give(found, about=about)


def test_feedback_on_a_milestone_of_the_relationship_is_recorded_in_any_state():
    for state in ("open", "achieved", "missed"):
        milestone = Subject("milestone", "m-1", "rel-1", state)
        (event,) = give(milestone, about="milestone", subject_id="m-1").pending_events
        assert event.about == "milestone"


def test_each_side_gives_feedback_once():
    feedback = Feedback.rebuild("f-1", "acme", give(HELD).pending_events)
    with pytest.raises(FeedbackAlreadyGiven):
        feedback.give(
            relationship_id="rel-1",
            from_role="mentee",
            about="session",
            subject_id="s-1",
            subject=HELD,
            rating=5,
            comment_text_id=None,
            now=NOW,
        )


def write(session_id: str | None, session: Subject | None) -> Note:
    return Note.write(
        "acme",
        relationship_id="rel-1",
        author_id="mentee",
        kind="session_note",
        visibility="private",
        body_text_id="t-1",
        session_id=session_id,
        session=session,
    )


def test_a_note_refers_only_to_a_session_of_its_relationship():
    with pytest.raises(UnknownSubject):
        write("s-9", None)
    with pytest.raises(UnknownSubject):
        write("s-1", Subject("session", "s-1", "rel-2", "scheduled"))
    upcoming = Subject("session", "s-1", "rel-1", "scheduled")  # preparing is fine
    (event,) = write("s-1", upcoming).pending_events
    assert event.session_id == "s-1"
    assert write(None, None).pending_events[0].session_id is None
