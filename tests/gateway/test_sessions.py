"""The mentoring relationship through GraphQL, end to end over HTTP against the real
services: contract proposed and signed, sessions scheduled and held, a double booking
refused as a typed error, a milestone achieved, notes by visibility, and upstream
calls that do not grow with the number of relationships."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.auth import Role
from chassis.messaging.kafka import KafkaTransport
from tests.gateway.platform import new_tenant, token
from tests.profiles.conftest import person
from tests.sessions.conftest import confirmation
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


async def register(platform, admin: str, n: int, **overrides) -> str:
    resp = await platform.service(
        "profiles", "POST", "/people", bearer=admin, json=person(n, **overrides)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["person_id"]


async def start_relationship(
    platform,
    kafka_bootstrap: str,
    tenant: str,
    mentor: str,
    mentee: str,
    cohort_id: str | None = None,
    starts_on: date | None = None,
) -> str:
    """Publish PairingConfirmed as matching does (with the coordinator's
    ``starts_on`` when given); wait until sessions started it."""
    rid = str(uuid.uuid4())
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish(
            [
                confirmation(
                    rid,
                    mentor,
                    mentee,
                    tenant=tenant,
                    cohort_id=cohort_id,
                    starts_on=starts_on,
                )
            ]
        )
    finally:
        await transport.stop()
    overseer = token("coord-wait", tenant, Role.COORDINATOR)

    async def started() -> bool:
        resp = await platform.service(
            "sessions", "GET", f"/relationships/{rid}", bearer=overseer
        )
        return resp.status_code == 200

    await until(started, f"relationship {rid} to start", 60, interval_s=0.05)
    return rid


async def pair(
    platform, kafka_bootstrap: str, n: int = 1, *, days_ago: int = 0
) -> dict:
    """A relationship of two new people (started ``days_ago`` days ago: sessions
    are held only after it started)."""
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    mentor = await register(platform, admin, 100 + n, roles=["mentor"])
    mentee = await register(platform, admin, 200 + n)
    starts_on = datetime.now(UTC).date() - timedelta(days=days_ago)
    rid = await start_relationship(
        platform,
        kafka_bootstrap,
        tenant,
        mentor,
        mentee,
        starts_on=starts_on if days_ago else None,
    )
    return {
        "tenant": tenant,
        "id": rid,
        "gid": gid("Relationship", rid),
        "mentor": mentor,
        "mentee": mentee,
        "admin": admin,
        "coordinator": token("coord-1", tenant, Role.COORDINATOR),
        "as_mentor": token(mentor, tenant, Role.MENTOR),
        "as_mentee": token(mentee, tenant, Role.MENTEE),
    }


PROPOSE = """
mutation($input: ProposeContractInput!) { proposeContract(input: $input) {
  __typename ... on Error { code message }
  ... on RelationshipSuccess { relationship { contract { version inForce } } } } }
"""
SIGN = """
mutation($input: SignContractInput!) { signContract(input: $input) {
  __typename ... on Error { code message }
  ... on RelationshipSuccess { relationship { status contract { version inForce
    signedByIds terms } } } } }
"""
SCHEDULE = """
mutation($input: ScheduleSessionInput!) { scheduleSession(input: $input) {
  __typename ... on Error { code message }
  ... on SessionSuccess { session { id state startsAt upcoming agenda } } } }
"""
HELD = """
mutation($input: MarkSessionHeldInput!) { markSessionHeld(input: $input) {
  __typename ... on Error { code message }
  ... on SessionSuccess { session { id state heldMinutes } } } }
"""
CONTRACT = {
    "everyDays": 14,
    "minutes": 60,
    "hoursPerMonth": 4,
    "objectives": ["Present the strategic plan to the executive team"],
    "terms": "Confidential; feedback after every session.",
}


async def signed(platform, p: dict) -> None:
    proposed = await platform.graphql(
        PROPOSE,
        {"input": {"relationshipId": p["gid"], **CONTRACT}},
        bearer=p["as_mentee"],
    )
    version = proposed["data"]["proposeContract"]["relationship"]["contract"]["version"]
    for who in ("as_mentee", "as_mentor"):
        body = await platform.graphql(
            SIGN,
            {"input": {"relationshipId": p["gid"], "version": version}},
            bearer=p[who],
        )
        assert body["data"]["signContract"]["__typename"] == "RelationshipSuccess"


async def test_a_pair_signs_holds_sessions_and_achieves_a_milestone(
    platform, kafka_bootstrap
):
    p = await pair(platform, kafka_bootstrap, days_ago=7)
    mine = await platform.graphql(
        "{ relationships { edges { node { id status startsOn plannedEndOn "
        "contract { version } } } } }",
        bearer=p["as_mentee"],
    )
    edges = mine["data"]["relationships"]["edges"]
    assert [e["node"]["id"] for e in edges] == [p["gid"]]
    assert edges[0]["node"]["status"] == "ACTIVE"
    assert edges[0]["node"]["contract"] is None
    stranger = token(str(uuid.uuid4()), p["tenant"], Role.MENTEE)
    theirs = await platform.graphql(
        "{ relationships { edges { node { id } } } }", bearer=stranger
    )
    assert theirs["data"]["relationships"]["edges"] == []

    proposed = await platform.graphql(
        PROPOSE,
        {"input": {"relationshipId": p["gid"], **CONTRACT}},
        bearer=p["as_mentee"],
    )
    contract = proposed["data"]["proposeContract"]["relationship"]["contract"]
    assert contract == {"version": 1, "inForce": False}
    first = await platform.graphql(
        SIGN,
        {"input": {"relationshipId": p["gid"], "version": 1}},
        bearer=p["as_mentee"],
    )
    assert first["data"]["signContract"]["relationship"]["contract"]["inForce"] is False
    second = await platform.graphql(
        SIGN,
        {"input": {"relationshipId": p["gid"], "version": 1}},
        bearer=p["as_mentor"],
    )
    contract = second["data"]["signContract"]["relationship"]["contract"]
    assert contract["inForce"] is True
    assert sorted(contract["signedByIds"]) == sorted([p["mentor"], p["mentee"]])
    assert "strategic plan" in contract["terms"]

    # Held: a session that already started.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    done = await platform.graphql(
        SCHEDULE,
        {
            "input": {
                "relationshipId": p["gid"],
                "startsAt": yesterday.isoformat(),
                "outsideAvailability": True,
            }
        },
        bearer=p["as_mentor"],
    )
    past = done["data"]["scheduleSession"]["session"]
    held = await platform.graphql(
        HELD, {"input": {"sessionId": past["id"]}}, bearer=p["as_mentor"]
    )
    assert held["data"]["markSessionHeld"]["session"]["state"] == "HELD"
    assert held["data"]["markSessionHeld"]["session"]["heldMinutes"] == 60

    # Upcoming, then the same slot again: a typed Conflict.
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    slot = {
        "relationshipId": p["gid"],
        "startsAt": soon.isoformat(),
        "outsideAvailability": True,
        "agenda": "Board presentation dry run",
    }
    upcoming = await platform.graphql(SCHEDULE, {"input": slot}, bearer=p["as_mentee"])
    session = upcoming["data"]["scheduleSession"]["session"]
    assert session["upcoming"] is True
    assert session["agenda"] == "Board presentation dry run"
    again = await platform.graphql(SCHEDULE, {"input": slot}, bearer=p["as_mentor"])
    clash = again["data"]["scheduleSession"]
    assert clash["__typename"] == "Conflict"
    assert clash["code"] == "DoubleBooked"

    milestone = await platform.graphql(
        """mutation($input: SetMilestoneInput!) { setMilestone(input: $input) {
          __typename ... on Error { code message }
          ... on MilestoneSuccess { milestone { id state criteria label } } } }""",
        {
            "input": {
                "relationshipId": p["gid"],
                "objectiveIndex": 0,
                "label": "Plan presented",
                "dueOn": (date.today() + timedelta(days=30)).isoformat(),
                "criteria": ["Deck reviewed by the CFO", "Presented to the board"],
            }
        },
        bearer=p["as_mentee"],
    )
    set_ = milestone["data"]["setMilestone"]["milestone"]
    assert set_["criteria"] == ["Deck reviewed by the CFO", "Presented to the board"]
    achieved = await platform.graphql(
        """mutation($input: AchieveMilestoneInput!) { achieveMilestone(input: $input) {
          __typename ... on Error { code message }
          ... on MilestoneSuccess { milestone { state evidence onTime } } } }""",
        {"input": {"milestoneId": set_["id"], "evidence": "Board minutes, item 4"}},
        bearer=p["as_mentor"],
    )
    assert achieved["data"]["achieveMilestone"]["milestone"] == {
        "state": "ACHIEVED",
        "evidence": "Board minutes, item 4",
        "onTime": True,
    }

    view = await platform.graphql(
        """query($id: ID!) { node(id: $id) { ... on Relationship {
          mentor { givenName } mentee { givenName } cadenceAdherence
          next: sessions(upcoming: true) { edges { node { id } } }
          all: sessions { edges { node { id state } } }
          milestones { edges { node { state label } } } } } }""",
        {"id": p["gid"]},
        bearer=p["coordinator"],
    )
    node = view["data"]["node"]
    assert node["mentor"]["givenName"] == "Ada101"
    assert node["mentee"]["givenName"] == "Ada201"
    assert node["cadenceAdherence"]["held"] == 1
    assert [e["node"]["id"] for e in node["next"]["edges"]] == [session["id"]]
    assert [e["node"]["state"] for e in node["all"]["edges"]] == ["SCHEDULED", "HELD"]
    assert node["milestones"]["edges"][0]["node"] == {
        "state": "ACHIEVED",
        "label": "Plan presented",
    }


async def test_signing_a_stale_contract_version_is_a_concurrency_conflict(
    platform, kafka_bootstrap
):
    p = await pair(platform, kafka_bootstrap)
    await signed(platform, p)
    changed = await platform.graphql(
        PROPOSE,
        {"input": {"relationshipId": p["gid"], **CONTRACT, "hoursPerMonth": 6}},
        bearer=p["as_mentor"],
    )
    assert changed["data"]["proposeContract"]["relationship"]["contract"] == {
        "version": 2,
        "inForce": False,
    }
    stale = await platform.graphql(
        SIGN,
        {"input": {"relationshipId": p["gid"], "version": 1}},
        bearer=p["as_mentee"],
    )
    assert stale["data"]["signContract"]["__typename"] == "ConcurrencyConflict"


async def test_a_coordinator_sees_a_private_note_only_as_existing(
    platform, kafka_bootstrap
):
    p = await pair(platform, kafka_bootstrap)
    write = """mutation($input: WriteNoteInput!) { writeNote(input: $input) {
      __typename ... on Error { code message }
      ... on NoteSuccess { note { id body readable visibility } } } }"""
    written = await platform.graphql(
        write,
        {
            "input": {
                "relationshipId": p["gid"],
                "kind": "JOURNAL",
                "body": "I doubt my CFO will back the plan.",
            }
        },
        bearer=p["as_mentee"],
    )
    note = written["data"]["writeNote"]["note"]
    assert note["readable"] is True and note["visibility"] == "PRIVATE"
    notes = """query($id: ID!) { node(id: $id) { ... on Relationship {
      notes { edges { node { id visibility readable body } } } } } }"""

    coordinator = await platform.graphql(
        notes, {"id": p["gid"]}, bearer=p["coordinator"]
    )
    assert coordinator["data"]["node"]["notes"]["edges"] == [
        {
            "node": {
                "id": note["id"],
                "visibility": "PRIVATE",
                "readable": False,
                "body": None,
            }
        }
    ]
    mentor = await platform.graphql(notes, {"id": p["gid"]}, bearer=p["as_mentor"])
    assert mentor["data"]["node"]["notes"]["edges"] == []
    author = await platform.graphql(notes, {"id": p["gid"]}, bearer=p["as_mentee"])
    [mine] = author["data"]["node"]["notes"]["edges"]
    assert mine["node"]["body"] == "I doubt my CFO will back the plan."

    deleted = await platform.graphql(
        """mutation($input: DeleteNoteInput!) { deleteNote(input: $input) {
          __typename ... on DeleteNoteSuccess { deletedNoteId } } }""",
        {"input": {"noteId": note["id"]}},
        bearer=p["as_mentor"],
    )
    assert deleted["data"]["deleteNote"]["__typename"] in ("Forbidden", "NotFound")


async def test_the_list_is_read_in_full_only_for_what_it_lacks(
    platform, kafka_bootstrap
):
    """A relationship's list row carries all but the contract's terms and the
    cadence adherence: a page that asks for neither is answered from the list, one
    that asks for either is read in full, and both agree on what they share."""
    p = await pair(platform, kafka_bootstrap, days_ago=7)
    await signed(platform, p)
    shared = "id status startsOn plannedEndOn contract { version inForce }"
    lean = await platform.graphql(
        "{ relationships { edges { node { " + shared + " } } } }", bearer=p["as_mentee"]
    )
    fuller = await platform.graphql(
        "{ relationships { edges { node { " + shared + " contract { terms } } } } }",
        bearer=p["as_mentee"],
    )
    cadence = await platform.graphql(
        "{ relationships { edges { node { ... on Relationship { cadenceAdherence } } } } }",
        bearer=p["as_mentee"],
    )
    [lean_node] = [e["node"] for e in lean["data"]["relationships"]["edges"]]
    [full_node] = [e["node"] for e in fuller["data"]["relationships"]["edges"]]
    assert "strategic plan" in full_node["contract"].pop("terms")
    assert lean_node == full_node
    assert lean["extensions"]["upstreamCallsByService"]["sessions"] == 1
    assert fuller["extensions"]["upstreamCallsByService"]["sessions"] == 2
    assert cadence["extensions"]["upstreamCallsByService"]["sessions"] == 2
    [node] = [e["node"] for e in cadence["data"]["relationships"]["edges"]]
    assert node["cadenceAdherence"] is not None


async def test_upstream_calls_do_not_grow_with_the_number_of_relationships(
    platform, kafka_bootstrap
):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    for n in range(3):
        mentor = await register(platform, admin, 300 + n, roles=["mentor"])
        mentee = await register(platform, admin, 400 + n)
        await start_relationship(platform, kafka_bootstrap, tenant, mentor, mentee)
    query = """{ relationships(first: %d) { edges { node {
      status mentor { givenName } mentee { givenName }
      sessions(first: 5) { edges { node { state relationship { status } } } }
      milestones(first: 5) { edges { node { state } } } checkIns { kind }
      notes(first: 5) { edges { node { kind } } } } } } }"""
    calls = {}
    for n in (1, 3):
        body = await platform.graphql(query % n, bearer=admin)
        edges = body["data"]["relationships"]["edges"]
        assert len(edges) == n
        assert all(e["node"]["mentor"]["givenName"].startswith("Ada3") for e in edges)
        calls[n] = body["extensions"]["upstreamCalls"]
    assert calls[1] == calls[3]


async def test_another_tenants_relationship_is_not_found(platform, kafka_bootstrap):
    p = await pair(platform, kafka_bootstrap)
    intruder = token("admin-x", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    body = await platform.graphql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": p["gid"]},
        bearer=intruder,
        expect_errors=True,
    )
    assert body["data"]["node"] is None
    listed = await platform.graphql(
        "{ relationships { edges { node { id } } } }", bearer=intruder
    )
    assert listed["data"]["relationships"]["edges"] == []


async def test_a_pulse_survey_of_a_cohort_by_its_global_id_is_answered_by_its_pairs(
    platform, kafka_bootstrap
):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    mentor = await register(platform, admin, 400, roles=["mentor"])
    mentee = await register(platform, admin, 401)
    cohort = str(uuid.uuid4())
    await start_relationship(platform, kafka_bootstrap, tenant, mentor, mentee, cohort)
    created = await platform.graphql(
        """mutation($input: CreatePulseSurveyInput!) { createPulseSurvey(input: $input) {
          __typename ... on Error { code message }
          ... on PulseSurveySuccess { survey { id state cohortId } } } }""",
        {
            "input": {
                "questions": ["How is it going?"],
                "closesAt": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                "cohortId": gid("Cohort", cohort),
                "k": 3,
            }
        },
        bearer=admin,
    )
    survey = created["data"]["createPulseSurvey"]["survey"]
    assert survey["state"] == "OPEN" and survey["cohortId"] == cohort
    answer = """mutation($input: RespondToPulseSurveyInput!) {
      respondToPulseSurvey(input: $input) { __typename ... on Error { code message }
        ... on PulseResponseSuccess { surveyId } } }"""
    answered = await platform.graphql(
        answer,
        {"input": {"surveyId": survey["id"], "answers": [4]}},
        bearer=token(mentee, tenant, Role.MENTEE),
    )
    assert answered["data"]["respondToPulseSurvey"] == {
        "__typename": "PulseResponseSuccess",
        "surveyId": survey["id"],
    }
    raw = await platform.graphql(
        answer,
        {"input": {"surveyId": gid("Cohort", cohort), "answers": [4]}},
        bearer=token(mentor, tenant, Role.MENTOR),
    )
    assert raw["data"]["respondToPulseSurvey"]["code"] == "InvalidId"
    read = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on PulseSurvey { id state } } }",
        {"id": survey["id"]},
        bearer=admin,
    )
    assert read["data"]["node"] == {"id": survey["id"], "state": "OPEN"}
