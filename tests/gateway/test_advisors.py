"""External advisors through GraphQL, end to end over HTTP against the real
services: onboarding under due diligence, agreements whose hours cap is a typed
error, councils, the risk register, and batched reads."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

from chassis.auth import Role
from tests.gateway.platform import new_tenant, token

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHECKS = ("background", "conflict_of_interest", "confidentiality", "compliance")
ADVISOR_FIELDS = """ id status name reasonCode checks { name status evidence }
  conflicts { employers } """


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


async def mutate(platform, name: str, input_type: str, fields: str, value, bearer):
    body = await platform.graphql(
        f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
          __typename ... on Error {{ code message }} {fields} }} }}""",
        {"input": value},
        bearer=bearer,
    )
    assert body.get("data") and body["data"].get(name), body
    return body["data"][name]


async def approved_advisor(platform, staff: str, n: int = 1) -> str:
    onboarded = await mutate(
        platform,
        "onboardAdvisor",
        "OnboardAdvisorInput",
        f"... on AdvisorSuccess {{ advisor {{ {ADVISOR_FIELDS} }} }}",
        {
            "name": f"Grace Hopper {n}",
            "email": f"grace{n}@navy.example",
            "organisation": "Ministry of Compilers",
            "expertiseSought": ["digital transformation"],
        },
        staff,
    )
    advisor = onboarded["advisor"]["id"]
    started = await mutate(
        platform,
        "startDiligence",
        "AdvisorInput",
        "... on AdvisorSuccess { advisor { status checks { name status } } }",
        {"advisorId": advisor},
        staff,
    )
    assert started["advisor"]["status"] == "DUE_DILIGENCE"
    expiry = (date.today() + timedelta(days=365)).isoformat()
    for check in CHECKS:
        recorded = await mutate(
            platform,
            "recordDiligenceCheck",
            "RecordCheckInput",
            "... on AdvisorSuccess { advisor { status } }",
            {
                "advisorId": advisor,
                "check": check,
                "status": "PASSED",
                "evidence": f"{check} file 42",
                "owner": "compliance-1",
                "expiresOn": expiry,
            },
            staff,
        )
        assert recorded["__typename"] == "AdvisorSuccess", recorded
    approved = await mutate(
        platform,
        "approveAdvisor",
        "ApproveAdvisorInput",
        "... on AdvisorSuccess { advisor { status profile } }",
        {"advisorId": advisor, "geography": "GB", "timeZone": "Europe/London"},
        staff,
    )
    assert approved["advisor"]["status"] == "APPROVED", approved
    return advisor


async def test_an_advisor_is_onboarded_through_diligence_to_approval(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    onboarded = await mutate(
        platform,
        "onboardAdvisor",
        "OnboardAdvisorInput",
        "... on AdvisorSuccess { advisor { id status } }",
        {
            "name": "Ada Byron",
            "email": "ada@engine.example",
            "expertiseSought": ["board governance"],
        },
        staff,
    )
    early = await mutate(
        platform,
        "approveAdvisor",
        "ApproveAdvisorInput",
        "... on AdvisorSuccess { advisor { status } }",
        {
            "advisorId": onboarded["advisor"]["id"],
            "geography": "GB",
            "timeZone": "Europe/London",
        },
        staff,
    )
    # Not under diligence yet: the status refuses it, as a typed error.
    assert (early["__typename"], early["code"]) == ("Conflict", "AdvisorStatusConflict")

    advisor = await approved_advisor(platform, staff)
    declared = await mutate(
        platform,
        "declareConflicts",
        "DeclareConflictsInput",
        "... on AdvisorSuccess { advisor { conflicts { employers boardSeats } } }",
        {"advisorId": advisor, "employers": ["Navy"], "boardSeats": ["Univac"]},
        staff,
    )
    assert declared["advisor"]["conflicts"] == {
        "employers": ["Navy"],
        "boardSeats": ["Univac"],
    }
    body = await platform.graphql(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Advisor {{ {ADVISOR_FIELDS} }} }} }}",
        {"id": advisor},
        bearer=staff,
    )
    node = body["data"]["node"]
    assert node["status"] == "APPROVED"
    assert {c["name"]: c["status"] for c in node["checks"]} == {
        c: "PASSED" for c in CHECKS
    }
    assert node["checks"][0]["evidence"].endswith("file 42")

    suspended = await mutate(
        platform,
        "suspendAdvisor",
        "AdvisorReasonInput",
        "... on AdvisorSuccess { advisor { status reasonCode } }",
        {"advisorId": advisor, "reasonCode": "complaint"},
        staff,
    )
    assert suspended["advisor"] == {"status": "SUSPENDED", "reasonCode": "complaint"}

    intruder = token("admin-x", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    hidden = await platform.graphql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": advisor},
        bearer=intruder,
        expect_errors=True,
    )
    assert hidden["data"]["node"] is None


async def test_hours_over_the_cap_are_a_typed_rule_violation(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    advisor = await approved_advisor(platform, staff)
    this_year = date.today().year
    signed = await mutate(
        platform,
        "signAgreement",
        "SignAgreementInput",
        "... on AgreementSuccess { agreement { id hoursPerMonth status } }",
        {
            "advisorId": advisor,
            "startsOn": f"{this_year}-01-01",
            "endsOn": f"{this_year}-12-31",
            "scope": "MENTORING",
            "hoursPerMonth": 2,
            "proBono": True,
        },
        staff,
    )
    agreement = signed["agreement"]["id"]
    log = "... on LogHoursSuccess { loggedHours usage { minutesThisMonth } }"
    today = date.today().isoformat()
    first = await mutate(
        platform,
        "logAdvisorHours",
        "LogHoursInput",
        log,
        {"agreementId": agreement, "on": today, "minutes": 90},
        staff,
    )
    assert first["usage"]["minutesThisMonth"] == 90
    over = await mutate(
        platform,
        "logAdvisorHours",
        "LogHoursInput",
        log,
        {"agreementId": agreement, "on": today, "hours": "1"},
        staff,
    )
    assert over["__typename"] == "RuleViolation"
    assert over["code"] == "HoursOverCap"

    body = await platform.graphql(
        """query($id: ID!) { node(id: $id) { ... on Agreement { status
          usage { minutesThisMonth remainingMinutesThisMonth }
          advisor { status } } } }""",
        {"id": agreement},
        bearer=staff,
    )
    assert body["data"]["node"]["usage"] == {
        "minutesThisMonth": 90,
        "remainingMinutesThisMonth": 30,
    }  # the refused hours changed nothing


async def test_upstream_calls_do_not_grow_with_the_number_of_advisors(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    year = date.today().year
    for n in range(3):
        advisor = await approved_advisor(platform, staff, n)
        await mutate(
            platform,
            "signAgreement",
            "SignAgreementInput",
            "... on AgreementSuccess { agreement { id } }",
            {
                "advisorId": advisor,
                "startsOn": f"{year}-01-01",
                "endsOn": f"{year}-12-31",
                "scope": "MENTORING",
                "hoursPerMonth": 4,
                "proBono": True,
            },
            staff,
        )
    query = """{ advisors(first: %d) { edges { node { status checks { status }
      agreements { status usage { minutesThisMonth } advisor { name } } } } } }"""
    calls = {}
    for n in (1, 3):
        body = await platform.graphql(query % n, bearer=staff)
        edges = body["data"]["advisors"]["edges"]
        assert len(edges) == n
        assert all(len(e["node"]["agreements"]) == 1 for e in edges)
        calls[n] = body["extensions"]["upstreamCalls"]
    assert calls[1] == calls[3]


async def test_a_council_recommends_and_a_risk_is_managed(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    chartered = await mutate(
        platform,
        "charterCouncil",
        "CharterCouncilInput",
        "... on CouncilSuccess { council { id decisionRights } }",
        {"name": "Digital council", "purpose": "Advise on AI", "cadenceWeeks": 6},
        staff,
    )
    council = chartered["council"]["id"]
    # An advisor seat names an advisor of this organisation (the service checks it).
    advisor_gid = await approved_advisor(platform, staff)
    unknown = await mutate(
        platform,
        "addCouncilMember",
        "CouncilMemberInput",
        "... on CouncilSuccess { council { id } }",
        {
            "councilId": council,
            "memberId": base64.b64encode(b"Advisor:adv-unknown").decode(),
            "kind": "ADVISOR",
        },
        staff,
    )
    assert unknown["__typename"] == "ValidationError", unknown
    member = await mutate(
        platform,
        "addCouncilMember",
        "CouncilMemberInput",
        "... on CouncilSuccess { council { members { advisor { id } kind } } }",
        {"councilId": council, "memberId": advisor_gid, "kind": "ADVISOR"},
        staff,
    )
    assert member["council"]["members"] == [
        {"advisor": {"id": advisor_gid}, "kind": "ADVISOR"}
    ]
    met = await mutate(
        platform,
        "recordCouncilMeeting",
        "CouncilMeetingInput",
        "... on CouncilSuccess { council { meetings { meetingId attendees } } }",
        {
            "councilId": council,
            "heldOn": date.today().isoformat(),
            "attendees": 4,
            "agenda": ["AI policy"],
        },
        staff,
    )
    meeting = met["council"]["meetings"][0]["meetingId"]
    made = await mutate(
        platform,
        "makeRecommendation",
        "RecommendInput",
        "... on RecommendationSuccess { recommendation { id status } }",
        {
            "councilId": council,
            "meetingId": meeting,
            "title": "Adopt an AI policy",
            "madeBy": advisor_gid,
        },
        staff,
    )
    decided = await mutate(
        platform,
        "decideRecommendation",
        "DecideRecommendationInput",
        "... on RecommendationSuccess { recommendation { status rationale } }",
        {
            "recommendationId": made["recommendation"]["id"],
            "decision": "ACCEPT",
            "rationale": "Low cost",
        },
        staff,
    )
    assert decided["recommendation"] == {"status": "ACCEPTED", "rationale": "Low cost"}
    listed = await platform.graphql(
        "{ councils { edges { node { name decisions { title } } } } }", bearer=staff
    )
    [edge] = listed["data"]["councils"]["edges"]
    assert edge["node"]["decisions"] == [{"title": "Adopt an AI policy"}]

    risk = await mutate(
        platform,
        "registerRisk",
        "RegisterRiskInput",
        "... on RiskSuccess { risk { id score severity } }",
        {
            "title": "Mentor attrition",
            "category": "people",
            "likelihood": 4,
            "impact": 4,
            "ownerId": base64.b64encode(b"Person:coord-1").decode(),
        },
        staff,
    )
    rid = risk["risk"]["id"]
    assert risk["risk"]["score"] == 16
    assessed = await mutate(
        platform,
        "assessRisk",
        "AssessRiskInput",
        "... on RiskSuccess { risk { score } }",
        {"riskId": rid, "likelihood": 2, "impact": 3},
        staff,
    )
    assert assessed["risk"]["score"] == 6
    closed = await mutate(
        platform,
        "closeRisk",
        "RiskInput",
        "... on RiskSuccess { risk { status } }",
        {"riskId": rid},
        staff,
    )
    assert closed["risk"]["status"] == "CLOSED"
    register = await platform.graphql(
        "{ risks { edges { node { id } } } }", bearer=staff
    )
    assert register["data"]["risks"]["edges"] == []
