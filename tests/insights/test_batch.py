"""Batch reads for the gateway: each item authorised like its single-item endpoint."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chassis.events import utcnow
from tests.insights.conftest import COORDINATOR, TENANT, publish, until_facts
from tests.insights.test_health_api import held, relationship
from tests.profiles.conftest import OTHER_TENANT, token

pytestmark = pytest.mark.kafka


async def two_relationships(insights, kafka_bootstrap) -> dict:
    _app, _c = insights
    n = uuid.uuid4().hex[:6]
    ids = {
        "r1": f"rel-{n}-1",
        "r2": f"rel-{n}-2",
        "m1": f"mentor-{n}-1",
        "m2": f"mentor-{n}-2",
        "e1": f"mentee-{n}-1",
        "e2": f"mentee-{n}-2",
    }
    start = utcnow() - timedelta(days=20)
    messages = []
    for k in ("1", "2"):
        rid = ids[f"r{k}"]
        messages += relationship(rid, ids[f"m{k}"], ids[f"e{k}"], start, every_days=14)
        messages.append(held(rid, start + timedelta(days=7)))
    await publish(kafka_bootstrap, messages)
    await until_facts(_app, len(messages))
    return ids


async def test_health_of_many_relationships_refuses_item_by_item(
    insights, kafka_bootstrap
):
    _app, c = insights
    ids = await two_relationships(insights, kafka_bootstrap)
    body = {"ids": [ids["r1"], ids["r2"], "no-such"]}

    seen = await c.post("/relationships/health/batch", json=body, headers=COORDINATOR)
    items = seen.json()["items"]
    assert [i["id"] for i in items] == body["ids"]
    assert items[0]["health"]["mentee_id"] == ids["e1"]
    assert items[1]["health"]["state"]
    assert items[2]["error"]["code"] == "NotFound"

    mentee = token(TENANT, "mentee", sub=ids["e1"])
    own = (
        await c.post("/relationships/health/batch", json=body, headers=mentee)
    ).json()["items"]
    assert "health" in own[0]
    assert own[1]["error"]["code"] == "Forbidden" and "health" not in own[1]

    other = (
        await c.post("/relationships/health/batch", json=body, headers=OTHER_TENANT)
    ).json()["items"]
    assert all(i["error"]["code"] == "NotFound" for i in other)


async def test_mentee_scorecards_in_one_call_only_for_those_allowed(
    insights, kafka_bootstrap
):
    _app, c = insights
    ids = await two_relationships(insights, kafka_bootstrap)
    body = {"ids": [ids["e1"], ids["e2"]], "as_of": utcnow().date().isoformat()}

    both = (
        await c.post("/scorecards/mentees/batch", json=body, headers=COORDINATOR)
    ).json()["items"]
    assert [i["card"]["id"] for i in both] == [ids["e1"], ids["e2"]]
    assert {"skill_growth", "behaviour", "impact"} <= set(both[0]["card"])

    mentee = token(TENANT, "mentee", sub=ids["e1"])
    mine = (
        await c.post("/scorecards/mentees/batch", json=body, headers=mentee)
    ).json()["items"]
    assert mine[0]["card"]["id"] == ids["e1"]
    assert mine[1]["error"]["code"] == "Forbidden" and "card" not in mine[1]

    other = (
        await c.post("/scorecards/mentees/batch", json=body, headers=OTHER_TENANT)
    ).json()["items"]
    assert all(i["error"]["code"] == "NotFound" for i in other)
