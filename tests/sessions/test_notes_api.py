"""Notes, feedback and pulse surveys: who may read what, and what erasure forgets."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.sessions.application.pulse import PulseSurveys
from services.sessions.domain.notes import Note, PulseSurvey, Tally
from tests.profiles.conftest import token
from tests.sessions.conftest import (
    COORDINATOR,
    confirm_pairing,
    held_session,
    milestone,
    signed,
)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

SECRET = "I doubt the CFO's numbers and I have not said so."


async def write(c, pair, who="as_mentee", visibility="private", **extra):
    resp = await c.post(
        f"/relationships/{pair['id']}/notes",
        json={"kind": "session_note", "visibility": visibility, "body": SECRET} | extra,
        headers=pair[who],
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_coordinators_see_that_notes_exist_never_what_they_say(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    private = await write(c, pair, visibility="private")
    shared = await write(c, pair, visibility="shared", kind="after_action_review")

    listed = await c.get(f"/relationships/{pair['id']}/notes", headers=COORDINATOR)
    assert listed.status_code == 200
    assert {n["note_id"] for n in listed.json()} == {
        private["note_id"],
        shared["note_id"],
    }
    assert SECRET not in listed.text and "body" not in listed.text
    assert listed.json()[0]["author_role"] == "mentee"
    one = await c.get(f"/notes/{shared['note_id']}", headers=COORDINATOR)
    assert one.status_code == 200 and "body" not in one.json()
    assert SECRET not in one.text
    async with mounted(app).runtime.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT payload::text FROM events WHERE stream_id = :s"),
                {"s": private["note_id"]},
            )
        ).scalar_one()
    assert SECRET not in stored and "body_text_id" in stored


async def test_a_private_note_is_its_authors_alone_and_a_shared_one_the_pairs(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    private = await write(c, pair, visibility="private")
    shared = await write(
        c, pair, visibility="shared", kind="journal", prompt_id="values-tension"
    )

    mine = await c.get(f"/notes/{private['note_id']}", headers=pair["as_mentee"])
    assert mine.status_code == 200 and mine.json()["body"] == SECRET
    theirs = await c.get(f"/notes/{private['note_id']}", headers=pair["as_mentor"])
    assert theirs.status_code == 404 and SECRET not in theirs.text
    mentor_list = (
        await c.get(f"/relationships/{pair['id']}/notes", headers=pair["as_mentor"])
    ).json()
    assert [n["note_id"] for n in mentor_list] == [shared["note_id"]]
    assert mentor_list[0]["body"] == SECRET
    assert mentor_list[0]["prompt"].startswith("Where did two of your values")

    # The author may change what the pair sees; the other side may not.
    refused = await c.patch(
        f"/notes/{shared['note_id']}",
        json={"visibility": "private"},
        headers=pair["as_mentor"],
    )
    assert refused.status_code == 404
    made_private = await c.patch(
        f"/notes/{shared['note_id']}",
        json={"visibility": "private"},
        headers=pair["as_mentee"],
    )
    assert made_private.json()["visibility"] == "private"
    assert (
        await c.get(f"/notes/{shared['note_id']}", headers=pair["as_mentor"])
    ).status_code == 404


async def test_a_mentor_of_one_pair_cannot_read_anothers_notes(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a = await confirm_pairing(app, kafka_bootstrap)
    b = await confirm_pairing(app, kafka_bootstrap)
    shared = await write(c, b, visibility="shared")
    for path in (f"/relationships/{b['id']}/notes", f"/notes/{shared['note_id']}"):
        resp = await c.get(path, headers=a["as_mentor"])
        assert resp.status_code == 404 and SECRET not in resp.text
    other_tenant = token("globex", "coordinator")
    resp = await c.get(f"/notes/{shared['note_id']}", headers=other_tenant)
    assert resp.status_code == 404
    bad_prompt = await c.post(
        f"/relationships/{a['id']}/notes",
        json={"kind": "journal", "body": "x", "prompt_id": "horoscope"},
        headers=a["as_mentee"],
    )
    assert bad_prompt.status_code == 422 and bad_prompt.json()["code"] == (
        "UnknownPrompt"
    )
    prompts = (await c.get("/journal-prompts", headers=a["as_mentee"])).json()
    assert {"bias", "decision_timeline", "values"} <= {p["theme"] for p in prompts}


async def test_a_rating_outside_one_to_five_is_refused_and_writes_nothing(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, days_ago=1)
    await signed(c, pair)
    session_id = await held_session(c, pair)
    async with mounted(app).runtime.engine.connect() as conn:
        texts_before = (
            await conn.execute(text("SELECT count(*) FROM private_texts"))
        ).scalar_one()
    for rating in (0, 6):
        bad = await c.post(
            f"/relationships/{pair['id']}/feedback",
            json={
                "about": "session",
                "subject_id": session_id,
                "rating": rating,
                "comment": "Too vague.",
            },
            headers=pair["as_mentee"],
        )
        assert bad.status_code == 422 and bad.json()["code"] == "InvalidRating"
    async with mounted(app).runtime.engine.connect() as conn:
        counts = [
            (await conn.execute(text(sql))).scalar_one()
            for sql in (
                "SELECT count(*) FROM feedback",
                "SELECT count(*) FROM events WHERE event_type = 'FeedbackGiven'",
                "SELECT count(*) FROM private_texts",
            )
        ]
    assert counts == [0, 0, texts_before]

    good = await c.post(
        f"/relationships/{pair['id']}/feedback",
        json={
            "about": "session",
            "subject_id": session_id,
            "rating": 4,
            "comment": "Clear next steps.",
        },
        headers=pair["as_mentee"],
    )
    assert good.status_code == 201 and good.json()["from_role"] == "mentee"
    again = await c.post(
        f"/relationships/{pair['id']}/feedback",
        json={"about": "session", "subject_id": session_id, "rating": 5},
        headers=pair["as_mentee"],
    )
    assert again.status_code == 409
    seen = (
        await c.get(f"/relationships/{pair['id']}/feedback", headers=COORDINATOR)
    ).json()
    assert [f["rating"] for f in seen] == [4] and "comment" not in seen[0]


async def test_pulse_results_are_suppressed_under_k_and_never_name_anyone(
    sessions, kafka_bootstrap
):
    app, c = sessions
    opened = await c.post(
        "/pulse-surveys",
        json={
            "questions": ["I get enough time with my mentor", "I would recommend it"],
            "closes_at": (utcnow() + timedelta(days=7)).isoformat(),
        },
        headers=COORDINATOR,
    )
    assert opened.status_code == 201, opened.text
    sid = opened.json()["survey_id"]
    people = [str(uuid.uuid4()) for _ in range(5)]
    for i, person in enumerate(people):
        if i == 4:
            under = await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)
            assert under.json()["suppressed"] is True
        resp = await c.post(
            f"/pulse-surveys/{sid}/responses",
            json={"answers": [i % 5 + 1, 4]},
            headers=token("acme", "mentee", sub=person),
        )
        assert resp.status_code == 204, resp.text
    twice = await c.post(
        f"/pulse-surveys/{sid}/responses",
        json={"answers": [1, 1]},
        headers=token("acme", "mentee", sub=people[0]),
    )
    assert twice.status_code == 409 and twice.json()["code"] == "AlreadyAnswered"
    # Five answered, but the survey is open: no figures until it closes.
    still_open = (
        await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)
    ).json()
    assert still_open["suppressed"] is True and "questions" not in still_open

    closed = await c.post(f"/pulse-surveys/{sid}/close", headers=COORDINATOR)
    assert closed.status_code == 204
    out = await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)
    body = out.json()
    assert body["suppressed"] is False and body["respondents"] == 5
    assert body["questions"][0]["distribution"] == {str(r): 1 for r in range(1, 6)}
    assert body["questions"][0]["mean"] == 3.0 and body["questions"][1]["mean"] == 4.0
    assert not any(person in out.text for person in people)
    refused = await c.get(
        f"/pulse-surveys/{sid}/results", headers=token("acme", "mentee", sub=people[0])
    )
    assert refused.status_code == 403
    late = await c.post(
        f"/pulse-surveys/{sid}/responses",
        json={"answers": [3, 3]},
        headers=token("acme", "mentor", sub=str(uuid.uuid4())),
    )
    assert late.status_code == 422 and late.json()["code"] == "SurveyClosed"
    async with mounted(app).runtime.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT payload::text FROM events WHERE stream_id = :s"),
                {"s": sid},
            )
        ).all()
    assert '"respondents": 5' in stored[-1][0]
    assert not any(person in row[0] for row in stored for person in people)


async def erase(kafka_bootstrap: str, person_id: str) -> None:
    message = OutboundMessage.of(
        "tandem.profiles.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/profiles",
            type="PersonErased",
            subject=person_id,
            time=utcnow(),
            data={"person_id": person_id, "erased_at": utcnow().isoformat()},
            tenant="acme",
        ),
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message])
    finally:
        await transport.stop()


async def test_erasing_a_person_deletes_their_words_and_unlinks_their_feedback(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    shared = await write(c, pair, visibility="shared")
    await signed(c, pair)
    given = await c.post(
        f"/relationships/{pair['id']}/feedback",
        json={
            "about": "milestone",
            "subject_id": await milestone(c, pair),
            "rating": 2,
            "comment": "We keep postponing.",
        },
        headers=pair["as_mentee"],
    )
    assert given.status_code == 201

    await erase(kafka_bootstrap, pair["mentee"])

    async def erased() -> dict | None:
        got = await c.get(f"/notes/{shared['note_id']}", headers=pair["as_mentor"])
        note = got.json()
        return note if note.get("erased") else None

    note = await until(erased, "the shared note to show as erased", 60, interval_s=0.05)
    assert note["erased"] is True and note["body"] is None
    assert note["author_id"] is None
    feedback = (
        await c.get(f"/relationships/{pair['id']}/feedback", headers=pair["as_mentor"])
    ).json()
    assert feedback[0]["rating"] == 2 and feedback[0]["comment"] is None
    async with mounted(app).runtime.engine.connect() as conn:
        linked = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM feedback WHERE author_id = :p) + "
                    "(SELECT count(*) FROM private_texts WHERE author_id = :p)"
                ),
                {"p": pair["mentee"]},
            )
        ).scalar_one()
        published = (
            await conn.execute(
                text(
                    "SELECT payload, metadata FROM events WHERE event_type = 'FeedbackGiven'"
                )
            )
        ).one()
    assert linked == 0
    assert pair["mentee"] not in json.dumps([published.payload, published.metadata])


def test_closing_under_k_records_no_numbers_at_all():
    survey = PulseSurvey.open(
        "acme",
        cohort_id=None,
        questions=["q1"],
        closes_at=utcnow() + timedelta(days=1),
        k=None,
        k_floor=5,
        now=utcnow(),
    )
    survey.collect_pending()
    survey.close(Tally.of([[5]] * 4, questions=1))
    [closed] = survey.collect_pending()
    assert closed.suppressed is True
    assert closed.respondents is None and closed.aggregates is None


def test_a_note_is_readable_by_its_author_and_if_shared_by_the_pair():
    note = Note.write(
        "acme",
        relationship_id="r",
        author_id="mentee",
        kind="journal",
        visibility="private",
        body_text_id="t",
        prompt_id="bias-check",
    )
    pair = ("mentor", "mentee")
    assert note.readable_by("mentee", pair) and not note.readable_by("mentor", pair)
    note.edit("mentee", visibility="shared", body_text_id=None)
    assert note.readable_by("mentor", pair) and not note.readable_by("boss", pair)
    assert note.body_text_id == "t"


async def test_a_survey_past_its_closing_time_is_closed_by_the_sweep(sessions):
    app, c = sessions
    # Far enough ahead to be in the future when a loaded machine gets to it.
    closes_at = utcnow() + timedelta(seconds=3)
    opened = await c.post(
        "/pulse-surveys",
        json={"questions": ["I feel heard"], "closes_at": closes_at.isoformat()},
        headers=COORDINATOR,
    )
    assert opened.status_code == 201, opened.text
    sid = opened.json()["survey_id"]
    # The closing time itself is the condition.
    await until(lambda: utcnow() > closes_at, "the closing time", 30, interval_s=0.05)
    await mounted(app).provide(PulseSurveys).close_due()
    results = (await c.get(f"/pulse-surveys/{sid}/results", headers=COORDINATOR)).json()
    assert results["closed"] is True and results["suppressed"] is True
