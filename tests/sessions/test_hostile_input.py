"""The sessions service from the attacker's side, on real PostgreSQL: NUL bytes,
1 MB strings, 10,000-item lists, 2^63, the year 9999, references to what does not
exist or belongs to another pair or tenant. Every answer is a typed 4xx and
nothing is written (no event, no private text, no row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.service import mounted
from tests.profiles.conftest import token
from tests.sessions.conftest import (
    CONTRACT,
    COORDINATOR,
    confirm_pairing,
    held_session,
    signed,
)

pytestmark = pytest.mark.kafka

MB = "x" * 1_000_000
HUGE = 2**63
SOON = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


async def footprint(app) -> tuple[int, ...]:
    async with mounted(app).runtime.engine.connect() as conn:
        return tuple(
            [
                (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in (
                    "events",
                    "private_texts",
                    "sessions",
                    "pulse_surveys",
                    "pulse_tallies",
                    "pulse_respondents",
                    "feedback",
                    "notes",
                    "development_items",
                )
            ]
        )


async def test_hostile_values_are_typed_refusals_that_change_nothing(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, days_ago=1)
    other = await confirm_pairing(app, kafka_bootstrap, days_ago=1)
    await signed(c, pair)
    await signed(c, other)
    theirs = await held_session(c, other)
    upcoming = await c.post(
        f"/relationships/{pair['id']}/sessions",
        json={"starts_at": SOON.isoformat(), "outside_availability": True},
        headers=pair["as_mentee"],
    )
    assert upcoming.status_code == 201, upcoming.text
    upcoming_id = upcoming.json()["session_id"]
    concluded = await confirm_pairing(app, kafka_bootstrap, days_ago=1)
    ended = await c.post(
        f"/relationships/{concluded['id']}/conclude",
        json={"reason": "completed"},
        headers=COORDINATOR,
    )
    assert ended.status_code == 204, ended.text
    rid = pair["id"]
    mentee, mentor = pair["as_mentee"], pair["as_mentor"]
    milestone = {
        "objective_index": 0,
        "label": "Present the plan",
        "due_on": (SOON + timedelta(days=30)).date().isoformat(),
        "criteria": ["Presented"],
    }
    yesterday_but_one = (datetime.now(UTC) - timedelta(days=2)).date()
    rotation = {
        "relationship_id": rid,
        "function": "Supply chain",
        "host_id": "host-1",
        "starts_on": (SOON + timedelta(days=1)).date().isoformat(),
        "ends_on": (SOON + timedelta(days=22)).date().isoformat(),
        "project_kind": "other",
    }
    survey = {
        "questions": ["I get enough time"],
        "closes_at": (SOON + timedelta(days=7)).isoformat(),
    }
    refused = [
        # -- oversized strings and lists
        ("POST", "/pulse-surveys", survey | {"questions": [MB]}, COORDINATOR, 422),
        (
            "POST",
            "/pulse-surveys",
            survey | {"questions": ["q"] * 10_000},
            COORDINATOR,
            422,
        ),
        (
            "PUT",
            f"/relationships/{rid}/contract",
            CONTRACT | {"terms": MB},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/milestones",
            milestone | {"criteria": ["c"] * 10_000},
            mentee,
            422,
        ),
        ("POST", "/sessions/batch", {"ids": ["s"] * 10_000}, COORDINATOR, 422),
        # -- NUL and other control characters
        (
            "POST",
            f"/relationships/{rid}/notes",
            {"kind": "journal", "body": "a\x00b"},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/milestones",
            milestone | {"label": "\x00"},
            mentee,
            422,
        ),
        ("POST", "/pulse-surveys", survey | {"questions": ["a\x00"]}, COORDINATOR, 422),
        ("POST", "/pulse-surveys", survey | {"cohort_id": "c\x00"}, COORDINATOR, 422),
        ("GET", "/relationships?person_id=%00", None, COORDINATOR, 422),
        ("GET", f"/relationships/{rid}%00", None, COORDINATOR, 422),
        ("POST", "/relationships/batch", {"ids": ["a\x00"]}, COORDINATOR, 422),
        # -- integers beyond their column, dates beyond the sane window
        (
            "POST",
            f"/relationships/{rid}/milestones",
            milestone | {"objective_index": HUGE},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/contract/signatures",
            {"version": HUGE},
            mentee,
            422,
        ),
        (
            "PUT",
            f"/relationships/{rid}/contract",
            CONTRACT | {"hours_per_month": 2**31},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/check-ins",
            {"kind": "monthly", "alignment": HUGE},
            mentor,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/feedback",
            {"about": "session", "subject_id": upcoming_id, "rating": HUGE},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/sessions",
            {"starts_at": "9999-01-04T10:00:00+00:00"},
            mentee,
            422,
        ),
        (
            "POST",
            f"/sessions/{upcoming_id}/reschedule",
            {"starts_at": "9999-01-04T10:00:00+00:00"},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/milestones",
            milestone | {"due_on": "9999-12-31"},
            mentee,
            422,
        ),
        (
            "GET",
            f"/relationships/{rid}/slots?from=9999-01-01T00:00:00Z",
            None,
            mentee,
            422,
        ),
        ("GET", f"/relationships/{rid}/cadence?as_of=0001-01-01", None, mentee, 422),
        ("POST", f"/relationships/{rid}/pause", {"until": "9999-01-01"}, mentee, 422),
        (
            "POST",
            "/pulse-surveys",
            survey | {"closes_at": "9999-01-01T00:00:00Z"},
            COORDINATOR,
            422,
        ),
        # -- ids that are not ids
        ("GET", "/sessions/" + "s" * 300, None, COORDINATOR, 422),
        ("GET", "/milestones/a%20b", None, COORDINATOR, 422),
        # -- references that do not exist, or are another pair's or tenant's
        (
            "POST",
            f"/relationships/{rid}/feedback",
            {"about": "session", "subject_id": "nope", "rating": 4},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/feedback",
            {"about": "session", "subject_id": theirs, "rating": 4},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/feedback",
            {"about": "milestone", "subject_id": theirs, "rating": 4},
            mentee,
            422,
        ),
        (
            "POST",
            f"/relationships/{other['id']}/feedback",
            {"about": "session", "subject_id": theirs, "rating": 4},
            token("globex", "mentee", sub=other["mentee"]),
            404,
        ),
        (
            "POST",
            f"/relationships/{rid}/notes",
            {"kind": "session_note", "body": "prep", "session_id": theirs},
            mentee,
            422,
        ),
        # -- facts that have not happened, or are dated outside the relationship
        (
            "POST",
            f"/relationships/{rid}/feedback",
            {"about": "session", "subject_id": upcoming_id, "rating": 4},
            mentee,
            422,
        ),
        (
            "POST",
            "/rotations",
            rotation
            | {
                "starts_on": yesterday_but_one.isoformat(),
                "ends_on": (yesterday_but_one + timedelta(days=20)).isoformat(),
            },
            mentor,
            422,
        ),
        (
            "POST",
            f"/relationships/{rid}/check-ins",
            {
                "kind": "monthly",
                "alignment": 4,
                "held_on": (SOON + timedelta(days=1)).date().isoformat(),
            },
            mentor,
            422,
        ),
        (
            "POST",
            f"/relationships/{concluded['id']}/check-ins",
            {"kind": "monthly", "alignment": 4},
            concluded["as_mentor"],
            422,
        ),
        ("POST", f"/sessions/{upcoming_id}/held", {}, mentor, 422),
    ]
    before = await footprint(app)
    for method, url, body, who, status in refused:
        resp = await c.request(method, url, json=body, headers=who)
        assert resp.status_code == status, (method, url, resp.text[:300])
        assert resp.json()["code"], resp.text[:300]
    assert await footprint(app) == before
