"""Effective dates (issue 20): a fact carries the day it happened, distinct from the
day it was recorded, and impossible histories are refused with a typed 422 naming
the field.

"Today" is the UTC calendar day everywhere in the sessions service (it keeps no
tenant time zone); a relationship starts on its confirmation's ``starts_on`` when
matching sends one, else on the day the pairing was confirmed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from chassis.messaging.inprocess import InProcessBus
from chassis.service import mounted
from contracts.sessions import registry as contracts
from services.sessions.domain.milestone import Milestone
from services.sessions.domain.notes import BeforeSubject, Feedback, Subject
from services.sessions.domain.relationship import DateInFuture
from services.sessions.main import build_app
from services.sessions.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token
from tests.sessions.conftest import confirm_pairing, confirmation, signed
from tests.support.waiting import until

TODAY = datetime.now(UTC).date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def at(offset_days: int, hour: int = 10) -> datetime:
    d = day(offset_days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


# -- the defect: a milestone due today ------------------------------------------------


def test_a_milestone_due_today_is_set_today():
    """``setMilestone``'s input says "not in the past": today (UTC) is not."""
    (event,) = Milestone.set(
        "m-1",
        "acme",
        relationship_id="rel-1",
        mentee_id="mentee-1",
        objective_index=0,
        objectives=1,
        due_on=date(2026, 3, 1),
        criteria=["done"],
        label_text_id="t-1",
        criteria_text_id="t-2",
        today=date(2026, 3, 1),
        started_on=date(2026, 2, 1),
    ).pending_events
    assert event.due_on == date(2026, 3, 1) and event.set_on == date(2026, 3, 1)


# -- old events still decode ------------------------------------------------------------


def test_events_recorded_before_effective_dates_still_decode():
    given = contracts.decode(
        "FeedbackGiven",
        1,
        {
            "feedback_id": "f-1",
            "relationship_id": "rel-1",
            "from_role": "mentee",
            "about": "session",
            "subject_id": "s-1",
            "rating": 4,
        },
    )
    assert given.given_at is None  # type: ignore[attr-defined]
    set_ = contracts.decode(
        "MilestoneSet",
        1,
        {
            "milestone_id": "m-1",
            "relationship_id": "rel-1",
            "mentee_id": "mentee-1",
            "objective_index": 0,
            "due_on": "2026-03-30",
            "criteria": 1,
        },
    )
    assert set_.set_on is None  # type: ignore[attr-defined]


def test_feedback_is_dated_after_what_it_rates_and_never_ahead():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    held = Subject(
        "session", "s-1", "rel-1", "held", datetime(2026, 2, 10, 9, tzinfo=UTC)
    )

    def give(given_at: datetime | None) -> Feedback:
        feedback = Feedback("f-1", "acme")
        feedback.initial_state()
        feedback.give(
            relationship_id="rel-1",
            from_role="mentee",
            about="session",
            subject_id="s-1",
            subject=held,
            rating=4,
            comment_text_id=None,
            now=now,
            given_at=given_at,
            started_on=date(2026, 2, 1),
        )
        return feedback

    with pytest.raises(BeforeSubject):
        give(datetime(2026, 2, 10, 8, tzinfo=UTC))
    with pytest.raises(DateInFuture):
        give(now + timedelta(minutes=1))
    (later,) = give(datetime(2026, 2, 10, 11, tzinfo=UTC)).pending_events
    assert later.given_at == datetime(2026, 2, 10, 11, tzinfo=UTC)
    (recorded_now,) = give(None).pending_events
    assert recorded_now.given_at == now  # absent: the recording time


# -- through the API --------------------------------------------------------------------

pytestmark_kafka = pytest.mark.kafka


async def confirm_starting(app, kafka_bootstrap: str, starts_on: date) -> dict:
    """A PairingConfirmed carrying the coordinator's ``starts_on`` (matching's
    optional field), confirmed now."""
    return await confirm_pairing(app, kafka_bootstrap, starts_on=starts_on)


async def stored(app, relationship_id: str) -> list[tuple[str, dict]]:
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload FROM events "
                "WHERE payload->>'relationship_id' = :r ORDER BY position"
            ),
            {"r": relationship_id},
        )
        return [(row.event_type, row.payload) for row in rows]


async def schedule(c, pair: dict, starts_at: datetime) -> str:
    made = await c.post(
        f"/relationships/{pair['id']}/sessions",
        json={
            "starts_at": starts_at.isoformat(),
            "minutes": 60,
            "outside_availability": True,
        },
        headers=pair["as_mentee"],
    )
    assert made.status_code == 201, made.text
    return str(made.json()["session_id"])


MILESTONE = {
    "objective_index": 0,
    "label": "Present the strategic plan",
    "criteria": ["Plan presented"],
}


@pytestmark_kafka
async def test_a_milestone_due_today_is_accepted_through_the_api(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, days_ago=3)
    await signed(c, pair)
    due_today = await c.post(
        f"/relationships/{pair['id']}/milestones",
        json={**MILESTONE, "due_on": TODAY.isoformat()},
        headers=pair["as_mentee"],
    )
    assert due_today.status_code == 201, due_today.text
    assert due_today.json()["due_on"] == TODAY.isoformat()
    assert due_today.json()["set_on"] == TODAY.isoformat()
    yesterday = await c.post(
        f"/relationships/{pair['id']}/milestones",
        json={**MILESTONE, "due_on": day(-1).isoformat()},
        headers=pair["as_mentee"],
    )
    assert yesterday.status_code == 422
    assert yesterday.json()["code"] == "DueDateInPast"
    assert yesterday.json()["field"] == "due_on"


@pytestmark_kafka
async def test_a_programme_history_is_recorded_after_the_fact(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_starting(app, kafka_bootstrap, day(-120))
    rel = await c.get(f"/relationships/{pair['id']}", headers=pair["as_mentor"])
    assert rel.json()["starts_on"] == day(-120).isoformat()
    await signed(c, pair)
    rid = pair["id"]

    # a session held 100 days ago, recorded today
    session_id = await schedule(c, pair, at(-100))
    held = await c.post(
        f"/sessions/{session_id}/held",
        json={"held_at": at(-100, 11).isoformat(), "minutes": 45},
        headers=pair["as_mentor"],
    )
    assert held.status_code == 200, held.text
    assert datetime.fromisoformat(held.json()["held_at"]) == at(-100, 11)

    # feedback given the day after
    rated = await c.post(
        f"/relationships/{rid}/feedback",
        json={
            "about": "session",
            "subject_id": session_id,
            "rating": 5,
            "given_at": at(-99).isoformat(),
        },
        headers=pair["as_mentee"],
    )
    assert rated.status_code == 201, rated.text
    assert datetime.fromisoformat(rated.json()["given_at"]) == at(-99)
    listed = await c.get(f"/relationships/{rid}/feedback", headers=pair["as_mentee"])
    assert [datetime.fromisoformat(f["given_at"]) for f in listed.json()] == [at(-99)]

    # a milestone agreed 90 days ago, due 30 days ago, achieved 40 days ago
    set_ = await c.post(
        f"/relationships/{rid}/milestones",
        json={
            **MILESTONE,
            "set_on": day(-90).isoformat(),
            "due_on": day(-30).isoformat(),
        },
        headers=pair["as_mentee"],
    )
    assert set_.status_code == 201, set_.text
    assert set_.json()["set_on"] == day(-90).isoformat()
    achieved = await c.post(
        f"/milestones/{set_.json()['id']}/achieve",
        json={"evidence": "Board minutes", "achieved_on": day(-40).isoformat()},
        headers=pair["as_mentor"],
    )
    assert achieved.status_code == 200, achieved.text
    assert achieved.json()["achieved_on"] == day(-40).isoformat()
    assert achieved.json()["on_time"] is True

    # a check-in 60 days ago
    checked = await c.post(
        f"/relationships/{rid}/check-ins",
        json={"kind": "monthly", "alignment": 4, "held_on": day(-60).isoformat()},
        headers=pair["as_mentor"],
    )
    assert checked.status_code == 201, checked.text
    assert checked.json()["held_on"] == day(-60).isoformat()

    # every fact's event carries the day it happened
    events = dict(await stored(app, rid))
    assert events["RelationshipStarted"]["starts_on"] == day(-120).isoformat()
    assert datetime.fromisoformat(events["SessionHeld"]["held_at"]) == at(-100, 11)
    assert datetime.fromisoformat(events["FeedbackGiven"]["given_at"]) == at(-99)
    assert events["MilestoneSet"]["set_on"] == day(-90).isoformat()
    assert events["MilestoneAchieved"]["achieved_on"] == day(-40).isoformat()
    assert events["CheckInRecorded"]["held_on"] == day(-60).isoformat()


@pytestmark_kafka
async def test_impossible_histories_are_refused_naming_the_field(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_starting(app, kafka_bootstrap, day(-30))
    await signed(c, pair)
    rid = pair["id"]
    early = await schedule(c, pair, at(-40))  # planned before the start
    session_id = await schedule(c, pair, at(-20))
    held = await c.post(
        f"/sessions/{session_id}/held", json={}, headers=pair["as_mentor"]
    )
    assert held.status_code == 200, held.text
    milestone = await c.post(
        f"/relationships/{rid}/milestones",
        json={
            **MILESTONE,
            "set_on": day(-10).isoformat(),
            "due_on": day(5).isoformat(),
        },
        headers=pair["as_mentee"],
    )
    assert milestone.status_code == 201, milestone.text
    milestone_id = milestone.json()["id"]
    before = await stored(app, rid)

    refused = [
        # a session held before the relationship started, or in the future
        (f"/sessions/{early}/held", {}, "BeforeRelationshipStarted", "held_at"),
        (
            f"/sessions/{early}/held",
            {"held_at": at(-35).isoformat()},
            "BeforeRelationshipStarted",
            "held_at",
        ),
        (
            f"/sessions/{early}/held",
            {"held_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()},
            "NotYetDue",
            "held_at",
        ),
        # a milestone achieved before it was set, or in the future
        (
            f"/milestones/{milestone_id}/achieve",
            {"evidence": "x", "achieved_on": day(-11).isoformat()},
            "BeforeMilestoneSet",
            "achieved_on",
        ),
        (
            f"/milestones/{milestone_id}/achieve",
            {"evidence": "x", "achieved_on": day(1).isoformat()},
            "DateInFuture",
            "achieved_on",
        ),
        # a milestone set in the future or before the relationship started
        (
            f"/relationships/{rid}/milestones",
            {**MILESTONE, "set_on": day(1).isoformat(), "due_on": day(5).isoformat()},
            "DateInFuture",
            "set_on",
        ),
        (
            f"/relationships/{rid}/milestones",
            {**MILESTONE, "set_on": day(-31).isoformat(), "due_on": day(5).isoformat()},
            "BeforeRelationshipStarted",
            "set_on",
        ),
        (
            f"/relationships/{rid}/milestones",
            {
                **MILESTONE,
                "set_on": day(-10).isoformat(),
                "due_on": day(-11).isoformat(),
            },
            "DueDateInPast",
            "due_on",
        ),
        # feedback before the session it rates, or in the future
        (
            f"/relationships/{rid}/feedback",
            {
                "about": "session",
                "subject_id": session_id,
                "rating": 4,
                "given_at": at(-21).isoformat(),
            },
            "BeforeSubject",
            "given_at",
        ),
        (
            f"/relationships/{rid}/feedback",
            {
                "about": "session",
                "subject_id": session_id,
                "rating": 4,
                "given_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            },
            "DateInFuture",
            "given_at",
        ),
        (
            f"/relationships/{rid}/feedback",
            {
                "about": "milestone",
                "subject_id": milestone_id,
                "rating": 4,
                "given_at": at(-11).isoformat(),
            },
            "BeforeSubject",
            "given_at",
        ),
        # a check-in before the relationship started, or in the future
        (
            f"/relationships/{rid}/check-ins",
            {"kind": "monthly", "alignment": 3, "held_on": day(-31).isoformat()},
            "BeforeRelationshipStarted",
            "held_on",
        ),
        (
            f"/relationships/{rid}/check-ins",
            {"kind": "monthly", "alignment": 3, "held_on": day(1).isoformat()},
            "NotHeldYet",
            "held_on",
        ),
    ]
    for path, body, code, field in refused:
        mentor = path.endswith(("/held", "/achieve", "/check-ins"))
        who = "as_mentor" if mentor else "as_mentee"
        resp = await c.post(path, json=body, headers=pair[who])
        assert resp.status_code == 422, (path, body, resp.text)
        problem = resp.json()
        assert (problem["code"], problem["field"]) == (code, field), problem
        assert field in problem["detail"]
    assert await stored(app, rid) == before  # nothing was written


async def test_a_pause_and_its_resumption_carry_their_days(sessions, kafka_bootstrap):
    """A pause told after the fact carries the day it began, its resumption the day
    meetings resumed; impossible ones are refused naming the field, and change
    nothing."""
    app, c = sessions
    pair = await confirm_starting(app, kafka_bootstrap, day(-60))
    rid = pair["id"]
    before = await stored(app, rid)
    for body, code, field in (
        ({"paused_on": day(1).isoformat()}, "DateInFuture", "paused_on"),
        ({"paused_on": day(-61).isoformat()}, "BeforeRelationshipStarted", "paused_on"),
    ):
        resp = await c.post(
            f"/relationships/{rid}/pause", json=body, headers=pair["as_mentee"]
        )
        assert resp.status_code == 422, resp.text
        assert (resp.json()["code"], resp.json()["field"]) == (code, field)
    assert await stored(app, rid) == before

    paused = await c.post(
        f"/relationships/{rid}/pause",
        json={"paused_on": day(-30).isoformat()},
        headers=pair["as_mentee"],
    )
    assert paused.status_code == 204, paused.text
    early = await c.post(
        f"/relationships/{rid}/resume",
        json={"resumed_on": day(-31).isoformat()},
        headers=pair["as_mentor"],
    )
    assert early.status_code == 422, early.text
    assert (early.json()["code"], early.json()["field"]) == (
        "BeforePause",
        "resumed_on",
    )
    resumed = await c.post(
        f"/relationships/{rid}/resume",
        json={"resumed_on": day(-20).isoformat()},
        headers=pair["as_mentor"],
    )
    assert resumed.status_code == 204, resumed.text
    again = await c.post(
        f"/relationships/{rid}/pause",
        json={"paused_on": day(-25).isoformat()},
        headers=pair["as_mentee"],
    )
    assert again.status_code == 422, again.text
    assert again.json()["code"] == "BeforeResumption"
    # Without a body, a resumption is today's, as before.
    assert (
        await c.post(f"/relationships/{rid}/pause", json={}, headers=pair["as_mentee"])
    ).status_code == 204
    assert (
        await c.post(f"/relationships/{rid}/resume", headers=pair["as_mentor"])
    ).status_code == 204
    events = await stored(app, rid)
    dated = [
        (kind, data.get("paused_on") or data.get("resumed_on"))
        for kind, data in events
        if kind in ("RelationshipPaused", "RelationshipResumed")
    ]
    assert dated == [
        ("RelationshipPaused", day(-30).isoformat()),
        ("RelationshipResumed", day(-20).isoformat()),
        ("RelationshipPaused", None),
        ("RelationshipResumed", None),
    ]


async def test_the_embedded_sqlite_mode_keeps_a_history(tmp_path: Path):
    """The same facts on the embedded SQLite files (the demo's mode)."""
    bus = InProcessBus()
    app = build_app(
        Settings(
            environment="test",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}",
        ),
        transport=bus,
    )
    pid, mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    pair = {
        "id": pid,
        "mentor": mentor,
        "mentee": mentee,
        "as_mentor": token("acme", "mentor", sub=mentor),
        "as_mentee": token("acme", "mentee", sub=mentee),
    }
    async with serving(app, "sessions") as c:
        await bus.publish([confirmation(pid, mentor, mentee, starts_on=day(-30))])

        async def started() -> bool:
            got = await c.get(f"/relationships/{pid}", headers=pair["as_mentee"])
            return got.status_code == 200

        await until(started, "the relationship to start", 30, interval_s=0.05)
        assert (await c.get(f"/relationships/{pid}", headers=pair["as_mentee"])).json()[
            "starts_on"
        ] == day(-30).isoformat()
        await signed(c, pair)
        session_id = await schedule(c, pair, at(-20))
        held = await c.post(
            f"/sessions/{session_id}/held", json={}, headers=pair["as_mentor"]
        )
        assert held.status_code == 200, held.text
        feedback = {"about": "session", "subject_id": session_id, "rating": 4}
        early = await c.post(
            f"/relationships/{pid}/feedback",
            json={**feedback, "given_at": at(-21).isoformat()},
            headers=pair["as_mentee"],
        )
        assert (early.status_code, early.json()["code"]) == (422, "BeforeSubject")
        given = await c.post(
            f"/relationships/{pid}/feedback",
            json={**feedback, "given_at": at(-19).isoformat()},
            headers=pair["as_mentee"],
        )
        assert given.status_code == 201, given.text
        listed = await c.get(
            f"/relationships/{pid}/feedback", headers=pair["as_mentee"]
        )
        assert [datetime.fromisoformat(f["given_at"]) for f in listed.json()] == [
            at(-19)
        ]
        set_ = await c.post(
            f"/relationships/{pid}/milestones",
            json={
                **MILESTONE,
                "set_on": day(-15).isoformat(),
                "due_on": TODAY.isoformat(),
            },
            headers=pair["as_mentee"],
        )
        assert set_.status_code == 201, set_.text
        rated = await c.post(
            f"/relationships/{pid}/feedback",
            json={
                "about": "milestone",
                "subject_id": set_.json()["id"],
                "rating": 5,
                "given_at": at(-16).isoformat(),
            },
            headers=pair["as_mentee"],
        )
        assert (rated.status_code, rated.json()["code"]) == (422, "BeforeSubject")
