"""A programme's history, profiles' part (issue 20): ``POST /history-imports`` with
past cohorts (created with their dates, members admitted on the day they joined) and
career outcomes, over HTTP on real PostgreSQL and Kafka.

Each record is taken once per (organisation, section, key): re-importing it changes
nothing, the same key with other content is the record's error ``conflict``; a dry run
says what would happen and writes nothing; a record that breaks a rule fails alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.service import mounted
from services.profiles.application import Profiles
from tests.profiles.conftest import (
    ADMIN,
    COORDINATOR,
    INTEGRATION,
    OTHER_TENANT,
    token,
)
from tests.profiles.test_cohorts_api import register
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

TODAY = datetime.now(UTC).date()


def cohort(key: str = "C-2025", **overrides) -> dict:
    record = {
        "key": key,
        "name": "Leadership 2025",
        "programme_type": "standard",
        "starts_on": "2025-01-06",
        "ends_on": "2025-09-30",
        "members": [
            {"employee_id": "E00001", "role": "mentee", "admitted_on": "2025-01-06"},
            {"employee_id": "E00101", "role": "mentor", "admitted_on": "2025-01-03"},
        ],
    }
    return record | overrides


def outcome(key: str = "O-001", **overrides) -> dict:
    record = {
        "key": key,
        "employee_id": "E00001",
        "kind": "promotion",
        "effective_on": "2025-08-01",
        "to_level": 6,
        "detail": "Director",
    }
    return record | overrides


async def people(client) -> dict[str, str]:
    """A mentee (E00001) and a mentor (E00101), hired 2015-03-01."""
    return {
        "E00001": await register(client, 1),
        "E00101": await register(client, 101, roles=["mentor"], level=9),
    }


async def run(client, document: dict, *, headers=COORDINATOR, **params) -> dict:
    resp = await client.post(
        "/history-imports",
        params={"wait": "true", **params},
        json=document,
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert job["status"] == "succeeded", job
    return job


async def records(client, job: dict, headers=COORDINATOR, **params) -> list[dict]:
    page = await client.get(
        f"/history-imports/{job['job_id']}/records", params=params, headers=headers
    )
    assert page.status_code == 200, page.text
    return page.json()["items"]


def by_key(items: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["section"], r["key"]): r for r in items}


async def stored(app, stream_id: str, kind: str | None = None) -> list[dict]:
    events = await mounted(app).provide(Profiles).store.read_stream(stream_id)
    return [e.data for e in events if kind is None or e.event_type == kind]


async def cohort_of(client, cohort_id: str) -> dict:
    resp = await client.post(
        "/cohorts/batch", json={"ids": [cohort_id]}, headers=COORDINATOR
    )
    assert resp.status_code == 200, resp.text
    [found] = resp.json()["items"]
    return found


async def test_a_history_imports_cohorts_with_their_members_and_dated_outcomes(
    app, client
):
    ids = await people(client)
    job = await run(client, {"cohorts": [cohort()], "outcomes": [outcome()]})
    assert job["dry_run"] is False
    assert job["counts"] == {
        "cohorts": {"created": 1, "unchanged": 0, "failed": 0, "would_create": 0},
        "outcomes": {"created": 1, "unchanged": 0, "failed": 0, "would_create": 0},
    }
    found = by_key(await records(client, job))
    made = found[("cohorts", "C-2025")]
    assert (made["outcome"], made["error"]) == ("created", None)
    assert found[("outcomes", "O-001")]["id"] == ids["E00001"]

    shown = await cohort_of(client, made["id"])
    assert shown["name"] == "Leadership 2025" and shown["capacity"] == 1
    assert shown["pathway"] == [
        {"stage": "development", "starts_on": "2025-01-06", "ends_on": "2025-09-30"}
    ]
    assert {(p["person_id"], p["role"]) for p in shown["participants"]} == {
        (ids["E00001"], "mentee"),
        (ids["E00101"], "mentor"),
    }
    admitted = await stored(app, made["id"], "ParticipantAdmitted")
    assert [(a["person_id"], a["admitted_on"]) for a in admitted] == [
        (ids["E00101"], "2025-01-03"),  # in the order they joined
        (ids["E00001"], "2025-01-06"),
    ]
    [promoted] = await stored(app, ids["E00001"], "CareerOutcomeRecorded")
    assert (promoted["kind"], promoted["effective_on"], promoted["to_level"]) == (
        "promotion",
        "2025-08-01",
        6,
    )

    job_again = await client.get(f"/history-imports/{job['job_id']}", headers=ADMIN)
    assert job_again.status_code == 200 and job_again.json()["counts"] == job["counts"]


async def test_a_reimport_changes_nothing_and_other_content_under_a_key_is_a_conflict(
    app, client
):
    ids = await people(client)
    first = await run(client, {"cohorts": [cohort()], "outcomes": [outcome()]})
    made = by_key(await records(client, first))
    cohort_id = made[("cohorts", "C-2025")]["id"]
    before = len(await stored(app, cohort_id)), len(await stored(app, ids["E00001"]))

    again = await run(client, {"cohorts": [cohort()], "outcomes": [outcome()]})
    assert again["job_id"] != first["job_id"]
    assert again["counts"]["cohorts"]["unchanged"] == 1
    assert again["counts"]["outcomes"]["unchanged"] == 1
    seen = by_key(await records(client, again))
    assert seen[("cohorts", "C-2025")]["id"] == cohort_id  # the same cohort, named
    assert seen[("outcomes", "O-001")]["outcome"] == "unchanged"

    edited = await run(
        client,
        {
            "cohorts": [cohort(name="Leadership 2025 (renamed)")],
            "outcomes": [outcome(effective_on="2025-07-01"), outcome("O-002")],
        },
    )
    seen = by_key(await records(client, edited))
    for key in (("cohorts", "C-2025"), ("outcomes", "O-001")):
        assert seen[key]["outcome"] == "failed"
        assert seen[key]["error"]["code"] == "conflict"
        assert seen[key]["error"]["field"] == "key"
        assert seen[key]["id"] is None
    assert seen[("outcomes", "O-002")]["outcome"] == "created"  # the others go on
    after = len(await stored(app, cohort_id)), len(await stored(app, ids["E00001"]))
    assert after == (before[0], before[1] + 1)  # only O-002 was recorded
    assert (await cohort_of(client, cohort_id))["name"] == "Leadership 2025"

    # One document repeating a key: the second is judged against the first.
    twice = await run(client, {"outcomes": [outcome("O-003"), outcome("O-003")]})
    assert [r["outcome"] for r in await records(client, twice)] == [
        "created",
        "unchanged",
    ]


async def test_a_dry_run_says_what_would_happen_and_writes_nothing(app, client):
    ids = await people(client)
    document = {
        "cohorts": [cohort()],
        "outcomes": [outcome(), outcome("O-BAD", employee_id="E99999")],
    }
    job = await run(client, document, dry_run="true")
    assert job["dry_run"] is True
    assert job["counts"]["cohorts"] == {
        "created": 0,
        "unchanged": 0,
        "failed": 0,
        "would_create": 1,
    }
    seen = by_key(await records(client, job))
    assert seen[("cohorts", "C-2025")] == {
        "section": "cohorts",
        "key": "C-2025",
        "outcome": "would_create",
        "error": None,
        "id": None,
    }
    assert seen[("outcomes", "O-BAD")]["error"]["code"] == "unknown_person"
    listed = (await client.get("/cohorts", headers=COORDINATOR)).json()
    assert listed == []
    assert await stored(app, ids["E00001"], "CareerOutcomeRecorded") == []

    # Nothing was taken: the real run creates them.
    real = await run(client, document)
    assert real["counts"]["cohorts"]["created"] == 1
    assert real["counts"]["outcomes"] == {
        "created": 1,
        "unchanged": 0,
        "failed": 1,
        "would_create": 0,
    }


async def test_a_record_breaking_a_rule_fails_alone_naming_the_field(app, client):
    await people(client)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    unknown_member = cohort("C-UNKNOWN")
    unknown_member["members"] = [
        unknown_member["members"][0],
        {"employee_id": "E77777", "role": "mentor", "admitted_on": "2025-01-06"},
    ]
    before_hire = cohort("C-EARLY")
    before_hire["members"] = [
        {"employee_id": "E00001", "role": "mentee", "admitted_on": "2014-01-06"}
    ]
    wrong_role = cohort("C-ROLE")
    wrong_role["members"] = [
        {"employee_id": "E00001", "role": "mentor", "admitted_on": "2025-01-06"}
    ]
    document = {
        "cohorts": [
            unknown_member,
            before_hire,
            wrong_role,
            cohort("C-BACKWARDS", ends_on="2024-12-31"),
            cohort("C-FUTURE", starts_on=tomorrow, ends_on="2199-01-01"),
            cohort("C-GOOD"),
        ],
        "outcomes": [
            outcome("O-FUTURE", effective_on=tomorrow),
            outcome("O-BEFORE-HIRE", effective_on="2015-02-28"),
            outcome("O-NOBODY", employee_id="E88888"),
            outcome("O-GOOD"),
        ],
    }
    job = await run(client, document)
    assert job["counts"]["cohorts"]["failed"] == 5
    assert job["counts"]["cohorts"]["created"] == 1
    assert job["counts"]["outcomes"]["failed"] == 3
    assert job["counts"]["outcomes"]["created"] == 1
    seen = by_key(await records(client, job))
    errors = {
        key: (r["error"]["code"], r["error"]["field"])
        for (_, key), r in seen.items()
        if r["error"]
    }
    assert errors == {
        "C-UNKNOWN": ("unknown_person", "members.1.employee_id"),
        "C-EARLY": ("invalid", "members.0.admitted_on"),
        "C-ROLE": ("not_eligible", "members.0"),
        "C-BACKWARDS": ("invalid", "ends_on"),
        "C-FUTURE": ("invalid", "starts_on"),
        "O-FUTURE": ("invalid", "effective_on"),
        "O-BEFORE-HIRE": ("invalid", "effective_on"),
        "O-NOBODY": ("unknown_person", "employee_id"),
    }
    # A failed cohort was not created at all (no half-admitted cohort).
    listed = (await client.get("/cohorts", headers=COORDINATOR)).json()
    assert [c["name"] for c in listed] == ["Leadership 2025"]

    failed = await records(client, job, outcome="failed", limit=2)
    assert [r["key"] for r in failed] == ["C-UNKNOWN", "C-EARLY"]
    page = await client.get(
        f"/history-imports/{job['job_id']}/records",
        params={"outcome": "failed", "limit": 2},
        headers=COORDINATOR,
    )
    cursor = page.json()["next"]
    rest = await records(client, job, outcome="failed", after=cursor, limit=100)
    assert len(rest) == 6 and "C-UNKNOWN" not in {r["key"] for r in rest}


async def test_only_coordinators_and_admins_of_the_organisation_import_history(
    app, client
):
    await people(client)
    for headers in (
        INTEGRATION,
        token("acme", "mentee", sub="someone"),
        token("acme", "sponsor", sub="sponsor-1"),
    ):
        refused = await client.post(
            "/history-imports", json={"cohorts": [cohort()]}, headers=headers
        )
        assert refused.status_code == 403, refused.text
    assert (await client.get("/cohorts", headers=COORDINATOR)).json() == []

    job = await run(client, {"outcomes": [outcome()]}, headers=ADMIN)
    for path in ("", "/records"):
        other = await client.get(
            f"/history-imports/{job['job_id']}{path}", headers=OTHER_TENANT
        )
        assert other.status_code == 404, other.text
        mentee = await client.get(
            f"/history-imports/{job['job_id']}{path}",
            headers=token("acme", "mentee", sub="someone"),
        )
        assert mentee.status_code == 403, mentee.text


async def test_a_malformed_document_is_a_typed_422_and_starts_nothing(app, client):
    await people(client)
    bad_documents = [
        {"cohorts": [cohort()], "people": []},  # not a section of profiles
        {"format": "tandem.programme-history/2"},
        {"cohorts": [cohort() | {"key": None}]},
        {"cohorts": [cohort(starts_on="soon")]},
        {"outcomes": [outcome(kind="knighthood")]},
        {"outcomes": [outcome(key="a\u0000b")]},
        {"cohorts": "C-2025"},
    ]
    for document in bad_documents:
        refused = await client.post(
            "/history-imports", json=document, headers=COORDINATOR
        )
        assert refused.status_code == 422, (document, refused.text)
        assert refused.json()["code"] == "ValidationError"
    assert (await client.get("/cohorts", headers=COORDINATOR)).json() == []
    async with mounted(app).runtime.engine.connect() as conn:
        jobs = (await conn.execute(text("SELECT count(*) FROM history_jobs"))).scalar()
    assert jobs == 0


async def test_an_idempotency_key_replays_its_job_and_refuses_another_document(
    app, client
):
    await people(client)
    key = {"Idempotency-Key": "history-2025-upload-1"}
    first = await client.post(
        "/history-imports",
        json={"outcomes": [outcome()]},
        headers=COORDINATOR | key,
    )
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    assert first.headers["Location"].endswith(f"/history-imports/{job_id}")

    async def finished() -> dict | None:
        job = (
            await client.get(f"/history-imports/{job_id}", headers=COORDINATOR)
        ).json()
        return job if job["status"] in ("succeeded", "failed") else None

    done = await until(finished, "the history import to finish", 30, interval_s=0.05)
    assert done["counts"]["outcomes"]["created"] == 1

    replay = await client.post(
        "/history-imports",
        json={"outcomes": [outcome()]},
        headers=COORDINATOR | key,
    )
    assert replay.status_code == 202
    assert replay.json()["job_id"] == job_id and replay.json()["replayed"] is True
    assert replay.headers["Idempotent-Replayed"] == "true"

    other = await client.post(
        "/history-imports",
        json={"outcomes": [outcome("O-002")]},
        headers=COORDINATOR | key,
    )
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "IdempotencyKeyReused"
