"""The pieces of the graph that were missing: advisor mentors, pairing reasons, group
circles, milestone certificates and open slots, the same health in a list as alone,
councils for every role that may read them, and milestone progress.

End to end over HTTP against the real services, one platform for the module.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from chassis.auth import Role
from tests.gateway.journey import until_matching_sees
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_advisors import CHECKS, mutate
from tests.profiles.conftest import person
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

INTAKE = {
    "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
    "experiences_lacking": ["APAC"],
    "preferred_formats": ["one_to_one"],
    "hours_per_month": 4,
}


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def rest(platform, service: str, method: str, path: str, bearer: str, body=None):
    resp = await platform.service(service, method, path, bearer=bearer, json=body)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else {}


async def advisor_with_seats(platform, staff: str, name: str) -> str:
    """An advisor through due diligence, approved with two seats; their global id."""
    onboarded = await mutate(
        platform,
        "onboardAdvisor",
        "OnboardAdvisorInput",
        "... on AdvisorSuccess { advisor { id } }",
        {
            "name": name,
            "email": "helena@vasquez.example",
            "organisation": "Vasquez Advisory",
            "expertiseSought": ["strategy"],
        },
        staff,
    )
    advisor = onboarded["advisor"]["id"]
    await mutate(
        platform,
        "startDiligence",
        "AdvisorInput",
        "... on AdvisorSuccess { advisor { status } }",
        {"advisorId": advisor},
        staff,
    )
    for check in CHECKS:
        await mutate(
            platform,
            "recordDiligenceCheck",
            "RecordCheckInput",
            "... on AdvisorSuccess { advisor { status } }",
            {
                "advisorId": advisor,
                "check": check,
                "status": "PASSED",
                "evidence": "file 42",
                "owner": "compliance-1",
                "expiresOn": (date.today() + timedelta(days=365)).isoformat(),
            },
            staff,
        )
    approved = await mutate(
        platform,
        "approveAdvisor",
        "ApproveAdvisorInput",
        "... on AdvisorSuccess { advisor { status } }",
        {
            "advisorId": advisor,
            "geography": "ES",
            "timeZone": "Europe/Madrid",
            "level": 11,
            "maxMentees": 2,
            "hoursPerMonth": 6,
            "profile": {
                "strengths": [{"competency_id": "strategy", "proficiency": 5}],
                "formats": ["one_to_one"],
            },
        },
        staff,
    )
    assert approved["advisor"]["status"] == "APPROVED", approved
    return advisor


async def until_candidate(platform, candidate_id: str) -> None:
    engine = platform.apps["matching"].state.runtime.engine

    async def seen() -> bool:
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT count(*) FROM candidates WHERE person_id = :p"),
                {"p": candidate_id},
            )
            return bool(found.scalar_one())

    await until(seen, "matching to see the advisor")


async def cohort_of(
    platform, admin: str, kind: str, mentees: int, mentors: int = 0
) -> dict:
    """A cohort of ``kind`` with mentees (and person mentors), set up directly."""
    await rest(
        platform,
        "profiles",
        "POST",
        "/competencies",
        admin,
        {"competency_id": "strategy", "name": "Strategy"},
    )
    cohort = (
        await rest(
            platform,
            "profiles",
            "POST",
            "/cohorts",
            admin,
            {"name": f"{kind} cohort", "capacity": 20, "programme_type": kind},
        )
    )["cohort_id"]
    made: dict[str, list[str]] = {"mentors": [], "mentees": []}
    for n in range(mentors):
        pid = (
            await rest(
                platform,
                "profiles",
                "POST",
                "/people",
                admin,
                person(500 + n, level=10, roles=["mentor"]),
            )
        )["person_id"]
        await rest(
            platform,
            "profiles",
            "PUT",
            f"/people/{pid}/mentor-profile",
            admin,
            {
                "strengths": [{"competency_id": "strategy", "proficiency": 5}],
                "formats": ["one_to_one", "group"],
                "max_mentees": 3,
                "hours_per_month": 6,
            },
        )
        await rest(
            platform,
            "profiles",
            "POST",
            f"/cohorts/{cohort}/participants",
            admin,
            {"person_id": pid, "role": "mentor"},
        )
        made["mentors"].append(pid)
    for n in range(mentees):
        pid = (
            await rest(platform, "profiles", "POST", "/people", admin, person(600 + n))
        )["person_id"]
        await rest(platform, "profiles", "PUT", f"/people/{pid}/intake", admin, INTAKE)
        await rest(
            platform,
            "profiles",
            "POST",
            f"/cohorts/{cohort}/participants",
            admin,
            {"person_id": pid},
        )
        made["mentees"].append(pid)
    await until_matching_sees(platform, cohort, mentors + mentees)
    return {"cohort": cohort, **made}


ROUND = """
mutation($input: StartMatchingRoundInput!) { startMatchingRound(input: $input) {
  __typename ... on Error { code message }
  ... on MatchingRoundSuccess { round { id status programmeType %s
    proposedPairs(first: 10) { edges { node { id status
      mentor { id }
      mentorParty { __typename ... on Advisor { id name } ... on Person { id } }
      mentee { id } } } } } } } }
"""


async def run_round(platform, admin: str, cohort: str, extra: str = "") -> dict:
    body = await platform.graphql(
        ROUND % extra,
        {"input": {"cohortId": gid("Cohort", cohort), "wait": True}},
        bearer=admin,
    )
    result = body["data"]["startMatchingRound"]
    assert result["__typename"] == "MatchingRoundSuccess", result
    return result["round"]


async def test_an_advisor_who_mentors_is_the_mentor_of_the_pairing(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    advisor = await advisor_with_seats(platform, admin, "Helena Vasquez")
    await until_candidate(platform, local(advisor))
    org = await cohort_of(platform, admin, "external", mentees=1)
    round_ = await run_round(platform, admin, org["cohort"])
    assert round_["programmeType"] == "EXTERNAL"
    [pair] = [e["node"] for e in round_["proposedPairs"]["edges"]]
    assert pair["mentorParty"] == {
        "__typename": "Advisor",
        "id": advisor,
        "name": "Helena Vasquez",
    }
    assert pair["mentor"] is None  # `mentor` stays a Person: none here
    assert pair["mentee"]["id"] == gid("Person", org["mentees"][0])

    # The relationship it starts names the same mentor.
    await platform.graphql(
        "mutation($i: PairingInput!) { approvePairing(input: $i) { __typename } }",
        {"i": {"pairingId": pair["id"]}},
        bearer=admin,
    )
    sides = ((local(advisor), Role.MENTOR), (org["mentees"][0], Role.MENTEE))
    for who, role in sides:
        accepted = await platform.graphql(
            "mutation($i: PairingInput!) { acceptPairing(input: $i) { __typename "
            "... on Error { code message } } }",
            {"i": {"pairingId": pair["id"]}},
            bearer=token(who, tenant, role),
        )
        assert accepted["data"]["acceptPairing"]["__typename"] == "PairingSuccess"
    relationship = gid("Relationship", local(pair["id"]))

    async def started() -> bool:
        body = await platform.graphql(
            "query($id: ID!) { node(id: $id) { ... on Relationship { "
            "mentorParty { __typename ... on Advisor { name } } } } }",
            {"id": relationship},
            bearer=admin,
        )
        node = body["data"]["node"]
        return node is not None and node["mentorParty"] == {
            "__typename": "Advisor",
            "name": "Helena Vasquez",
        }

    await until(started, "the relationship to start with its advisor mentor")


REASONS = """query($id: ID!) { node(id: $id) { ... on Pairing { status reasonCode
  declineReason { step code text author { id } }
  endReason { step code text }
  reasons { step } } } }"""


async def act(platform, name: str, input_type: str, value: dict, bearer: str) -> str:
    body = await platform.graphql(
        f"mutation($i: {input_type}!) {{ {name}(input: $i) {{ __typename "
        "... on Error { code message } } }",
        {"i": value},
        bearer=bearer,
    )
    return body["data"][name]["__typename"]


async def test_decline_and_end_reasons_are_read_by_those_who_may(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    org = await cohort_of(platform, admin, "standard", mentees=2, mentors=1)
    round_ = await run_round(platform, admin, org["cohort"])
    pairs = {
        local(e["node"]["mentee"]["id"]): e["node"]["id"]
        for e in round_["proposedPairs"]["edges"]
    }
    declined_by, ended_for = org["mentees"]
    mentor = org["mentors"][0]
    as_decliner = token(declined_by, tenant, Role.MENTEE)
    assert (
        await act(
            platform,
            "declinePairing",
            "DeclinePairingInput",
            {"pairingId": pairs[declined_by], "reason": "Our weeks never overlap"},
            as_decliner,
        )
        == "PairingSuccess"
    )
    ended = pairs[ended_for]
    await act(platform, "approvePairing", "PairingInput", {"pairingId": ended}, admin)
    for who, role in ((mentor, Role.MENTOR), (ended_for, Role.MENTEE)):
        accepted = await act(
            platform,
            "acceptPairing",
            "PairingInput",
            {"pairingId": ended},
            token(who, tenant, role),
        )
        assert accepted == "PairingSuccess"
    assert (
        await act(
            platform,
            "endPairing",
            "PairingReasonInput",
            {"pairingId": ended, "reason": "The mentee moved to the Lisbon office"},
            admin,
        )
        == "PairingSuccess"
    )

    seen = await platform.graphql(REASONS, {"id": pairs[declined_by]}, bearer=admin)
    declined = seen["data"]["node"]
    assert declined["status"] == "DECLINED"
    assert declined["declineReason"] == {
        "step": "DECLINED",
        "code": "other",
        "text": "Our weeks never overlap",
        "author": {"id": gid("Person", declined_by)},
    }
    assert declined["endReason"] is None
    own = await platform.graphql(
        REASONS, {"id": pairs[declined_by]}, bearer=as_decliner
    )
    assert own["data"]["node"]["declineReason"]["text"] == "Our weeks never overlap"
    # The mentor sees the pairing, not the words its mentee typed.
    theirs = await platform.graphql(
        REASONS, {"id": pairs[declined_by]}, bearer=token(mentor, tenant, Role.MENTOR)
    )
    assert theirs["data"]["node"]["status"] == "DECLINED"
    assert theirs["data"]["node"]["declineReason"] is None
    assert theirs["data"]["node"]["reasons"] == []

    over = await platform.graphql(REASONS, {"id": ended}, bearer=admin)
    assert over["data"]["node"]["status"] == "ENDED"
    assert over["data"]["node"]["endReason"] == {
        "step": "ENDED",
        "code": "other",
        "text": "The mentee moved to the Lisbon office",
    }
    assert over["data"]["node"]["declineReason"] is None


CIRCLES = """circles { size mentor { id } mentorParty { __typename }
  mentees { id } pairings { id } }"""


async def test_a_group_round_exposes_its_circles_and_a_relationship_its_own(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    org = await cohort_of(platform, admin, "group", mentees=3, mentors=1)
    round_ = await run_round(platform, admin, org["cohort"], CIRCLES)
    assert round_["programmeType"] == "GROUP"
    mentor = gid("Person", org["mentors"][0])
    [circle] = round_["circles"]
    assert circle["size"] == 3
    assert circle["mentor"] == {"id": mentor}
    assert circle["mentorParty"] == {"__typename": "Person"}
    assert sorted(m["id"] for m in circle["mentees"]) == sorted(
        gid("Person", m) for m in org["mentees"]
    )
    pairing = circle["pairings"][0]["id"]

    await act(platform, "approvePairing", "PairingInput", {"pairingId": pairing}, admin)
    mentee = local(
        next(
            e["node"]["mentee"]["id"]
            for e in round_["proposedPairs"]["edges"]
            if e["node"]["id"] == pairing
        )
    )
    for who, role in ((org["mentors"][0], Role.MENTOR), (mentee, Role.MENTEE)):
        accepted = await act(
            platform,
            "acceptPairing",
            "PairingInput",
            {"pairingId": pairing},
            token(who, tenant, role),
        )
        assert accepted == "PairingSuccess"
    relationship = gid("Relationship", local(pairing))
    query = (
        "query($id: ID!) { node(id: $id) { ... on Relationship { kind "
        "circle { size mentor { id } mentees { id } } } } }"
    )

    async def started() -> bool:
        body = await platform.graphql(query, {"id": relationship}, bearer=admin)
        return body["data"]["node"] is not None

    await until(started, "the group relationship to start")
    seen = await platform.graphql(query, {"id": relationship}, bearer=admin)
    node = seen["data"]["node"]
    assert node["kind"] == "GROUP"
    assert node["circle"]["size"] == 3 and node["circle"]["mentor"] == {"id": mentor}
    # Its mentee sees the circle with the members they may see: themself.
    own = await platform.graphql(
        query, {"id": relationship}, bearer=token(mentee, tenant, Role.MENTEE)
    )
    assert own["data"]["node"]["circle"]["mentees"] == [{"id": gid("Person", mentee)}]
    # The round of a standard programme has no circles.
    elsewhere = token("admin-1", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    other = await cohort_of(platform, elsewhere, "standard", mentees=2, mentors=1)
    standard = await run_round(platform, elsewhere, other["cohort"], CIRCLES)
    assert standard["circles"] == []


async def test_a_certificate_and_open_slots_are_in_the_graph(platform, kafka_bootstrap):
    from tests.gateway.test_sessions import pair, signed

    p = await pair(platform, kafka_bootstrap, n=7)
    await signed(platform, p)

    async def known_zones():  # sessions learns each person's zone from profiles
        slots = await platform.graphql(
            """query($id: ID!) { node(id: $id) { ... on Relationship {
              openSlots(count: 2) { minutes slots { startsAt endsAt
                local { timeZone startsAt person { id } } } } } } }""",
            {"id": p["gid"]},
            bearer=p["as_mentee"],
        )
        found = slots["data"]["node"]["openSlots"]
        zones = {t["timeZone"] for s in found["slots"] for t in s["local"]}
        return found if zones == {"Europe/London"} else None

    open_ = await until(known_zones, "sessions to know both people's time zones")
    assert open_["minutes"] == 60  # the contract's session length
    assert len(open_["slots"]) == 2
    first = open_["slots"][0]
    assert first["startsAt"] < first["endsAt"]
    assert sorted(t["person"]["id"] for t in first["local"]) == sorted(
        [gid("Person", p["mentor"]), gid("Person", p["mentee"])]
    )

    set_ = await mutate(
        platform,
        "setMilestone",
        "SetMilestoneInput",
        "... on MilestoneSuccess { milestone { id certificate { label } } }",
        {
            "relationshipId": p["gid"],
            "objectiveIndex": 0,
            "label": "Plan presented",
            "dueOn": (date.today() + timedelta(days=30)).isoformat(),
            "criteria": ["Deck reviewed", "Presented"],
        },
        p["as_mentee"],
    )
    assert set_["milestone"]["certificate"] is None  # not achieved yet
    achieved = await mutate(
        platform,
        "achieveMilestone",
        "AchieveMilestoneInput",
        """... on MilestoneSuccess { milestone { certificate { label objectiveIndex
          criteriaCount dueOn achievedOn onTime confirmerRole
          mentee { id } mentor { __typename ... on Person { id } }
          confirmedBy { id } relationship { id } } } }""",
        {"milestoneId": set_["milestone"]["id"], "evidence": "Board minutes"},
        p["as_mentor"],
    )
    assert achieved["milestone"]["certificate"] == {
        "label": "Plan presented",
        "objectiveIndex": 0,
        "criteriaCount": 2,
        "dueOn": (date.today() + timedelta(days=30)).isoformat(),
        "achievedOn": date.today().isoformat(),
        "onTime": True,
        "confirmerRole": "MENTOR",
        "mentee": {"id": gid("Person", p["mentee"])},
        "mentor": {"__typename": "Person", "id": gid("Person", p["mentor"])},
        "confirmedBy": {"id": gid("Person", p["mentor"])},
        "relationship": {"id": p["gid"]},
    }


# `relationshipId` (deprecated): the relationships are planted in insights only.
HEALTH = "daysSinceSession cancellationStreak state reasons idle relationshipId"


async def test_a_health_in_the_list_has_the_fields_of_one_alone(
    platform, kafka_bootstrap
):
    import uuid
    from datetime import UTC, datetime

    from tests.insights.conftest import event, publish

    tenant = new_tenant()
    coordinator = token("coordinator-1", tenant, Role.COORDINATOR)
    start = datetime.now(UTC) - timedelta(days=20)
    planted = []
    rids = [str(uuid.uuid4()) for _ in range(2)]
    for n, rid in enumerate(rids):
        body = {
            "relationship_id": rid,
            "pairing_id": rid,
            "mentor_id": f"m-{n}",
            "mentee_id": f"e-{n}",
            "starts_on": start.date().isoformat(),
        }
        planted.append(
            event("sessions", "RelationshipStarted", rid, body, at=start, tenant=tenant)
        )
    later = start + timedelta(days=5)
    for kind, session in (("SessionCancelled", "s-1"), ("SessionMissed", "s-2")):
        planted.append(
            event(
                "sessions",
                kind,
                rids[0],
                {"relationship_id": rids[0], "session_id": session},
                at=later,
                tenant=tenant,
            )
        )
    await publish(kafka_bootstrap, planted)

    async def listed():
        body = await platform.graphql(
            f"{{ relationshipHealths {{ edges {{ node {{ {HEALTH} }} }} }} }}",
            bearer=coordinator,
        )
        edges = body["data"]["relationshipHealths"]["edges"]
        return edges if len(edges) == 2 else None

    edges = await until(listed, "insights to assess both relationships")
    for edge in edges:
        node = edge["node"]
        alone = await platform.graphql(
            f"query($id: ID!) {{ relationshipHealth(relationshipId: $id) {{ {HEALTH} }} }}",
            {"id": gid("Relationship", node["relationshipId"])},
            bearer=coordinator,
        )
        one = alone["data"]["relationshipHealth"]
        assert node["daysSinceSession"] is not None
        assert node["daysSinceSession"] == one["daysSinceSession"] == 20
        assert node["cancellationStreak"] == one["cancellationStreak"]
    streaks = {
        e["node"]["relationshipId"]: e["node"]["cancellationStreak"] for e in edges
    }
    assert streaks == {rids[0]: 2, rids[1]: 0}


async def decided_council(platform, staff: str, name: str, publish: bool) -> str:
    """A council with a sponsor seated, a meeting and an accepted recommendation."""
    chartered = await mutate(
        platform,
        "charterCouncil",
        "CharterCouncilInput",
        "... on CouncilSuccess { council { id } }",
        {
            "name": name,
            "purpose": "Advise on AI",
            "cadenceWeeks": 6,
            "publishDecisions": publish,
        },
        staff,
    )
    council = chartered["council"]["id"]
    sponsor = gid("Person", "sponsor-1")
    await mutate(
        platform,
        "addCouncilMember",
        "CouncilMemberInput",
        "... on CouncilSuccess { council { id } }",
        {"councilId": council, "memberId": sponsor, "kind": "SPONSOR"},
        staff,
    )
    met = await mutate(
        platform,
        "recordCouncilMeeting",
        "CouncilMeetingInput",
        "... on CouncilSuccess { council { meetings { meetingId } } }",
        {
            "councilId": council,
            "heldOn": date.today().isoformat(),
            "attendees": 3,
            "agenda": ["AI policy"],
        },
        staff,
    )
    made = await mutate(
        platform,
        "makeRecommendation",
        "RecommendInput",
        "... on RecommendationSuccess { recommendation { id } }",
        {
            "councilId": council,
            "meetingId": met["council"]["meetings"][0]["meetingId"],
            "title": f"{name}: adopt an AI policy",
            "madeBy": sponsor,
        },
        staff,
    )
    decided = await mutate(
        platform,
        "decideRecommendation",
        "DecideRecommendationInput",
        "... on RecommendationSuccess { recommendation { status } }",
        {
            "recommendationId": made["recommendation"]["id"],
            "decision": "ACCEPT",
            "rationale": "Low cost",
        },
        staff,
    )
    assert decided["recommendation"]["status"] == "ACCEPTED", decided
    return council


COUNCILS = """{ councils { edges { node { id name publishDecisions
  members { kind } decisions { title status rationale } } } } }"""


async def test_a_mentee_reads_the_councils_that_publish_their_decisions(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    public = await decided_council(platform, staff, "Open council", True)
    await decided_council(platform, staff, "Closed council", False)

    mentee = token("mentee-1", tenant, Role.MENTEE)
    body = await platform.graphql(COUNCILS, bearer=mentee)
    assert [e["node"] for e in body["data"]["councils"]["edges"]] == [
        {
            "id": public,
            "name": "Open council",
            "publishDecisions": True,
            "members": [],  # the rest stays with its members and the staff
            "decisions": [
                {
                    "title": "Open council: adopt an AI policy",
                    "status": "ACCEPTED",
                    "rationale": "Low cost",
                }
            ],
        }
    ]
    # Staff still read every council in full.
    every = await platform.graphql(COUNCILS, bearer=staff)
    nodes = [e["node"] for e in every["data"]["councils"]["edges"]]
    assert [n["name"] for n in nodes] == ["Open council", "Closed council"]
    assert all(n["members"] == [{"kind": "SPONSOR"}] for n in nodes)
    assert all(len(n["decisions"]) == 1 for n in nodes)


async def test_the_first_progress_report_of_a_milestone_is_recorded(
    platform, kafka_bootstrap
):
    from tests.gateway.test_sessions import pair, signed

    p = await pair(platform, kafka_bootstrap, n=8)
    await signed(platform, p)
    set_ = await mutate(
        platform,
        "setMilestone",
        "SetMilestoneInput",
        "... on MilestoneSuccess { milestone { id progress } }",
        {
            "relationshipId": p["gid"],
            "objectiveIndex": 0,
            "label": "Plan drafted",
            "dueOn": (date.today() + timedelta(days=30)).isoformat(),
            "criteria": ["Draft shared"],
        },
        p["as_mentee"],
    )
    milestone = set_["milestone"]["id"]
    assert set_["milestone"]["progress"] is None  # nothing reported yet
    fields = "... on MilestoneSuccess { milestone { progress } }"
    for status in ("IN_PROGRESS", "AT_RISK", "IN_PROGRESS"):
        reported = await mutate(
            platform,
            "updateMilestoneStatus",
            "UpdateMilestoneStatusInput",
            fields,
            {"milestoneId": milestone, "status": status},
            p["as_mentee"],
        )
        assert reported["milestone"]["progress"] == status
    again = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on Milestone { progress } } }",
        {"id": milestone},
        bearer=p["as_mentor"],
    )
    assert again["data"]["node"]["progress"] == "IN_PROGRESS"
