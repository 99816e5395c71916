"""Sessions: scheduled under a signed contract, never double booked, inside both
people's windows and time zones, exported as iCalendar, measured against the cadence."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import text

from chassis.auth.revocation import DEACTIVATED, revoke
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from contracts.api import sessions as api
from services.sessions.domain.meeting import Availability, cadence_adherence
from tests.profiles.conftest import token
from tests.sessions.conftest import COORDINATOR, confirmation, signed
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

MONDAY = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday in winter (no DST anywhere here)


async def publish(kafka_bootstrap: str, *messages: OutboundMessage) -> None:
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(list(messages))
    finally:
        await transport.stop()


async def until_counted(app, sql: str, params: dict) -> None:
    """Wait (with a deadline) until the query counts at least one row."""

    async def counted() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            return bool((await conn.execute(text(sql), params)).scalar_one())

    await until(counted, f"{sql} {params}", 60, interval_s=0.05)


async def pair(
    app, kafka_bootstrap: str, *, mentor: str | None = None, days_ago: int = 0
) -> dict:
    """A confirmed pairing (optionally with a mentor already paired elsewhere),
    started ``days_ago`` days ago."""
    pid, mentee = str(uuid.uuid4()), str(uuid.uuid4())
    mentor = mentor or str(uuid.uuid4())
    at = utcnow() - timedelta(days=days_ago)
    await publish(kafka_bootstrap, confirmation(pid, mentor, mentee, at=at))
    await until_counted(
        app,
        "SELECT count(*) FROM relationships WHERE relationship_id = :r",
        {"r": pid},
    )
    return {
        "id": pid,
        "mentor": mentor,
        "mentee": mentee,
        "as_mentor": token("acme", "mentor", sub=mentor),
        "as_mentee": token("acme", "mentee", sub=mentee),
    }


def profile_event(kind: str, data: dict) -> OutboundMessage:
    return OutboundMessage.of(
        "tandem.profiles.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/profiles",
            type=kind,
            subject=data["person_id"],
            time=utcnow(),
            data=data,
            tenant="acme",
        ),
    )


def person(person_id: str, time_zone: str) -> dict:
    return {
        "person_id": person_id,
        "level": 6,
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "GB",
        "time_zone": time_zone,
        "roles": ["mentee"],
    }


async def schedule(c, p: dict, starts_at: datetime, who: str = "as_mentee", **extra):
    return await c.post(
        f"/relationships/{p['id']}/sessions",
        json={"starts_at": starts_at.isoformat(), "minutes": 60, **extra},
        headers=p[who],
    )


async def session_events(app, relationship_id: str) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT count(*) FROM events WHERE stream_type = 'Session' "
                    "AND payload->>'relationship_id' = :r"
                ),
                {"r": relationship_id},
            )
        ).scalar_one()


async def test_a_session_needs_the_signed_contract_and_keeps_its_agenda_private(
    sessions, kafka_bootstrap
):
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    agenda = "Rehearse the board pitch on the Lisbon restructuring"
    early = await schedule(c, p, MONDAY + timedelta(hours=10), agenda=agenda)
    assert early.status_code == 422 and early.json()["code"] == "ContractNotInForce"
    assert await session_events(app, p["id"]) == 0

    await signed(c, p)
    made = await schedule(c, p, MONDAY + timedelta(hours=10), agenda=agenda)
    assert made.status_code == 201, made.text
    session = made.json()
    assert session["state"] == "scheduled" and session["agenda"] == agenda
    assert session["starts_at"] == "2027-01-04T10:00:00+00:00"
    seen = await c.get(f"/sessions/{session['session_id']}", headers=COORDINATOR)
    assert seen.status_code == 200 and "agenda" not in seen.json()
    async with mounted(app).runtime.engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT string_agg(payload::text, ' ') FROM events WHERE stream_id = :s"
                ),
                {"s": session["session_id"]},
            )
        ).scalar_one()
    assert "Lisbon" not in stored and "agenda_text_id" in stored


async def test_a_mentor_is_never_double_booked_across_relationships(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a = await pair(app, kafka_bootstrap)
    b = await pair(app, kafka_bootstrap, mentor=a["mentor"])
    await signed(c, a)
    await signed(c, b)
    ten = MONDAY + timedelta(days=7, hours=10)
    assert (await schedule(c, a, ten)).status_code == 201

    clash = await schedule(c, b, ten + timedelta(minutes=30), who="as_mentor")
    assert clash.status_code == 409 and clash.json()["code"] == "DoubleBooked"
    assert await session_events(app, b["id"]) == 0
    assert (
        await c.get(f"/relationships/{b['id']}/sessions", headers=b["as_mentee"])
    ).json() == []

    back_to_back = await schedule(c, b, ten + timedelta(minutes=60))
    assert back_to_back.status_code == 201, back_to_back.text


async def test_reschedule_and_cancel_reach_the_calendar_feed(sessions, kafka_bootstrap):
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    await signed(c, p)
    sid = (await schedule(c, p, MONDAY + timedelta(hours=9))).json()["session_id"]
    minted = (await c.post("/calendar/token", headers=p["as_mentee"])).json()

    async def feed_event():
        resp = await c.get(minted["feed_path"])
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(resp.text).walk("VEVENT")
        assert len(events) == 1
        return resp.text, events[0]

    _, first = await feed_event()
    assert first["UID"] == f"{sid}@sessions.tandem"
    assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "CONFIRMED"
    assert first.decoded("DTSTART") == MONDAY + timedelta(hours=9)

    moved = await c.post(
        f"/sessions/{sid}/reschedule",
        json={"starts_at": "2027-01-05T14:30:00+01:00"},
        headers=p["as_mentor"],
    )
    assert moved.status_code == 200, moved.text
    _, second = await feed_event()
    assert int(second["SEQUENCE"]) == 1 and second["UID"] == first["UID"]
    assert second.decoded("DTSTART") == datetime(2027, 1, 5, 13, 30, tzinfo=UTC)

    gone = await c.post(
        f"/sessions/{sid}/cancel",
        json={"reason_code": "illness", "reason": "Flu, sorry"},
        headers=p["as_mentee"],
    )
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    body, third = await feed_event()
    assert int(third["SEQUENCE"]) == 2 and str(third["STATUS"]) == "CANCELLED"
    assert "Flu" not in body and str(third["SUMMARY"]) == "Mentoring session"

    one = await c.get(f"/sessions/{sid}.ics", headers=p["as_mentor"])
    assert one.status_code == 200
    assert int(Calendar.from_ical(one.text).walk("VEVENT")[0]["SEQUENCE"]) == 2
    again = await c.post(
        f"/sessions/{sid}/cancel", json={"reason_code": "other"}, headers=p["as_mentor"]
    )
    assert again.status_code == 422 and again.json()["code"] == "SessionClosed"


async def test_a_feed_needs_its_current_token(sessions, kafka_bootstrap):
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    first = (await c.post("/calendar/token", headers=p["as_mentor"])).json()["token"]
    feed = f"/calendar/{p['mentor']}.ics"
    assert (await c.get(feed, params={"token": first})).status_code == 200
    assert (await c.get(feed, params={"token": "guess"})).status_code == 404
    other = f"/calendar/{p['mentee']}.ics"
    assert (await c.get(other, params={"token": first})).status_code == 404
    await c.post("/calendar/token", headers=p["as_mentor"])  # rotate
    assert (await c.get(feed, params={"token": first})).status_code == 404


async def test_one_pair_cannot_schedule_or_read_another_pairs_sessions(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a = await pair(app, kafka_bootstrap)
    b = await pair(app, kafka_bootstrap)
    await signed(c, b)
    sid = (await schedule(c, b, MONDAY + timedelta(hours=11))).json()["session_id"]
    stranger = a["as_mentor"]
    assert (
        await schedule(c, b, MONDAY + timedelta(hours=15), who="as_mentor")
    ).status_code == 201
    refused = await c.post(
        f"/relationships/{b['id']}/sessions",
        json={"starts_at": (MONDAY + timedelta(hours=13)).isoformat()},
        headers=stranger,
    )
    assert refused.status_code == 404
    for path in (f"/sessions/{sid}", f"/sessions/{sid}.ics"):
        assert (await c.get(path, headers=stranger)).status_code == 404
    cancel = await c.post(
        f"/sessions/{sid}/cancel", json={"reason_code": "other"}, headers=stranger
    )
    assert cancel.status_code == 404
    assert (await c.get(f"/sessions/{sid}", headers=b["as_mentee"])).json()[
        "state"
    ] == "scheduled"


async def test_slots_fall_inside_both_windows_in_each_time_zone(
    sessions, kafka_bootstrap
):
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    evenings = [{"weekday": d, "start": "18:00", "end": "21:00"} for d in range(5)]
    await publish(
        kafka_bootstrap,
        profile_event("PersonRegistered", person(p["mentor"], "Asia/Tokyo")),
        profile_event(
            "MentorProfileSet",
            {
                "person_id": p["mentor"],
                "strengths": [],
                "max_mentees": 2,
                "hours_per_month": 8,
                "availability": evenings,
            },
        ),
        profile_event("PersonRegistered", person(p["mentee"], "Europe/London")),
    )
    await until_counted(
        app,
        "SELECT count(*) FROM person_availability WHERE person_id = :p "
        "AND windows <> '[]' AND time_zone = 'Asia/Tokyo'",
        {"p": p["mentor"]},
    )
    await until_counted(
        app,
        "SELECT count(*) FROM person_availability WHERE person_id = :p",
        {"p": p["mentee"]},
    )
    await signed(c, p)
    url = f"/relationships/{p['id']}/slots"
    query = {"count": 3, "from": MONDAY.isoformat()}
    found = (await c.get(url, params=query, headers=p["as_mentee"])).json()
    # Tokyo 18:00-21:00 is 09:00-12:00 in London (and UTC) on the same weekday.
    starts = [s["starts_at"] for s in found["slots"]]
    assert starts == [f"2027-01-04T{h}:00:00+00:00" for h in ("09", "10", "11")]
    assert found["slots"][0]["local"][p["mentor"]] == "2027-01-04T18:00:00+09:00"

    late = await schedule(c, p, MONDAY + timedelta(hours=13))  # 22:00 in Tokyo
    assert late.status_code == 422 and late.json()["code"] == "OutsideAvailability"
    assert (await schedule(c, p, MONDAY + timedelta(hours=10))).status_code == 201
    after = (await c.get(url, params=query, headers=p["as_mentor"])).json()
    assert [s["starts_at"] for s in after["slots"]] == [
        "2027-01-04T09:00:00+00:00",
        "2027-01-04T11:00:00+00:00",
        "2027-01-05T09:00:00+00:00",
    ]


async def test_cadence_adherence_counts_held_sessions_against_the_contract(
    sessions, kafka_bootstrap
):
    app, c = sessions
    # started yesterday: sessions up to six hours ago fall inside the relationship
    p = await pair(app, kafka_bootstrap, days_ago=1)
    await signed(c, p)  # every 14 days
    now = datetime.now(UTC).replace(microsecond=0)
    past = {"outside_availability": True}
    ids = [
        (await schedule(c, p, now - timedelta(hours=h), **past)).json()["session_id"]
        for h in (6, 3, 2)
    ]
    soon = (await schedule(c, p, now + timedelta(days=2), **past)).json()["session_id"]
    early = await c.post(f"/sessions/{soon}/held", json={}, headers=p["as_mentor"])
    assert early.status_code == 422 and early.json()["code"] == "NotYetDue"

    held = await c.post(f"/sessions/{ids[0]}/held", json={}, headers=p["as_mentor"])
    assert held.status_code == 200 and held.json()["state"] == "held"
    missed = await c.post(
        f"/sessions/{ids[2]}/missed",
        json={"absent_ids": [p["mentee"]]},
        headers=p["as_mentor"],
    )
    assert missed.json()["state"] == "missed"
    assert missed.json()["absent_ids"] == [p["mentee"]]

    url = f"/relationships/{p['id']}/cadence"
    in_a_month = date.today() + timedelta(days=29)
    first = (
        await c.get(url, params={"as_of": in_a_month.isoformat()}, headers=COORDINATOR)
    ).json()
    assert first["expected"] == 2 and first["held"] == 1
    assert first["adherence"] == 0.5 and first["on_track"] is False
    held_on = (now - timedelta(hours=6)).date()
    assert first["days_since_last_held"] == (in_a_month - held_on).days

    await c.post(
        f"/sessions/{ids[1]}/held", json={"minutes": 45}, headers=p["as_mentee"]
    )
    second = (
        await c.get(
            url, params={"as_of": in_a_month.isoformat()}, headers=p["as_mentee"]
        )
    ).json()
    assert second["held"] == 2 and second["adherence"] == 1.0 and second["on_track"]

    # The list is sent as built from rows (not through the model): every session,
    # in each state, is exactly what the model makes of it, and what its own read
    # shows but for the agenda (the pair's, in single reads only).
    cancelled = await c.post(
        f"/sessions/{soon}/cancel",
        json={"reason_code": "other"},
        headers=p["as_mentor"],
    )
    assert cancelled.json()["state"] == "cancelled"
    listed = await c.get(f"/relationships/{p['id']}/sessions", headers=p["as_mentee"])
    assert listed.status_code == 200
    answers = listed.json()
    assert [a["state"] for a in answers] == ["held", "held", "missed", "cancelled"]
    for answer in answers:
        model = api.Session.model_validate(answer)
        assert model.model_dump(mode="json") == answer
        assert list(answer) == list(api.Session.model_fields)
        single = await c.get(f"/sessions/{answer['session_id']}", headers=COORDINATOR)
        assert {**single.json(), "agenda": None} == answer


def test_windows_follow_the_local_clock_across_a_daylight_saving_change():
    london = Availability.of(
        "Europe/London", [{"weekday": 0, "start": "09:00", "end": "10:00"}]
    )
    winter, summer = (
        datetime(2027, 3, 22, 9, tzinfo=UTC),
        datetime(2027, 3, 29, 8, tzinfo=UTC),
    )
    assert london.admits(winter, winter + timedelta(hours=1))
    assert london.admits(summer, summer + timedelta(hours=1))  # 09:00 BST
    assert not london.admits(summer + timedelta(hours=1), summer + timedelta(hours=2))
    nobody_said = Availability()  # weekdays 08:00-18:00 UTC
    saturday = datetime(2027, 1, 9, 10, tzinfo=UTC)
    assert not nobody_said.admits(saturday, saturday + timedelta(hours=1))


def test_nothing_is_expected_in_the_first_period_of_the_cadence():
    start = date(2027, 1, 4)
    fresh = cadence_adherence(starts_on=start, every_days=14, held=[], as_of=start)
    assert fresh["expected"] == 0 and fresh["adherence"] is None and fresh["on_track"]
    later = cadence_adherence(
        starts_on=start,
        every_days=14,
        held=[datetime(2027, 1, 10, 9, tzinfo=UTC)],
        as_of=date(2027, 2, 15),
    )
    assert (later["expected"], later["held"], later["adherence"]) == (3, 1, 0.333)
    assert later["days_since_last_held"] == 36


async def test_concluding_a_relationship_cancels_the_sessions_still_to_come(
    sessions, kafka_bootstrap
):
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    await signed(c, p)
    upcoming = await schedule(c, p, MONDAY + timedelta(days=14, hours=10))
    assert upcoming.status_code == 201, upcoming.text
    session_id = upcoming.json()["session_id"]

    done = await c.post(
        f"/relationships/{p['id']}/conclude",
        json={"reason": "completed"},
        headers=COORDINATOR,
    )
    assert done.status_code == 204
    seen = (await c.get(f"/sessions/{session_id}", headers=p["as_mentee"])).json()
    assert seen["state"] == "cancelled"
    refused = await schedule(c, p, MONDAY + timedelta(days=21, hours=10))
    assert refused.status_code == 422


async def test_a_deactivated_persons_feed_token_gets_nothing(sessions, kafka_bootstrap):
    """The feed's token is a credential: refused like a bearer token once the
    person is deactivated, with the same answer as a wrong token."""
    app, c = sessions
    p = await pair(app, kafka_bootstrap)
    await signed(c, p)
    await schedule(c, p, MONDAY + timedelta(hours=9))
    minted = (await c.post("/calendar/token", headers=p["as_mentee"])).json()
    assert (await c.get(minted["feed_path"])).status_code == 200
    runtime = mounted(app).runtime
    async with runtime.engine.begin() as conn:
        await revoke(conn, "acme", minted["person_id"], DEACTIVATED)
    refused = await c.get(minted["feed_path"])
    wrong = await c.get(minted["feed_path"].split("?")[0] + "?token=" + "x" * 43)
    assert refused.status_code == wrong.status_code == 404
    assert refused.json()["detail"] == wrong.json()["detail"]
