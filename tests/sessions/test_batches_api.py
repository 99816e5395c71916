"""Batch reads (for the gateway's DataLoaders): many relationships in one call,
each item authorised exactly like its single-item route; another pair's or another
tenant's items never come back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.api import sessions as api
from tests.profiles.conftest import token
from tests.sessions.conftest import COORDINATOR, confirm_pairing, signed

pytestmark = pytest.mark.kafka
OTHER_TENANT = token("globex", "coordinator", "admin", sub="globex-admin")


async def two_pairs_with_sessions(app, c, kafka_bootstrap) -> tuple[dict, dict]:
    a = await confirm_pairing(app, kafka_bootstrap)
    b = await confirm_pairing(app, kafka_bootstrap)
    start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    for n, pair in enumerate((a, b)):
        await signed(c, pair)
        resp = await c.post(
            f"/relationships/{pair['id']}/sessions",
            json={
                "starts_at": (start + timedelta(hours=n)).isoformat(),
                "outside_availability": True,
            },
            headers=pair["as_mentor"],
        )
        assert resp.status_code == 201, resp.text
        pair["session"] = resp.json()["session_id"]
        resp = await c.post(
            f"/relationships/{pair['id']}/milestones",
            json={
                "objective_index": 0,
                "label": f"milestone of {n}",
                "due_on": (date.today() + timedelta(days=30)).isoformat(),
                "criteria": ["done"],
            },
            headers=pair["as_mentee"],
        )
        assert resp.status_code == 201, resp.text
        pair["milestone"] = resp.json()["id"]
    return a, b


async def test_each_caller_gets_only_the_relationships_they_may_see(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a, b = await two_pairs_with_sessions(app, c, kafka_bootstrap)
    ids = {"ids": [a["id"], b["id"], "no-such"]}

    def found(resp) -> set[str]:
        assert resp.status_code == 200, resp.text
        return {r["relationship_id"] for r in resp.json()["items"]}

    mine = await c.post("/relationships/batch", json=ids, headers=a["as_mentee"])
    assert found(mine) == {a["id"]}
    [item] = mine.json()["items"]
    assert item["contract"]["in_force"] is True
    assert "terms" in item["contract"]  # the pair reads the terms, as on GET
    assert item["cadence_adherence"]["every_days"] == 14

    overseer = await c.post("/relationships/batch", json=ids, headers=COORDINATOR)
    assert found(overseer) == {a["id"], b["id"]}
    assert all("terms" not in r["contract"] for r in overseer.json()["items"])

    other = await c.post("/relationships/batch", json=ids, headers=OTHER_TENANT)
    assert found(other) == set()


async def test_sessions_and_milestones_of_many_relationships_in_one_call(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a, b = await two_pairs_with_sessions(app, c, kafka_bootstrap)
    body = {"relationship_ids": [a["id"], b["id"]]}

    def ids(resp, key: str) -> set[str]:
        assert resp.status_code == 200, resp.text
        return {s[key] for s in resp.json()["items"]}

    by_pair = await c.post(
        "/sessions/batch-by-relationship", json=body, headers=a["as_mentor"]
    )
    assert ids(by_pair, "session_id") == {a["session"]}
    everyone = await c.post(
        "/sessions/batch-by-relationship", json=body, headers=COORDINATOR
    )
    assert ids(everyone, "session_id") == {a["session"], b["session"]}
    elsewhere = await c.post(
        "/sessions/batch-by-relationship", json=body, headers=OTHER_TENANT
    )
    assert ids(elsewhere, "session_id") == set()

    by_id = await c.post(
        "/sessions/batch",
        json={"ids": [a["session"], b["session"]]},
        headers=b["as_mentee"],
    )
    assert ids(by_id, "session_id") == {b["session"]}

    milestones = await c.post(
        "/development-items/batch-by-relationship",
        json={**body, "kind": "milestone"},
        headers=a["as_mentee"],
    )
    assert ids(milestones, "id") == {a["milestone"]}
    assert milestones.json()["items"][0]["label"] == "milestone of 0"
    one_by_one = await c.post(
        "/milestones/batch",
        json={"ids": [a["milestone"], b["milestone"]]},
        headers=OTHER_TENANT,
    )
    assert ids(one_by_one, "id") == set()

    # Both batches are sent as built from rows: for each reader, the same items,
    # field for field and in the same order, as the relationship's own lists (a
    # batch's session carries no agenda), and what the model makes of them.
    for who in (a["as_mentor"], a["as_mentee"], COORDINATOR):
        for path, listed, model in (
            ("/sessions/batch-by-relationship", "sessions", api.Session),
            (
                "/development-items/batch-by-relationship",
                "milestones",
                api.DevelopmentItem,
            ),
        ):
            asked = {"relationship_ids": [a["id"]]}
            if listed == "milestones":
                asked["kind"] = "milestone"
            batch = await c.post(path, json=asked, headers=who)
            one = await c.get(f"/relationships/{a['id']}/{listed}", headers=who)
            expected = [
                {k: v for k, v in item.items() if k != "agenda"} for item in one.json()
            ]
            got = batch.json()["items"]
            assert [list(i.items()) for i in got] == [list(i.items()) for i in expected]
            for item in got:
                dumped = model.model_validate(item).model_dump(
                    mode="json", exclude_unset=True
                )
                assert dumped == item


async def test_notes_in_a_batch_keep_their_visibility(sessions, kafka_bootstrap):
    app, c = sessions
    a = await confirm_pairing(app, kafka_bootstrap)
    b = await confirm_pairing(app, kafka_bootstrap)
    written = await c.post(
        f"/relationships/{a['id']}/notes",
        json={"kind": "journal", "body": "private thoughts"},
        headers=a["as_mentee"],
    )
    assert written.status_code == 201, written.text
    body = {"relationship_ids": [a["id"], b["id"]]}

    author = await c.post(
        "/notes/batch-by-relationship", json=body, headers=a["as_mentee"]
    )
    assert [n["body"] for n in author.json()["items"]] == ["private thoughts"]
    mentor = await c.post(
        "/notes/batch-by-relationship", json=body, headers=a["as_mentor"]
    )
    assert mentor.json()["items"] == []
    coordinator = await c.post(
        "/notes/batch-by-relationship", json=body, headers=COORDINATOR
    )
    [seen] = coordinator.json()["items"]
    assert seen["visibility"] == "private" and "body" not in seen
    stranger = await c.post(
        "/notes/batch-by-relationship", json=body, headers=b["as_mentee"]
    )
    assert stranger.json()["items"] == []
