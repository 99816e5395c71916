"""Effective dates through GraphQL (issue 20): a programme's history recorded after
the fact (a session held, feedback given, a milestone set and achieved, a check-in,
each on the day it happened) and impossible histories refused as typed errors that
name the input field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.auth import Role
from tests.gateway.platform import token
from tests.gateway.test_sessions import pair, signed
from tests.gateway.test_sessions_answers import stamp

pytestmark = pytest.mark.asyncio(loop_scope="module")

TODAY = datetime.now(UTC).date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def at(offset_days: int, hour: int = 10) -> datetime:
    d = day(offset_days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


async def call(platform, name: str, input_type: str, fields: str, value, bearer):
    body = await platform.graphql(
        f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
          __typename ... on Error {{ code message }} {fields} }} }}""",
        {"input": value},
        bearer=bearer,
    )
    assert "errors" not in body, body
    return body["data"][name]


SESSION = "... on SessionSuccess { session { id state heldAt } }"
MILESTONE = (
    "... on MilestoneSuccess { milestone { id state dueOn setOn achievedOn onTime } }"
)


async def test_a_history_is_recorded_through_graphql_and_impossible_ones_refused(
    platform, kafka_bootstrap
):
    p = await pair(platform, kafka_bootstrap, n=41, days_ago=60)
    await signed(platform, p)
    rel = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on Relationship { startsOn } } }",
        {"id": p["gid"]},
        bearer=p["as_mentor"],
    )
    assert rel["data"]["node"]["startsOn"] == day(-60).isoformat()

    async def schedule(when: datetime) -> str:
        made = await call(
            platform,
            "scheduleSession",
            "ScheduleSessionInput",
            SESSION,
            {
                "relationshipId": p["gid"],
                "startsAt": when.isoformat(),
                "outsideAvailability": True,
            },
            p["as_mentor"],
        )
        return str(made["session"]["id"])

    early, session = await schedule(at(-70)), await schedule(at(-50))
    held = await call(
        platform,
        "markSessionHeld",
        "MarkSessionHeldInput",
        SESSION,
        {"sessionId": session, "heldAt": at(-50, 11).isoformat()},
        p["as_mentor"],
    )
    assert stamp(held["session"]["heldAt"]) == at(-50, 11)

    rated = await call(
        platform,
        "giveFeedback",
        "GiveFeedbackInput",
        "... on FeedbackSuccess { feedback { givenAt rating } }",
        {
            "relationshipId": p["gid"],
            "subjectId": session,
            "rating": 5,
            "givenAt": at(-49).isoformat(),
        },
        p["as_mentee"],
    )
    assert stamp(rated["feedback"]["givenAt"]) == at(-49)

    set_ = await call(
        platform,
        "setMilestone",
        "SetMilestoneInput",
        MILESTONE,
        {
            "relationshipId": p["gid"],
            "objectiveIndex": 0,
            "label": "Plan presented",
            "setOn": day(-40).isoformat(),
            "dueOn": day(-10).isoformat(),
            "criteria": ["Presented"],
        },
        p["as_mentee"],
    )
    assert (set_["milestone"]["setOn"], set_["milestone"]["dueOn"]) == (
        day(-40).isoformat(),
        day(-10).isoformat(),
    )
    achieved = await call(
        platform,
        "achieveMilestone",
        "AchieveMilestoneInput",
        MILESTONE,
        {
            "milestoneId": set_["milestone"]["id"],
            "evidence": "Board minutes",
            "achievedOn": day(-12).isoformat(),
        },
        p["as_mentor"],
    )
    assert achieved["milestone"]["achievedOn"] == day(-12).isoformat()
    assert achieved["milestone"]["onTime"] is True

    # the defect: a milestone due today is accepted (today in UTC)
    due_today = await call(
        platform,
        "setMilestone",
        "SetMilestoneInput",
        MILESTONE,
        {
            "relationshipId": p["gid"],
            "objectiveIndex": 0,
            "label": "Successor named",
            "dueOn": TODAY.isoformat(),
            "criteria": ["Named"],
        },
        p["as_mentee"],
    )
    assert due_today["__typename"] == "MilestoneSuccess", due_today
    assert due_today["milestone"]["setOn"] == TODAY.isoformat()

    checked = await call(
        platform,
        "recordCheckIn",
        "RecordCheckInInput",
        "... on CheckInSuccess { checkIn { heldOn } }",
        {
            "relationshipId": p["gid"],
            "kind": "MONTHLY",
            "alignment": 4,
            "heldOn": day(-30).isoformat(),
        },
        p["as_mentor"],
    )
    assert checked["checkIn"]["heldOn"] == day(-30).isoformat()

    # impossible histories: a RuleViolation whose code says which and whose
    # message names the input field
    refused = [
        (
            "markSessionHeld",
            "MarkSessionHeldInput",
            {"sessionId": early},
            "as_mentor",
            "BeforeRelationshipStarted",
            "heldAt",
        ),
        (
            "achieveMilestone",
            "AchieveMilestoneInput",
            {
                "milestoneId": due_today["milestone"]["id"],
                "evidence": "x",
                "achievedOn": day(-1).isoformat(),
            },
            "as_mentor",
            "BeforeMilestoneSet",
            "achievedOn",
        ),
        (
            "achieveMilestone",
            "AchieveMilestoneInput",
            {
                "milestoneId": due_today["milestone"]["id"],
                "evidence": "x",
                "achievedOn": day(2).isoformat(),
            },
            "as_mentor",
            "DateInFuture",
            "achievedOn",
        ),
        (
            "giveFeedback",
            "GiveFeedbackInput",
            {
                "relationshipId": p["gid"],
                "subjectId": session,
                "rating": 3,
                "givenAt": at(-51).isoformat(),
            },
            "as_mentor",
            "BeforeSubject",
            "givenAt",
        ),
        (
            "recordCheckIn",
            "RecordCheckInInput",
            {
                "relationshipId": p["gid"],
                "kind": "MONTHLY",
                "alignment": 3,
                "heldOn": day(-61).isoformat(),
            },
            "as_mentor",
            "BeforeRelationshipStarted",
            "heldOn",
        ),
    ]
    for name, input_type, value, who, code, field in refused:
        answer = await call(platform, name, input_type, "", value, p[who])
        assert answer["__typename"] == "RuleViolation", answer
        assert answer["code"] == code, answer
        assert field in answer["message"], answer


PAUSE = "PauseRelationshipInput"
RESUME = "ResumeRelationshipInput"
STATUS = "... on RelationshipSuccess { relationship { id status } }"
REFUSED = "... on ValidationError { fields { path message } }"


async def test_a_pause_and_resumption_told_after_the_fact_through_graphql(
    platform, kafka_bootstrap
):
    """``pauseRelationship`` / ``resumeRelationship``, as REST has them: a pause
    since ``pausedOn``, a resumption since ``resumedOn``; an impossible day is a
    RuleViolation naming the input field and changes nothing."""
    p = await pair(platform, kafka_bootstrap, n=42, days_ago=30)
    rel = p["gid"]

    async def status() -> str:
        body = await platform.graphql(
            "query($id: ID!) { node(id: $id) { ... on Relationship { status } } }",
            {"id": rel},
            bearer=p["as_mentor"],
        )
        return str(body["data"]["node"]["status"])

    async def refused(name: str, input_type: str, value: dict, who: str) -> dict:
        answer = await call(platform, name, input_type, REFUSED, value, p[who])
        assert answer["__typename"] != "RelationshipSuccess", answer
        return answer

    # A pause before the relationship started, or ahead of today: refused.
    for paused_on, code in ((day(-31), "BeforeRelationshipStarted"),
                            (day(1), "DateInFuture")):  # fmt: skip
        answer = await refused(
            "pauseRelationship",
            PAUSE,
            {"relationshipId": rel, "pausedOn": paused_on.isoformat()},
            "as_mentor",
        )
        assert (answer["__typename"], answer["code"]) == ("RuleViolation", code)
        assert "pausedOn" in answer["message"], answer
    assert await status() == "ACTIVE"

    # A bad id: a ValidationError whose path names the input field.
    answer = await refused(
        "pauseRelationship", PAUSE, {"relationshipId": "not-an-id"}, "as_mentor"
    )
    assert answer["__typename"] == "ValidationError"
    assert [f["path"] for f in answer["fields"]] == ["input.relationshipId"]

    # Someone else's relationship: not theirs to pause.
    stranger = await call(
        platform,
        "pauseRelationship",
        PAUSE,
        "",
        {"relationshipId": rel},
        token("someone-else", p["tenant"], Role.MENTEE),
    )
    assert stranger["__typename"] in ("Forbidden", "NotFound"), stranger
    assert await status() == "ACTIVE"

    paused = await call(
        platform,
        "pauseRelationship",
        PAUSE,
        STATUS,
        {"relationshipId": rel, "pausedOn": day(-10).isoformat()},
        p["as_mentor"],
    )
    assert paused == {
        "__typename": "RelationshipSuccess",
        "relationship": {"id": rel, "status": "PAUSED"},
    }
    again = await refused(
        "pauseRelationship", PAUSE, {"relationshipId": rel}, "as_mentee"
    )
    assert (again["__typename"], again["code"]) == (
        "RuleViolation",
        "InvalidTransition",
    )

    # A resumption before the pause began, or ahead of today: refused.
    for resumed_on, code in ((day(-11), "BeforePause"), (day(1), "DateInFuture")):
        answer = await refused(
            "resumeRelationship",
            RESUME,
            {"relationshipId": rel, "resumedOn": resumed_on.isoformat()},
            "as_mentee",
        )
        assert (answer["__typename"], answer["code"]) == ("RuleViolation", code)
        assert "resumedOn" in answer["message"], answer
    assert await status() == "PAUSED"

    resumed = await call(
        platform,
        "resumeRelationship",
        RESUME,
        STATUS,
        {"relationshipId": rel, "resumedOn": day(-3).isoformat()},
        p["coordinator"],
    )
    assert resumed == {
        "__typename": "RelationshipSuccess",
        "relationship": {"id": rel, "status": "ACTIVE"},
    }
    # A pause may not begin before the last resumption; without a day it is today's.
    answer = await refused(
        "pauseRelationship",
        PAUSE,
        {"relationshipId": rel, "pausedOn": day(-5).isoformat()},
        "as_mentor",
    )
    assert (answer["__typename"], answer["code"]) == (
        "RuleViolation",
        "BeforeResumption",
    )
    assert "pausedOn" in answer["message"], answer
    today = await call(
        platform,
        "pauseRelationship",
        PAUSE,
        STATUS,
        {"relationshipId": rel, "until": day(14).isoformat()},
        p["as_mentor"],
    )
    assert today["relationship"]["status"] == "PAUSED"
    resumed = await call(
        platform, "resumeRelationship", RESUME, STATUS, {"relationshipId": rel},
        p["as_mentee"],
    )  # fmt: skip
    assert resumed["relationship"]["status"] == "ACTIVE"
