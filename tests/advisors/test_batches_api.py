"""Batch reads (for the gateway's DataLoaders): advisors, agreements, councils and
risks by id in one call, each authorised like its single-item route; another
organisation's items never come back."""

from __future__ import annotations

import pytest

from tests.advisors.conftest import COORDINATOR, OTHER_TENANT, SPONSOR
from tests.advisors.test_lifecycle_api import diligence_passed, propose
from tests.profiles.conftest import token

pytestmark = pytest.mark.kafka
PROFILE = {"geography": "GB", "time_zone": "Europe/London", "languages": ["en"]}


def ids(resp, key: str) -> list[str]:
    assert resp.status_code == 200, resp.text
    return sorted(item[key] for item in resp.json()["items"])


async def test_advisors_by_id_within_the_tenant_with_personal_fields_as_on_get(
    advisors,
):
    _app, client = advisors
    a = await propose(client)
    b = await propose(client, name="Ada Byron", email="ada@engine.example")
    body = {"ids": [a, b, "no-such", a]}

    staff = await client.post("/advisors/batch", json=body, headers=COORDINATOR)
    assert ids(staff, "advisor_id") == sorted([a, b])
    assert {i["name"] for i in staff.json()["items"]} == {"Grace Hopper", "Ada Byron"}

    themself = await client.post(
        "/advisors/batch", json=body, headers=token("acme", "advisor", sub=a)
    )
    shown = {i["advisor_id"]: i for i in themself.json()["items"]}
    assert shown[a]["name"] == "Grace Hopper"  # their own personal data
    assert "name" not in shown[b]  # not another advisor's, as on GET
    single = await client.get(f"/advisors/{b}", headers=token("acme", "advisor", sub=a))
    assert shown[b] == single.json()

    other = await client.post("/advisors/batch", json=body, headers=OTHER_TENANT)
    assert ids(other, "advisor_id") == []


async def test_agreements_councils_and_risks_by_id(advisors):
    _app, client = advisors
    a = await propose(client)
    await diligence_passed(client, a)
    r = await client.post(f"/advisors/{a}/approve", json=PROFILE, headers=COORDINATOR)
    assert r.status_code == 200, r.text
    r = await client.post(
        "/agreements",
        json={
            "advisor_id": a,
            "starts_on": "2030-01-01",
            "ends_on": "2030-12-31",
            "scope": "mentoring",
            "hours_per_month": 4,
            "compensation": {"pro_bono": True},
        },
        headers=COORDINATOR,
    )
    assert r.status_code == 201, r.text
    agreement = r.json()["agreement_id"]
    r = await client.post(
        "/councils",
        json={"name": "Digital", "purpose": "Advise on AI", "cadence_weeks": 6},
        headers=COORDINATOR,
    )
    council = r.json()["council_id"]
    r = await client.post(
        "/risks",
        json={
            "title": "Attrition",
            "category": "people",
            "likelihood": 3,
            "impact": 4,
            "owner_id": "owner-1",
        },
        headers=COORDINATOR,
    )
    risk = r.json()["risk_id"]

    found = await client.post(
        "/agreements/batch", json={"ids": [agreement, "x"]}, headers=SPONSOR
    )
    assert ids(found, "agreement_id") == [agreement]
    assert found.json()["items"][0]["usage"]["total_minutes"] == 0
    other_advisor = token("acme", "advisor", sub="someone-else")
    hidden = await client.post(
        "/agreements/batch", json={"ids": [agreement]}, headers=other_advisor
    )
    assert ids(hidden, "agreement_id") == []

    councils = await client.post(
        "/councils/batch", json={"ids": [council]}, headers=SPONSOR
    )
    assert ids(councils, "council_id") == [council]
    assert councils.json()["items"][0]["recommendation_list"] == []
    outsider = await client.post(
        "/councils/batch", json={"ids": [council]}, headers=other_advisor
    )
    assert ids(outsider, "council_id") == []

    owner = await client.post(
        "/risks/batch",
        json={"ids": [risk]},
        headers=token("acme", "mentor", sub="owner-1"),
    )
    assert ids(owner, "risk_id") == [risk]
    stranger = await client.post(
        "/risks/batch", json={"ids": [risk]}, headers=token("acme", "mentor", sub="x")
    )
    assert ids(stranger, "risk_id") == []

    for path, item in (
        ("/agreements/batch", agreement),
        ("/councils/batch", council),
        ("/risks/batch", risk),
    ):
        other = await client.post(path, json={"ids": [item]}, headers=OTHER_TENANT)
        assert other.json()["items"] == []
