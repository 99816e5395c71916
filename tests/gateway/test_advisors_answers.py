"""The gateway reads the advisors service's answers through their models
(``contracts.api.advisors``): every field is the service's answer, and an answer that
does not fit its model is the service's failure (``InternalError``), never a null
or a made-up value.

Most tests put a stand-in advisors service (``httpx.MockTransport``) behind the
gateway, so the answer is exactly what the test says; the last runs on the platform.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import httpx
import pytest

from chassis.auth import Role
from contracts.api import advisors as api
from gateway.answers import read, read_list
from gateway.upstream import UpstreamError
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_advisors import approved_advisor, gid, mutate
from tests.gateway.test_hardening import codes, gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADVISOR: dict[str, Any] = {
    "advisor_id": "adv-1",
    "status": "approved",
    "erased": False,
    "expertise_sought": ["board governance"],
    "reason_code": None,
    # The profile as the service stored it: only the fields given at approval.
    "profile": {"geography": "GB", "time_zone": "Europe/London", "level": 9},
    "name": "Ada Byron",
    "email": "ada@engine.example",
    "organisation": "Analytical Engines",
    "bio": None,
    "person_id": None,
    "conflicts": {"employers": ["Navy"]},
    "checks": {
        "background": {
            "required": True,
            "status": "passed",
            "owner": "compliance-1",
            "expires_on": "2031-01-31",
            "reason_code": None,
            "evidence": "file 42",
        },
        "references": {
            "required": False,
            "status": "open",
            "owner": None,
            "expires_on": None,
            "reason_code": None,
        },
    },
}
USAGE: dict[str, Any] = {
    "month": "2030-05",
    "minutes_this_month": 90,
    "hours_this_month": "1.5",
    "remaining_minutes_this_month": 30,
    "total_minutes": 150,
    "total_hours": "2.5",
    "cost_minor_units": 2500,
    "currency": "EUR",
    "remaining_minor_units": 7500,
    "remaining_cap_minutes": None,
}
SUMMARY: dict[str, Any] = {
    "agreement_id": "agr-1",
    "advisor_id": "adv-1",
    "status": "active",
    "starts_on": "2030-01-01",
    "ends_on": "2030-12-31",
    "scope": "mentoring",
    "hours_per_month": 2,
    "ending_soon": False,
}
COMPENSATION: dict[str, Any] = {
    "pro_bono": False,
    "rate_minor_units": 1000,
    "currency": "EUR",
    "cap_minor_units": 10000,
    "cap_hours": None,
}
TERMS: dict[str, Any] = {
    **SUMMARY,
    "scope_text": "Mentoring two founders",
    "compensation": COMPENSATION,
    "renewable": True,
    "version": 3,
    "usage": USAGE,
}
RISK: dict[str, Any] = {
    "risk_id": "risk-1",
    "title": "Mentor attrition",
    "category": "people",
    "likelihood": 4,
    "impact": 4,
    "score": 16,
    "severity": "high",
    "owner_id": "p-1",
    "mitigation": "",
    "status": "open",
}
HEAT_CELL: dict[str, Any] = {
    "likelihood": 4,
    "impact": 4,
    "score": 16,
    "severity": "high",
    "count": 1,
}
RECOMMENDATION: dict[str, Any] = {
    "recommendation_id": "rec-1",
    "meeting_id": "m-1",
    "title": "Adopt an AI policy",
    "made_by": "adv-1",
    "made_at": "2030-05-02T10:00:00+00:00",
    "status": "accepted",
    "age_days": 4,
    "decided_by": "p-1",
    "decided_at": "2030-05-03T10:00:00+00:00",
    "rationale": "Low cost",
}


def stand_in(answers: dict[tuple[str, str], Any]):
    """A service answering ``answers[(method, path)]`` (200, JSON), 404 otherwise."""

    def handle(request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path)
        if key not in answers:
            return httpx.Response(
                404,
                json={"status": 404, "code": "NotFound", "detail": "no such thing"},
                headers={"content-type": "application/problem+json"},
            )
        return httpx.Response(200, json=answers[key])

    return handle


def internal(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of ``body``: the advisors service's failure, named as such."""
    [error] = body["errors"]
    assert error["extensions"]["code"] == "InternalError", error
    assert error["extensions"]["service"] == "advisors"
    assert "malformed" in error["message"]
    return error


NODE = """query($id: ID!) { node(id: $id) { ... on Advisor { id status erased name
  organisation bio expertiseSought reasonCode profile
  checks { name required status owner expiresOn evidence reasonCode }
  conflicts { employers boardSeats competitors vendors } } } }"""


async def test_an_advisors_fields_are_the_services_answer():
    answers = {("POST", "/advisors/batch"): {"items": [ADVISOR]}}
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(NODE, {"id": gid("Advisor", "adv-1")})
    assert "errors" not in body, body
    assert body["data"]["node"] == {
        "id": gid("Advisor", "adv-1"),
        "status": "APPROVED",
        "erased": False,
        "name": "Ada Byron",
        "organisation": "Analytical Engines",
        "bio": None,
        "expertiseSought": ["board governance"],
        "reasonCode": None,
        # Only the fields the service answered, as it answered them.
        "profile": {"geography": "GB", "time_zone": "Europe/London", "level": 9},
        "checks": [
            {
                "name": "background",
                "required": True,
                "status": "PASSED",
                "owner": "compliance-1",
                "expiresOn": "2031-01-31",
                "evidence": "file 42",
                "reasonCode": None,
            },
            {
                "name": "references",
                "required": False,
                "status": "OPEN",
                "owner": None,
                "expiresOn": None,
                "evidence": None,
                "reasonCode": None,
            },
        ],
        "conflicts": {
            "employers": ["Navy"],
            "boardSeats": [],
            "competitors": [],
            "vendors": [],
        },
    }


async def test_an_erased_advisor_is_read_from_the_few_fields_it_keeps():
    erased = {"advisor_id": "adv-1", "status": "erased", "erased": True}
    answers = {("POST", "/advisors/batch"): {"items": [erased]}}
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(NODE, {"id": gid("Advisor", "adv-1")})
    node = body["data"]["node"]
    assert (node["status"], node["erased"], node["name"]) == ("ERASED", True, None)
    assert (node["checks"], node["conflicts"], node["profile"]) == ([], None, None)


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in ADVISOR.items() if k != "erased"},  # a field missing
        {**ADVISOR, "status": "retired"},  # a status the contract does not know
        {**ADVISOR, "checks": {"background": {"status": "passed"}}},
    ],
)
async def test_a_malformed_advisor_is_an_internal_error_not_a_null(broken):
    answers = {("POST", "/advisors/batch"): {"items": [broken]}}
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(NODE, {"id": gid("Advisor", "adv-1")})
    assert body["data"]["node"] is None
    internal(body)


async def test_a_malformed_page_of_advisors_is_an_internal_error():
    page = {"items": [ADVISOR]}  # next_after missing
    answers = {("GET", "/advisors"): page}
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post("{ advisors(first: 5) { edges { node { id } } } }")
        assert body["data"] is None
        internal(body)
        answers[("GET", "/advisors")] = {**page, "next_after": None}
        good = await gw.post("{ advisors(first: 5) { edges { node { id } } } }")
    assert good["data"]["advisors"]["edges"] == [
        {"node": {"id": gid("Advisor", "adv-1")}}
    ]


AGREEMENTS = """{ advisorAgreements { edges { node { id status startsOn scope
  scopeText hoursPerMonth compensation renewable endingSoon
  usage { month minutesThisMonth remainingMinutesThisMonth totalMinutes
    costMinorUnits currency remainingMinorUnits remainingCapMinutes } } } } }"""


async def test_listed_agreements_read_their_terms_and_usage_in_one_batch():
    answers = {
        ("GET", "/agreements"): {"items": [SUMMARY]},
        ("POST", "/agreements/batch"): {"items": [TERMS]},
    }
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(AGREEMENTS)
        asked = [(r.method, r.url.path) for r in gw.seen]
    assert "errors" not in body, body
    [edge] = body["data"]["advisorAgreements"]["edges"]
    assert edge["node"] == {
        "id": gid("Agreement", "agr-1"),
        "status": "ACTIVE",
        "startsOn": "2030-01-01",
        "scope": "MENTORING",
        # The list answers summaries: these three come from the agreement's terms
        # (they were null, null and false before).
        "scopeText": "Mentoring two founders",
        "hoursPerMonth": 2,
        "compensation": COMPENSATION,
        "renewable": True,
        "endingSoon": False,
        "usage": {
            "month": "2030-05",
            "minutesThisMonth": 90,
            "remainingMinutesThisMonth": 30,
            "totalMinutes": 150,
            "costMinorUnits": 2500,
            "currency": "EUR",
            "remainingMinorUnits": 7500,
            "remainingCapMinutes": None,
        },
    }
    assert asked == [("GET", "/agreements"), ("POST", "/agreements/batch")]


async def test_a_malformed_agreement_list_or_batch_is_an_internal_error():
    no_scope = {k: v for k, v in SUMMARY.items() if k != "scope"}
    answers = {("GET", "/agreements"): {"items": [no_scope]}}
    async with gateway(stand_in(answers)) as gw:
        listed = await gw.post("{ advisorAgreements { edges { node { id } } } }")
        internal(listed)
        answers[("GET", "/agreements")] = {"items": [SUMMARY]}
        answers[("POST", "/agreements/batch")] = {
            "items": [{**TERMS, "usage": {**USAGE, "month": "May"}}]
        }
        usage = await gw.post(
            "{ advisorAgreements { edges { node { id usage { month } } } } }"
        )
    [edge] = usage["data"]["advisorAgreements"]["edges"]
    assert edge["node"] == {"id": gid("Agreement", "agr-1"), "usage": None}
    error = internal(usage)
    assert error["path"][-1] == "usage"


async def test_the_risk_register_and_heat_map_are_the_services_answer():
    register = {"risks": [{**RISK, "raised_at": "2030-05-01T10:00:00+00:00"}]}
    register["heat_map"] = [HEAT_CELL]
    answers = {("GET", "/risks"): register}
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(
            """{ risks { edges { node { id title category likelihood impact score
              severity mitigation status } } } riskHeatMap }"""
        )
        assert "errors" not in body, body
        assert body["data"]["riskHeatMap"] == [HEAT_CELL]
        [edge] = body["data"]["risks"]["edges"]
        assert edge["node"] == {
            "id": gid("Risk", "risk-1"),
            "title": "Mentor attrition",
            "category": "people",
            "likelihood": 4,
            "impact": 4,
            "score": 16,
            "severity": "HIGH",
            "mitigation": "",
            "status": "OPEN",
        }
        answers[("GET", "/risks")] = {**register, "heat_map": [{"count": 1}]}
        broken = await gw.post("{ riskHeatMap }")
    assert broken["data"] is None
    internal(broken)


REGISTER = """mutation($input: RegisterRiskInput!) { registerRisk(input: $input) {
  __typename ... on RiskSuccess { risk { score severity } } } }"""


async def test_a_malformed_answer_to_a_mutation_is_an_internal_error():
    answers: dict[tuple[str, str], Any] = {("POST", "/risks"): {**RISK, "score": 99}}
    variables = {
        "input": {
            "title": "Mentor attrition",
            "category": "people",
            "likelihood": 4,
            "impact": 4,
            "ownerId": gid("Person", "p-1"),
        }
    }
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(REGISTER, variables)
        assert body["data"] is None  # the result union is not nullable
        internal(body)
        answers[("POST", "/risks")] = RISK
        good = await gw.post(REGISTER, variables)
    assert good["data"]["registerRisk"] == {
        "__typename": "RiskSuccess",
        "risk": {"score": 16, "severity": "HIGH"},
    }


COUNCILS = """{ councils { edges { node { name cadenceWeeks
  decisions { id title status ageDays decidedBy rationale } } } } }"""


async def test_a_listed_councils_decisions_are_read_and_a_malformed_list_refused():
    summary = {
        "council_id": "c-1",
        "tenant": "acme",
        "name": "Digital council",
        "purpose": "Advise on AI",
        "cadence_weeks": 6,
        "publish_decisions": True,
        "chartered_at": "2030-01-01T10:00:00+00:00",
    }
    decided = {**RECOMMENDATION, "decision": "accepted"}
    answers: dict[tuple[str, str], Any] = {
        ("GET", "/councils"): [summary],
        ("POST", "/councils/batch"): {"items": []},  # not a member: listed only
        ("GET", "/councils/c-1/decisions"): [decided],
    }
    async with gateway(stand_in(answers)) as gw:
        body = await gw.post(COUNCILS)
        assert "errors" not in body, body
        [edge] = body["data"]["councils"]["edges"]
        assert edge["node"] == {
            "name": "Digital council",
            "cadenceWeeks": 6,
            "decisions": [
                {
                    "id": gid("Recommendation", "rec-1"),
                    "title": "Adopt an AI policy",
                    "status": "ACCEPTED",
                    "ageDays": 4,
                    "decidedBy": "p-1",
                    "rationale": "Low cost",
                }
            ],
        }
        answers[("GET", "/councils")] = {"items": [summary]}  # not a list
        listed = await gw.post(COUNCILS)
        assert "list of CouncilSummary" in internal(listed)["message"]
        answers[("GET", "/councils")] = [summary]
        answers[("GET", "/councils/c-1/decisions")] = [{"title": "no id"}]
        decisions = await gw.post(COUNCILS)
    assert "list of DecidedRecommendation" in internal(decisions)["message"]
    assert codes(decisions) == ["InternalError"]


async def test_read_list_reads_a_list_and_refuses_anything_else():
    [risk] = read_list(api.RiskView, [RISK], "advisors")
    assert (risk.risk_id, risk.score) == ("risk-1", 16)
    for broken in ({"items": [RISK]}, [{**RISK, "severity": "dire"}], None):
        with pytest.raises(UpstreamError) as raised:
            read_list(api.RiskView, broken, "advisors")
        assert (raised.value.code, raised.value.status) == ("InternalError", 502)
    with pytest.raises(UpstreamError):
        read(api.RiskView, [RISK], "advisors")


# -- on the platform: the real service's answers ---------------------------------------


async def test_listed_agreements_show_the_terms_the_service_signed(platform):
    tenant = new_tenant()
    staff = token("coord-1", tenant, Role.COORDINATOR, Role.ADMIN)
    advisor = await approved_advisor(platform, staff)
    year = date.today().year
    signed = await mutate(
        platform,
        "signAgreement",
        "SignAgreementInput",
        "... on AgreementSuccess { agreement { id scopeText compensation renewable } }",
        {
            "advisorId": advisor,
            "startsOn": f"{year}-01-01",
            "endsOn": f"{year}-12-31",
            "scope": "MENTORING",
            "scopeText": "Two founders",
            "hoursPerMonth": 4,
            "rateMinorUnits": 1000,
            "currency": "EUR",
            "capMinorUnits": 50000,
        },
        staff,
    )
    agreement = signed["agreement"]
    service = await platform.service(
        "advisors",
        "POST",
        "/agreements/batch",
        bearer=staff,
        json={"ids": [read_id(agreement["id"])]},
    )
    [terms] = service.json()["items"]
    assert agreement["compensation"] == terms["compensation"]
    assert agreement["scopeText"] == "Two founders"
    assert agreement["renewable"] is True and terms["renewable"] is True
    body = await platform.graphql(
        """query($id: ID!) { advisorAgreements { edges { node { id scopeText
          compensation renewable } } }
          node(id: $id) { ... on Advisor { agreements { id scopeText compensation
            renewable } } } }""",
        {"id": advisor},
        bearer=staff,
    )
    [edge] = body["data"]["advisorAgreements"]["edges"]
    assert edge["node"] == agreement
    assert body["data"]["node"]["agreements"] == [agreement]

    # The advisor's profile is what the service answers for it.
    answer = await platform.service(
        "advisors", "GET", f"/advisors/{read_id(advisor)}", bearer=staff
    )
    shown = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on Advisor { profile } } }",
        {"id": advisor},
        bearer=staff,
    )
    assert shown["data"]["node"]["profile"] == answer.json()["profile"]


def read_id(global_id: str) -> str:
    """The service's id inside a global id."""
    return base64.b64decode(global_id).decode().split(":", 1)[1]
