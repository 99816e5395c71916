"""The sessions part of the graph reads the service's answers through their
response models (``contracts.api.sessions``): every field shows what the service
answered, and an answer that does not fit its model is the service's failure, an
``InternalError``, never a silent null or a guessed default."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.api import sessions as api
from gateway.answers import read_list
from gateway.upstream import Caller, UpstreamError
from tests.gateway.test_hardening import bearer
from tests.gateway.test_hardening import gateway as hardened
from tests.gateway.test_sessions import gid, pair, register, signed

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def mutate(platform, name: str, input_type: str, fields: str, value, bearer):
    body = await platform.graphql(
        f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
          __typename ... on Error {{ code message }} {fields} }} }}""",
        {"input": value},
        bearer=bearer,
    )
    payload = body["data"][name]
    assert "code" not in payload, payload
    return payload


def stamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def upper(value: str | None) -> str | None:
    return value.upper() if value else None


async def rest(platform, method: str, path: str, bearer: str, **kw) -> Any:
    resp = await platform.service("sessions", method, path, bearer=bearer, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def lived_in(platform, kafka_bootstrap) -> dict:
    """A relationship with a contract in force, a held, a cancelled and a missed
    session, a check-in, a milestone, feedback, a shared note, a rotation and an
    escalation."""
    p = await pair(platform, kafka_bootstrap, n=31, days_ago=7)
    await signed(platform, p)
    p["host"] = await register(platform, p["admin"], 531, roles=["mentor"])
    at = (datetime.now(UTC) - timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    session = "... on SessionSuccess { session { id } }"
    ids = []
    for n in range(3):
        made = await mutate(
            platform,
            "scheduleSession",
            "ScheduleSessionInput",
            session,
            {
                "relationshipId": p["gid"],
                "startsAt": (at + timedelta(hours=2 * n)).isoformat(),
                "minutes": 45,
                "format": "SHADOWING",
                "outsideAvailability": True,
            },
            p["as_mentor"],
        )
        ids.append(made["session"]["id"])
    held, cancelled, missed = ids
    await mutate(
        platform,
        "markSessionHeld",
        "MarkSessionHeldInput",
        session,
        {"sessionId": held, "minutes": 50},
        p["as_mentor"],
    )
    await mutate(
        platform,
        "cancelSession",
        "CancelSessionInput",
        session,
        {"sessionId": cancelled, "reasonCode": "ILLNESS", "reason": "flu"},
        p["as_mentee"],
    )
    await mutate(
        platform,
        "markSessionMissed",
        "MarkSessionMissedInput",
        session,
        {"sessionId": missed, "absentIds": [gid("Person", p["mentee"])]},
        p["as_mentor"],
    )
    await mutate(
        platform,
        "recordCheckIn",
        "RecordCheckInInput",
        "... on CheckInSuccess { checkIn { id } }",
        {
            "relationshipId": p["gid"],
            "kind": "MONTHLY",
            "alignment": 4,
            "correction": "More time on the board deck",
        },
        p["as_mentee"],
    )
    await mutate(
        platform,
        "setMilestone",
        "SetMilestoneInput",
        "... on MilestoneSuccess { milestone { id } }",
        {
            "relationshipId": p["gid"],
            "objectiveIndex": 0,
            "label": "Plan presented",
            "dueOn": (date.today() + timedelta(days=30)).isoformat(),
            "criteria": ["Deck reviewed", "Presented"],
        },
        p["as_mentee"],
    )
    await mutate(
        platform,
        "giveFeedback",
        "GiveFeedbackInput",
        "... on FeedbackSuccess { feedback { id } }",
        {
            "relationshipId": p["gid"],
            "subjectId": held,
            "rating": 4,
            "comment": "Useful",
        },
        p["as_mentee"],
    )
    await mutate(
        platform,
        "writeNote",
        "WriteNoteInput",
        "... on NoteSuccess { note { id } }",
        {
            "relationshipId": p["gid"],
            "kind": "SESSION_NOTE",
            "visibility": "SHARED",
            "body": "We rehearsed the opening.",
            "sessionId": held,
        },
        p["as_mentor"],
    )
    starts = date.today() + timedelta(days=7)
    await mutate(
        platform,
        "assignRotation",
        "AssignRotationInput",
        "... on RotationSuccess { rotation { id } }",
        {
            "relationshipId": p["gid"],
            "hostId": gid("Person", p["host"]),
            "startsOn": starts.isoformat(),
            "endsOn": (starts + timedelta(days=21)).isoformat(),
            "projectKind": "MARKET_ENTRY",
            "market": "DE",
            "project": "Price the German launch",
        },
        p["as_mentor"],
    )
    raised = await mutate(
        platform,
        "raiseEscalation",
        "RaiseEscalationInput",
        "... on EscalationSuccess { escalation { id } }",
        {"relationshipId": p["gid"], "category": "AVAILABILITY", "detail": "Busy"},
        p["as_mentee"],
    )
    p["escalation"] = raised["escalation"]["id"]
    return p


RELATIONSHIP = """query($id: ID!) { node(id: $id) { ... on Relationship {
  id kind status startsOn plannedEndOn cohortId mentorId menteeId cadenceAdherence
  contract { version inForce cadence { everyDays minutes } hoursPerMonth
    signedByIds terms }
  sessions { edges { node { id startsAt endsAt minutes format state sequence agenda
    heldAt heldMinutes reasonCode absentIds upcoming relationship { id } } } }
  checkIns { id kind heldOn alignment sponsorId correction }
  milestones { edges { node { id objectiveIndex label criteria dueOn state progress
    evidence achievedOn onTime confirmedById } } }
  rotations { id state function market hostId startsOn endsOn projectKind project
    reflection goalCompetencyIds host { id } }
  notes { edges { node { id kind visibility authorRole createdAt editedAt erased
    readable body prompt sessionId session { id } } } }
  feedback { edges { node { id fromRole about subjectId rating givenAt comment
    session { id } milestone { id } } } } } } }"""


async def test_every_relationship_field_reads_the_services_answer(
    platform, kafka_bootstrap
):
    p = await lived_in(platform, kafka_bootstrap)
    rid, who = p["id"], p["as_mentor"]
    node = (await platform.graphql(RELATIONSHIP, {"id": p["gid"]}, bearer=who))["data"][
        "node"
    ]

    [one] = (
        await rest(platform, "POST", "/relationships/batch", who, json={"ids": [rid]})
    )["items"]
    assert (node["kind"], node["status"]) == (one["kind"].upper(), one["state"].upper())
    assert (node["startsOn"], node["plannedEndOn"]) == (
        one["starts_on"],
        one["planned_end_on"],
    )
    assert (node["mentorId"], node["menteeId"], node["cohortId"]) == (
        p["mentor"],
        p["mentee"],
        None,
    )
    assert node["cadenceAdherence"] == one["cadence_adherence"]
    assert node["cadenceAdherence"]["held"] == 1
    contract = one["contract"]
    assert node["contract"] == {
        "version": contract["version"],
        "inForce": True,
        "cadence": {
            "everyDays": contract["cadence"]["every_days"],
            "minutes": contract["cadence"]["minutes"],
        },
        "hoursPerMonth": contract["hours_per_month"],
        "signedByIds": contract["signed_by"],
        "terms": contract["terms"],
    }

    sessions = await rest(platform, "GET", f"/relationships/{rid}/sessions", who)
    by_id = {gid("Session", s["session_id"]): s for s in sessions}
    got = [e["node"] for e in node["sessions"]["edges"]]
    assert sorted(s["id"] for s in got) == sorted(by_id)
    for s in got:
        want = by_id[s["id"]]
        assert stamp(s["startsAt"]) == stamp(want["starts_at"])
        assert stamp(s["endsAt"]) == stamp(want["ends_at"])
        assert stamp(s["heldAt"]) == stamp(want["held_at"])
        assert (s["minutes"], s["format"], s["state"], s["sequence"]) == (
            want["minutes"],
            want["format"].upper(),
            want["state"].upper(),
            want["sequence"],
        )
        assert (s["heldMinutes"], s["reasonCode"], s["absentIds"]) == (
            want["held_minutes"],
            upper(want["reason_code"]),
            want["absent_ids"],
        )
        assert s["upcoming"] is False and s["relationship"] == {"id": p["gid"]}
    assert sorted((s["state"], s["reasonCode"], s["heldMinutes"]) for s in got) == [
        ("CANCELLED", "ILLNESS", None),
        ("HELD", None, 50),
        ("MISSED", None, None),
    ]
    assert [s["absentIds"] for s in got if s["state"] == "MISSED"] == [[p["mentee"]]]

    [check_in] = await rest(platform, "GET", f"/relationships/{rid}/check-ins", who)
    assert node["checkIns"] == [
        {
            "id": gid("CheckIn", check_in["id"]),
            "kind": "MONTHLY",
            "heldOn": check_in["held_on"],
            "alignment": 4,
            "sponsorId": None,
            "correction": "More time on the board deck",
        }
    ]

    [milestone] = await rest(platform, "GET", f"/relationships/{rid}/milestones", who)
    assert [e["node"] for e in node["milestones"]["edges"]] == [
        {
            "id": gid("Milestone", milestone["id"]),
            "objectiveIndex": 0,
            "label": "Plan presented",
            "criteria": ["Deck reviewed", "Presented"],
            "dueOn": milestone["due_on"],
            "state": "OPEN",
            "progress": None,
            "evidence": None,
            "achievedOn": None,
            "onTime": None,
            "confirmedById": None,
        }
    ]

    [rotation] = await rest(platform, "GET", f"/relationships/{rid}/rotations", who)
    assert node["rotations"] == [
        {
            "id": gid("Rotation", rotation["id"]),
            "state": "ASSIGNED",
            "function": None,
            "market": "DE",
            "hostId": p["host"],
            "startsOn": rotation["starts_on"],
            "endsOn": rotation["ends_on"],
            "projectKind": "MARKET_ENTRY",
            "project": "Price the German launch",
            "reflection": None,
            "goalCompetencyIds": [],
            "host": {"id": gid("Person", p["host"])},
        }
    ]

    [note] = await rest(platform, "GET", f"/relationships/{rid}/notes", who)
    [got_note] = [e["node"] for e in node["notes"]["edges"]]
    assert stamp(got_note.pop("createdAt")) == stamp(note["created_at"])
    held = gid("Session", note["session_id"])
    assert got_note == {
        "id": gid("Note", note["note_id"]),
        "kind": "SESSION_NOTE",
        "visibility": "SHARED",
        "authorRole": "MENTOR",
        "editedAt": None,
        "erased": False,
        "readable": True,
        "body": "We rehearsed the opening.",
        "prompt": None,
        "sessionId": note["session_id"],
        "session": {"id": held},
    }

    [feedback] = await rest(platform, "GET", f"/relationships/{rid}/feedback", who)
    [got_feedback] = [e["node"] for e in node["feedback"]["edges"]]
    assert stamp(got_feedback.pop("givenAt")) == stamp(feedback["given_at"])
    assert got_feedback == {
        "id": gid("Feedback", feedback["feedback_id"]),
        "fromRole": "MENTEE",
        "about": "SESSION",
        "subjectId": feedback["subject_id"],
        "rating": 4,
        "comment": feedback.get("comment"),
        "session": {"id": held},
        "milestone": None,
    }


async def test_escalations_and_pulse_surveys_read_the_services_answer(
    platform, kafka_bootstrap
):
    p = await lived_in(platform, kafka_bootstrap)
    fields = "id state category byRole detail outcome note relationship { id }"
    listed = await platform.graphql(
        f"{{ escalations {{ edges {{ node {{ {fields} }} }} }} }}",
        bearer=p["coordinator"],
    )
    [raised] = await rest(platform, "GET", "/escalations", p["coordinator"])
    want = {
        "id": p["escalation"],
        "state": raised["state"].upper(),
        "category": "AVAILABILITY",
        "byRole": "MENTEE",
        "detail": raised["detail"],
        "outcome": None,
        "note": None,
        "relationship": {"id": p["gid"]},
    }
    assert [e["node"] for e in listed["data"]["escalations"]["edges"]] == [want]
    one = await platform.graphql(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Escalation {{ {fields} }} }} }}",
        {"id": p["escalation"]},
        bearer=p["coordinator"],
    )
    assert one["data"]["node"] == want
    resolved = await mutate(
        platform,
        "resolveEscalation",
        "ResolveEscalationInput",
        f"... on EscalationSuccess {{ escalation {{ {fields} }} }}",
        {"escalationId": p["escalation"], "outcome": "RESOLVED", "note": "Moved"},
        p["coordinator"],
    )
    assert resolved["escalation"] == {
        **want,
        "state": "RESOLVED",
        "outcome": "RESOLVED",
        "note": "Moved",
    }

    closes = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    created = await mutate(
        platform,
        "createPulseSurvey",
        "CreatePulseSurveyInput",
        "... on PulseSurveySuccess { survey { id } }",
        {"questions": ["How is it going?"], "closesAt": closes.isoformat(), "k": 3},
        p["admin"],
    )
    survey = created["survey"]["id"]
    sid = local_id(survey)
    fields = "id questions closesAt k state cohortId"
    opened = await platform.graphql(
        f"query($id: ID!) {{ pulseSurvey(surveyId: $id) {{ {fields} }} }}",
        {"id": survey},
        bearer=p["admin"],
    )
    answer = await rest(platform, "GET", f"/pulse-surveys/{sid}", p["admin"])
    got = opened["data"]["pulseSurvey"]
    assert stamp(got.pop("closesAt")) == stamp(answer["closes_at"]) == closes
    assert got == {
        "id": survey,
        "questions": answer["questions"],
        "k": answer["k"],
        "state": "OPEN",
        "cohortId": None,
    }
    await mutate(
        platform,
        "respondToPulseSurvey",
        "RespondToPulseSurveyInput",
        "... on PulseResponseSuccess { surveyId }",
        {"surveyId": survey, "answers": [5]},
        p["as_mentee"],
    )
    closed = await mutate(
        platform,
        "closePulseSurvey",
        "ClosePulseSurveyInput",
        f"... on PulseSurveySuccess {{ survey {{ {fields} results }} }}",
        {"surveyId": survey},
        p["admin"],
    )
    assert closed["survey"]["state"] == "CLOSED"
    results = await rest(platform, "GET", f"/pulse-surveys/{sid}/results", p["admin"])
    assert closed["survey"]["results"] == results
    # Fewer than the organisation's k answered: suppressed, its aggregates absent
    # (not null) in the answer and in the field alike.
    assert results["suppressed"] is True and "questions" not in results


def local_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


# -- a malformed answer ---------------------------------------------------------------


def tamper(monkeypatch, path: str, change) -> None:
    """The gateway's sessions calls to ``path`` answer ``change(answer)``."""
    original = Caller.request

    async def request(self, service, method, p, **kw):
        answer = await original(self, service, method, p, **kw)
        if service != "sessions" or p != path:
            return answer
        if isinstance(answer, bytes):  # a batch read comes undecoded (raw)
            return json.dumps(change(json.loads(answer))).encode()
        return change(answer)

    monkeypatch.setattr(Caller, "request", request)


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_a_malformed_answer_is_an_internal_error_not_a_null(
    platform, kafka_bootstrap, monkeypatch
):
    p = await pair(platform, kafka_bootstrap, n=32)
    query = "query($id: ID!) { node(id: $id) { ... on Relationship { status } } }"

    def without_state(answer):
        for item in answer["items"]:
            del item["state"]
        return answer

    tamper(monkeypatch, "/relationships/batch", without_state)
    body = await platform.graphql(
        query, {"id": p["gid"]}, bearer=p["as_mentee"], expect_errors=True
    )
    assert body["data"]["node"] is None
    assert codes(body) == ["InternalError"]
    assert "malformed Relationships" in body["errors"][0]["message"]
    # The operator finds the service's failure by the request's id.
    assert body["errors"][0]["extensions"]["requestId"]

    monkeypatch.undo()
    tamper(monkeypatch, "/relationships", lambda answer: {"items": answer})
    listed = await platform.graphql(
        "{ relationships { edges { node { id } } } }",
        bearer=p["as_mentee"],
        expect_errors=True,
    )
    assert codes(listed) == ["InternalError"]
    assert "malformed list of Relationship" in listed["errors"][0]["message"]

    # A value of the contract the field cannot take: a check-in of kind "check_in".
    monkeypatch.undo()
    await signed(platform, p)
    await mutate(
        platform,
        "recordCheckIn",
        "RecordCheckInInput",
        "... on CheckInSuccess { checkIn { id } }",
        {"relationshipId": p["gid"], "kind": "MONTHLY", "alignment": 3},
        p["as_mentee"],
    )

    def generic_kind(answer):
        for item in answer["items"]:
            item["kind"] = "check_in"
        return answer

    tamper(monkeypatch, "/development-items/batch-by-relationship", generic_kind)
    checks = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on Relationship { checkIns { kind } "
        "} } }",
        {"id": p["gid"]},
        bearer=p["as_mentee"],
        expect_errors=True,
    )
    assert codes(checks) == ["InternalError"]
    assert "malformed CheckInKind" in checks["errors"][0]["message"]

    # A mutation whose answer does not fit: an error, and no made-up payload.
    monkeypatch.undo()
    tamper(
        monkeypatch,
        f"/relationships/{p['id']}/notes",
        lambda answer: {**answer, "kind": "memo"},
    )
    wrote = await platform.graphql(
        """mutation($input: WriteNoteInput!) { writeNote(input: $input) {
          __typename ... on NoteSuccess { note { id } } } }""",
        {"input": {"relationshipId": p["gid"], "kind": "JOURNAL", "body": "x"}},
        bearer=p["as_mentee"],
        expect_errors=True,
    )
    assert wrote["data"] is None or wrote["data"]["writeNote"] is None
    assert codes(wrote) == ["InternalError"]


def broken_survey(request: httpx.Request) -> httpx.Response:
    # The service answers 200 with a body that is not a PulseSurvey.
    return httpx.Response(200, json={"unexpected": ["shape"]})


@pytest.mark.parametrize("environment", ["test", "development"])
async def test_a_malformed_answer_names_the_service_and_nothing_of_the_answer(
    environment,
):
    async with hardened(broken_survey, environment=environment) as gw:
        body = await gw.post(
            "query($id: ID!) { pulseSurvey(surveyId: $id) { id } }",
            {"id": gid("PulseSurvey", "s-1")},
            bearer(),
        )
    assert body["data"] == {"pulseSurvey": None}
    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "InternalError",
        "service": "sessions",
        "requestId": error["extensions"]["requestId"],
    }
    assert error["extensions"]["requestId"]
    assert error["message"] == "the sessions service answered a malformed PulseSurvey"
    assert "unexpected" not in json.dumps(body)


async def test_read_list_takes_a_list_of_the_model_or_fails_as_the_service():
    good = {
        "id": "e-1",
        "kind": "escalation",
        "state": "open",
        "relationship_id": "r-1",
        "category": "goals",
    }
    [item] = read_list(api.DevelopmentItem, [good], "sessions")
    assert item.category is not None and item.category.value == "goals"
    assert read_list(api.DevelopmentItem, [], "sessions") == []
    for bad in ({"items": [good]}, [good, {**good, "state": "lost"}], None):
        with pytest.raises(UpstreamError) as raised:
            read_list(api.DevelopmentItem, bad, "sessions")
        assert (raised.value.code, raised.value.status) == ("InternalError", 502)
        assert "malformed list of DevelopmentItem" in raised.value.message
    # A check-in shows its own kind; a milestone the kind of item.
    kinds = read_list(
        api.DevelopmentItem,
        [
            {**good, "kind": "monthly", "state": "recorded"},
            {**good, "kind": "milestone"},
        ],
        "sessions",
    )
    assert [k.kind.value for k in kinds] == ["monthly", "milestone"]


async def test_a_timestamp_or_value_a_field_cannot_take_is_the_services_failure():
    from contracts.sessions.meetings import SessionFormat, SessionState
    from gateway.sessions.types import CheckIn, Session

    session = api.Session(
        session_id="s-1",
        relationship_id="r-1",
        mentor_id="m-1",
        mentee_id="e-1",
        minutes=60,
        format=SessionFormat.ONE_TO_ONE,
        state=SessionState.HELD,
        sequence=2,
        scheduled_by="m-1",
        cancelled_by=None,
        reason_code=None,
        held_minutes=55,
        starts_at="2027-01-04T09:00:00Z",
        ends_at="2027-01-04T10:00:00Z",
        held_at="2027-01-04T10:00:00",
        absent_ids=[],
    )
    made = Session.from_model(session)
    assert made.starts_at == datetime(2027, 1, 4, 9, tzinfo=UTC)
    assert made.held_at == datetime(2027, 1, 4, 10, tzinfo=UTC)  # no offset: UTC
    assert (made.held_minutes, made.sequence, made.upcoming) == (55, 2, False)
    assert made.agenda is None and made.reason_code is None
    for bad in (
        lambda: Session.from_model(session.model_copy(update={"ends_at": "soon"})),
        lambda: CheckIn.from_model(
            api.DevelopmentItem(
                id="c-1",
                kind=api.ItemKind.CHECK_IN,
                state="recorded",
                relationship_id="r-1",
            )
        ),
    ):
        with pytest.raises(UpstreamError) as raised:
            bad()
        assert (raised.value.code, raised.value.status) == ("InternalError", 502)
