"""A cohort's matching weights: preview a round with proposed weights beside the
current ones (nothing recorded), apply them (audited, in the cohort's history)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chassis.service import mounted
from tests.matching.test_rounds_api import PROFILE, until_seen
from tests.profiles.conftest import ADMIN, COORDINATOR, OTHER_TENANT, person, token

pytestmark = pytest.mark.kafka

SPONSOR = token("acme", "sponsor", sub="sponsor-1")
SKILLS_ONLY = {"skills": 1.0}
PERSPECTIVE_ONLY = {"perspective": 1.0}
EVIDENCE = {
    "criterion": "perspective",
    "change": 0.05,
    "characteristic": "function",
    "favoured_pairings": 20,
    "favoured_healthy": 15,
    "other_pairings": 20,
    "other_healthy": 4,
    "p_value": 0.0012,
}


async def two_by_two(client) -> dict:
    """Mentor A (Insurance, strong in strategy) and mentor B (Retail, strong in
    finance), one seat each; mentee S (Insurance) wants strategy, mentee F (Retail)
    wants finance. Skills pair S-A and F-B; perspective pairs across units: S-B, F-A."""
    for cid, name in (("strategy", "Strategic thinking"), ("finance", "Finance")):
        await client.post(
            "/competencies", json={"competency_id": cid, "name": name}, headers=ADMIN
        )
    cohort = (
        await client.post(
            "/cohorts", json={"name": "Leaders 2027", "capacity": 10}, headers=ADMIN
        )
    ).json()["cohort_id"]

    async def register(n: int, **kw) -> str:
        resp = await client.post("/people", json=person(n, **kw), headers=COORDINATOR)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["person_id"])

    ids = {}
    for key, n, unit, strong in (("a", 100, "Insurance", "strategy"),
                                 ("b", 101, "Retail", "finance")):  # fmt: skip
        ids[key] = await register(n, level=9, roles=["mentor"], business_unit=unit)
        profile = {
            **PROFILE,
            "strengths": [{"competency_id": strong, "proficiency": 5}],
            "max_mentees": 1,
        }
        resp = await client.put(
            f"/people/{ids[key]}/mentor-profile", json=profile, headers=ADMIN
        )
        assert resp.status_code == 204, resp.text
        await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": ids[key], "role": "mentor"},
            headers=ADMIN,
        )
    for key, n, unit, wanted in (("s", 110, "Insurance", "strategy"),
                                 ("f", 111, "Retail", "finance")):  # fmt: skip
        ids[key] = await register(n, business_unit=unit)
        intake = {
            "goals": [{"competency_id": wanted, "current": 1, "target": 4}],
            "preferred_formats": ["one_to_one"],
            "hours_per_month": 4,
        }
        resp = await client.put(
            f"/people/{ids[key]}/intake", json=intake, headers=ADMIN
        )
        assert resp.status_code == 204, resp.text
        await client.post(
            f"/cohorts/{cohort}/participants",
            json={"person_id": ids[key]},
            headers=ADMIN,
        )
    return {"cohort": cohort, **ids}


async def recorded(app) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
        )


def weight_map(items: list[dict]) -> dict[str, float]:
    return {w["criterion"]: w["weight"] for w in items if w["weight"]}


async def test_preview_side_by_side_then_apply_with_its_evidence(matching, client):
    app, c = matching
    org = await two_by_two(client)
    await until_seen(app, org["cohort"], 4)
    path = f"/cohorts/{org['cohort']}/weights"

    fresh = (await c.get(path, headers=SPONSOR)).json()
    assert fresh["preset"] is True and fresh["history"] == []
    assert weight_map(fresh["weights"])["skills"] == 0.3  # the standard preset

    preset = {w["criterion"]: w["weight"] for w in fresh["weights"]}
    same = await c.put(path, json={"weights": preset}, headers=COORDINATOR)
    assert same.status_code == 422 and "already" in same.text

    applied = await c.put(path, json={"weights": SKILLS_ONLY}, headers=COORDINATOR)
    assert applied.status_code == 200, applied.text
    assert weight_map(applied.json()["weights"]) == SKILLS_ONLY

    before = await recorded(app)
    preview = await c.post(
        f"{path}/preview", json={"weights": PERSPECTIVE_ONLY}, headers=COORDINATOR
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert weight_map(body["current"]["weights"]) == SKILLS_ONLY
    assert weight_map(body["proposed"]["weights"]) == PERSPECTIVE_ONLY
    pairs = {p["mentee_id"]: p for p in body["pairs"]}
    assert pairs[org["s"]]["current_mentor_id"] == org["a"]
    assert pairs[org["f"]]["current_mentor_id"] == org["b"]
    assert pairs[org["s"]]["proposed_mentor_id"] == org["b"]
    assert pairs[org["f"]]["proposed_mentor_id"] == org["a"]
    assert body["differing"] == 2 and all(p["differs"] for p in body["pairs"])
    for name in ("current", "proposed"):
        side = body[name]
        assert (side["paired"], side["unmatched"]) == (2, 0)
        assert side["total_score"] == pytest.approx(
            sum(p[f"{name}_score"] for p in body["pairs"]), abs=1e-5
        )
        assert side["mean_score"] == pytest.approx(side["total_score"] / 2, abs=1e-5)
    # Perspective only: each proposed pair differs in business unit, not in
    # geography nor function (generation unknown): 1 of 3.
    assert body["proposed"]["mean_score"] == pytest.approx(1 / 3, abs=1e-6)
    assert await recorded(app) == before, "a preview records nothing"
    assert (await c.get("/pairings", headers=COORDINATOR)).json() == []
    assert weight_map((await c.get(path, headers=COORDINATOR)).json()["weights"]) == (
        SKILLS_ONLY
    )

    apply = {
        "weights": PERSPECTIVE_ONLY,
        "source": "pairing_patterns",
        "suggested_on": "2026-12-03",
        "basis": [EVIDENCE],
    }
    done = await c.put(
        path, json=apply, headers=token("acme", "coordinator", sub="c-9")
    )
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["preset"] is False
    assert weight_map(view["weights"]) == PERSPECTIVE_ONLY
    first, last = view["history"]
    assert first["applied_by"] == "coordinator-1" and first["previous"] == []
    assert first["source"] == "coordinator"
    assert last["applied_by"] == "c-9" and last["version"] == 2
    assert last["source"] == "pairing_patterns" and last["suggested_on"] == "2026-12-03"
    assert weight_map(last["previous"]) == SKILLS_ONLY
    assert last["basis"] == [EVIDENCE]
    assert last["applied_at"] >= first["applied_at"]
    # Now the preview's current side is what was applied.
    again = (
        await c.post(
            f"{path}/preview", json={"weights": PERSPECTIVE_ONLY}, headers=COORDINATOR
        )
    ).json()
    assert again["differing"] == 0
    # A round started without weights uses the cohort's applied ones.
    started = await c.post(
        "/rounds?wait=true", json={"cohort_id": org["cohort"]}, headers=COORDINATOR
    )
    assert started.status_code == 202, started.text
    proposals = (
        await c.get(
            f"/pairings?round_id={started.json()['round_id']}", headers=COORDINATOR
        )
    ).json()
    assert {(p["mentee_id"], p["mentor_id"]) for p in proposals} == {
        (org["s"], org["b"]),
        (org["f"], org["a"]),
    }
    # So does a re-run of that round (the preset would pair on skills: S-A, F-B).
    rerun = await c.post(
        f"/rounds/{started.json()['round_id']}/rerun",
        json={"pins": []},
        headers=COORDINATOR,
    )
    assert rerun.status_code == 200, rerun.text
    again_proposed = (
        await c.get(
            f"/pairings?round_id={rerun.json()['round_id']}", headers=COORDINATOR
        )
    ).json()
    assert {(p["mentee_id"], p["mentor_id"]) for p in again_proposed} == {
        (org["s"], org["b"]),
        (org["f"], org["a"]),
    }


async def test_bad_weights_and_callers_are_refused_and_change_nothing(matching, client):
    app, c = matching
    org = await two_by_two(client)
    await until_seen(app, org["cohort"], 4)
    path = f"/cohorts/{org['cohort']}/weights"
    before = await recorded(app)
    for body, where in (
        ({"weights": {"skills": 0}}, "weights"),
        ({"weights": {"skills": -1}}, "weights"),
        ({"weights": {"charisma": 1}}, "weights"),
        ({"weights": {}}, "weights"),
        ({"weights": {"skills": 1e9}}, "weights"),
    ):
        for method, url in (("put", path), ("post", f"{path}/preview")):
            resp = await getattr(c, method)(url, json=body, headers=COORDINATOR)
            assert resp.status_code == 422, (body, resp.text)
            assert where in resp.text
    sponsor = await c.put(path, json={"weights": SKILLS_ONLY}, headers=SPONSOR)
    assert sponsor.status_code == 403
    mentee = token("acme", "mentee", sub=org["s"])
    assert (
        await c.post(f"{path}/preview", json={"weights": SKILLS_ONLY}, headers=mentee)
    ).status_code == 403
    other = await c.put(path, json={"weights": SKILLS_ONLY}, headers=OTHER_TENANT)
    assert other.status_code == 404
    missing = await c.put(
        "/cohorts/nope/weights", json={"weights": SKILLS_ONLY}, headers=COORDINATOR
    )
    assert missing.status_code == 404
    assert await recorded(app) == before
    ok = await c.put(path, json={"weights": SKILLS_ONLY}, headers=COORDINATOR)
    assert ok.status_code == 200
    same = await c.put(path, json={"weights": SKILLS_ONLY}, headers=COORDINATOR)
    assert same.status_code == 422 and "already" in same.text
    assert len((await c.get(path, headers=COORDINATOR)).json()["history"]) == 1
