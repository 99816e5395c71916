"""Councils and the risk register over HTTP, on real PostgreSQL and Kafka."""

from __future__ import annotations

from chassis.service import mounted
from tests.advisors.conftest import COORDINATOR, OTHER_TENANT, SPONSOR
from tests.advisors.test_lifecycle_api import propose
from tests.profiles.conftest import token


def as_advisor(advisor_id: str) -> dict[str, str]:
    return token("acme", "advisor", sub=advisor_id)


MENTEE = token("acme", "mentee", sub="mentee-1")


async def charter(client, **overrides) -> dict:
    body = {
        "name": "Transformation council",
        "purpose": "Advise the programme on its transformation track",
        "cadence_weeks": 6,
        "publish_decisions": True,
    } | overrides
    response = await client.post("/councils", json=body, headers=COORDINATOR)
    assert response.status_code == 201, response.text
    return response.json()


async def council_with_recommendation(client) -> tuple[str, str, str]:
    """A council with an advisor (a real one of this tenant) and a sponsor seated,
    a meeting held and the advisor's recommendation: (council, recommendation,
    advisor)."""
    council = (await charter(client))["council_id"]
    adv = await propose(client)
    for member, kind in ((adv, "advisor"), ("sponsor-1", "sponsor")):
        r = await client.post(
            f"/councils/{council}/members",
            json={"member_id": member, "kind": kind},
            headers=COORDINATOR,
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        f"/councils/{council}/meetings",
        json={"held_on": "2026-03-01", "attendees": 4, "agenda": ["Retention"]},
        headers=COORDINATOR,
    )
    assert r.status_code == 201, r.text
    meeting = r.json()["meeting_id"]
    r = await client.post(
        f"/councils/{council}/recommendations",
        json={"meeting_id": meeting, "title": "Pair new VPs", "made_by": adv},
        headers=as_advisor(adv),
    )
    assert r.status_code == 201, r.text
    return council, r.json()["recommendation_id"], adv


async def test_a_rejection_with_its_rationale_is_published(advisors):
    app, client = advisors
    council, rec, adv = await council_with_recommendation(client)
    advisor = as_advisor(adv)
    version = await mounted(app).runtime.store.stream_version(council)

    refused = await client.post(f"/recommendations/{rec}/reject", headers=SPONSOR)
    assert refused.status_code == 422
    assert refused.json()["code"] == "RationaleRequired"
    blank = await client.post(
        f"/recommendations/{rec}/reject", json={"rationale": " "}, headers=SPONSOR
    )
    assert blank.json()["code"] == "RationaleRequired"
    assert await mounted(app).runtime.store.stream_version(council) == version

    by_advisor = await client.post(
        f"/recommendations/{rec}/reject", json={"rationale": "no"}, headers=advisor
    )
    assert by_advisor.status_code == 403
    rejected = await client.post(
        f"/recommendations/{rec}/reject",
        json={"rationale": "The budget is committed this year"},
        headers=SPONSOR,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"

    # Any member of the organisation reads a publishing council's decisions.
    page = await client.get(f"/councils/{council}/decisions", headers=MENTEE)
    assert page.status_code == 200, page.text
    [decision] = page.json()
    assert decision["decision"] == "rejected"
    assert decision["rationale"] == "The budget is committed this year"
    assert decision["title"] == "Pair new VPs"

    implement = await client.post(f"/recommendations/{rec}/implement", headers=SPONSOR)
    assert implement.json()["code"] == "RecommendationNotAccepted"
    follow_up = await client.get(
        f"/councils/{council}/recommendations?status=rejected", headers=advisor
    )
    assert [r["recommendation_id"] for r in follow_up.json()] == [rec]
    assert follow_up.json()[0]["age_days"] == 0
    view = (await client.get(f"/councils/{council}", headers=advisor)).json()
    assert view["decision_rights"] == "advise"
    assert view["meetings"][0]["agenda"] == ["Retention"]
    assert view["next_meeting_due"] == "2026-04-12"

    # The agenda is stored encrypted; neither it nor the rationale is published.
    stored = await mounted(app).runtime.store.read_stream(council)
    assert "Retention" not in str([e.data for e in stored])
    publication = mounted(app).part.translate
    published = [env.data for e in stored for env in await publication(e)]
    assert len(published) == len(stored)
    assert "Retention" not in str(published) and "budget" not in str(published)


async def test_decisions_stay_inside_a_council_that_does_not_publish_them(advisors):
    _, client = advisors
    council = (await charter(client, publish_decisions=False))["council_id"]
    assert (
        await client.get(f"/councils/{council}/decisions", headers=MENTEE)
    ).status_code == 403
    assert (await client.get("/councils", headers=MENTEE)).json() == []
    assert (
        await client.get(f"/councils/{council}/decisions", headers=SPONSOR)
    ).status_code == 200


async def test_the_risk_register_ranks_risks_and_maps_their_heat(advisors):
    _, client = advisors
    ids = {}
    for title, likelihood, impact in (
        ("Executives lack time", 4, 3),
        ("Advisor conflict of interest", 2, 5),
        ("Sponsor leaves", 5, 4),
        ("Low engagement in one region", 4, 3),
    ):
        r = await client.post(
            "/risks",
            json={
                "title": title,
                "category": "programme",
                "likelihood": likelihood,
                "impact": impact,
                "owner_id": "coordinator-1",
                "mitigation": "",
            },
            headers=COORDINATOR,
        )
        assert r.status_code == 201, r.text
        ids[title] = r.json()["risk_id"]
    closed = ids["Low engagement in one region"]
    assert (await client.post(f"/risks/{closed}/close", headers=COORDINATOR)).json()[
        "status"
    ] == "closed"
    r = await client.put(
        f"/risks/{ids['Advisor conflict of interest']}/assessment",
        json={"likelihood": 3, "impact": 5},
        headers=COORDINATOR,
    )
    assert r.json()["score"] == 15
    r = await client.put(
        f"/risks/{ids['Executives lack time']}/mitigation",
        json={"mitigation": "Protect two hours a month in calendars"},
        headers=COORDINATOR,
    )
    assert r.json()["status"] == "mitigating"

    register = (await client.get("/risks", headers=SPONSOR)).json()
    assert [r["title"] for r in register["risks"]] == [
        "Sponsor leaves",
        "Advisor conflict of interest",
        "Executives lack time",
    ]
    assert register["risks"][2]["mitigation"].startswith("Protect")
    cells = {(c["likelihood"], c["impact"]): c["count"] for c in register["heat_map"]}
    assert cells[(5, 4)] == 1 and cells[(3, 5)] == 1 and cells[(4, 3)] == 1
    assert sum(cells.values()) == 3
    everything = await client.get("/risks?include_closed=true", headers=SPONSOR)
    assert len(everything.json()["risks"]) == 4


async def test_tenants_are_isolated_and_bad_input_gets_typed_errors(advisors):
    _, client = advisors
    council, rec, adv = await council_with_recommendation(client)
    risk = (
        await client.post(
            "/risks",
            json={
                "title": "t",
                "category": "c",
                "likelihood": 1,
                "impact": 1,
                "owner_id": "o",
            },
            headers=COORDINATOR,
        )
    ).json()["risk_id"]
    for path in (f"/councils/{council}", f"/risks/{risk}"):
        assert (await client.get(path, headers=OTHER_TENANT)).status_code == 404
    assert (await client.get("/councils", headers=OTHER_TENANT)).json() == []
    assert (await client.get("/risks", headers=OTHER_TENANT)).json()["risks"] == []
    other = await client.post(f"/recommendations/{rec}/accept", headers=OTHER_TENANT)
    assert other.status_code == 404

    deciding = await client.post(
        "/councils",
        json={
            "name": "Board",
            "purpose": "p",
            "decision_rights": "decide",
            "cadence_weeks": 4,
        },
        headers=COORDINATOR,
    )
    assert deciding.status_code == 422
    assert deciding.json()["code"] == "DecisionRightsNotAdvisory"
    bad_score = await client.post(
        "/risks",
        json={
            "title": "t",
            "category": "c",
            "likelihood": 6,
            "impact": 1,
            "owner_id": "o",
        },
        headers=COORDINATOR,
    )
    assert bad_score.status_code == 422
    assert bad_score.json()["code"] == "ValidationError"
    by_sponsor = await client.post(
        "/risks",
        json={
            "title": "t",
            "category": "c",
            "likelihood": 1,
            "impact": 1,
            "owner_id": "o",
        },
        headers=SPONSOR,
    )
    assert by_sponsor.status_code == 403
    stranger = await client.post(
        f"/councils/{council}/members",
        json={"member_id": adv, "kind": "advisor"},
        headers=COORDINATOR,
    )
    assert stranger.json()["code"] == "AlreadyMember"
    assert len((await client.get("/councils", headers=COORDINATOR)).json()) == 1
    assert len((await client.get("/risks", headers=COORDINATOR)).json()["risks"]) == 1
