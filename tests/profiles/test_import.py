"""Bulk HRIS import over HTTP on real PostgreSQL and Kafka."""

from __future__ import annotations

from sqlalchemy import text

from chassis.service import mounted
from services.profiles.application.imports import Imports
from services.profiles.application.imports.source import ListSource
from tests.profiles.conftest import (
    ADMIN,
    COORDINATOR,
    INTEGRATION,
    OTHER_TENANT,
    person,
    token,
)
from tests.support.waiting import until

CSV_HEADER = (
    "employee_id,given_name,family_name,email,level,business_unit,function,"
    "geography,time_zone,title,manager_employee_id,hire_date,languages,roles"
)


def hris(n: int, **overrides) -> dict:
    """A record as an HRIS sends it (roles left to Tandem unless given)."""
    record = person(n, **overrides)
    if "roles" not in overrides:
        record.pop("roles")
    return record


async def run_import(client, people, *, headers=INTEGRATION, **params) -> dict:
    resp = await client.post(
        "/imports",
        params={"wait": "true", **params},
        json={"people": people},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["status"] == "succeeded", report
    return report


async def finished(client, job_id: str, headers=INTEGRATION, deadline_s=30) -> dict:
    """Poll the job until it has finished (or fail after the deadline)."""

    async def done() -> dict | None:
        report = (await client.get(f"/imports/{job_id}", headers=headers)).json()
        return report if report["status"] in ("succeeded", "failed") else None

    return await until(done, f"import {job_id} to finish", deadline_s, interval_s=0.05)


async def records(client, report: dict, headers=INTEGRATION) -> dict[str, dict]:
    """Per-record outcomes of a job, by employee id."""
    page = (await client.get(report["links"]["records"], headers=headers)).json()
    return {r["employee_id"]: r for r in page["items"]}


async def scalar(app, sql: str, **params):
    async with mounted(app).runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def event_count(app) -> int:
    return await scalar(app, "SELECT count(*) FROM events")


async def people(client) -> dict[str, dict]:
    items = (await client.get("/people?limit=500", headers=ADMIN)).json()["items"]
    return {p["employee_id"]: p for p in items}


def counts(**expected: int) -> dict[str, int]:
    zero = dict.fromkeys(
        ("created", "updated", "unchanged", "deactivated", "skipped", "failed"), 0
    )
    return {**zero, **expected}


async def test_json_import_registers_new_employees(client):
    batch = [hris(1), hris(2, roles=["mentor"]), hris(3, level=9)]
    report = await run_import(client, batch)
    assert report["counts"] == counts(created=3)
    assert report["progress"] == {"processed": 3, "total": 3}
    assert report["errors"] == []
    outcome = await records(client, report)
    known = await people(client)
    assert set(known) == {"E00001", "E00002", "E00003"}
    assert known["E00002"]["roles"] == ["mentor"] and known["E00003"]["level"] == 9
    assert outcome["E00001"]["person_id"] == known["E00001"]["person_id"]


async def test_retrying_a_batch_changes_nothing(app, client):
    batch = [hris(n, roles=["mentee"]) for n in range(1, 6)]
    await run_import(client, batch)
    before = await event_count(app)
    again = await run_import(client, batch)
    assert again["counts"] == counts(unchanged=5)
    assert await event_count(app) == before


async def test_a_level_change_in_a_reimport_records_a_promotion(app, client):
    await run_import(client, [hris(1, level=5), hris(2, level=5)])
    report = await run_import(
        client, [hris(1, level=6, effective_on="2024-04-01"), hris(2, level=5)]
    )
    assert report["counts"] == counts(updated=1, unchanged=1)
    outcome = await records(client, report)
    assert outcome["E00001"]["changes"] == ["level"]
    pid = outcome["E00001"]["person_id"]
    got = (await client.get(f"/people/{pid}", headers=COORDINATOR)).json()
    assert got["level"] == 6
    promotions = await scalar(
        app,
        "SELECT count(*) FROM events WHERE stream_id = :p "
        "AND event_type = 'CareerOutcomeRecorded' AND payload->>'kind' = 'promotion' "
        "AND payload->>'effective_on' = '2024-04-01'",
        p=pid,
    )
    assert promotions == 1


async def test_csv_import_as_body_and_as_file(client):
    body = "\n".join(
        [
            CSV_HEADER,
            "E00001,Ada,Lovelace,ada@acme.example,7,Retail,Finance,gb,Europe/London,"
            "CFO,,2015-03-01,en;fr,mentee;mentor",
            '"E00002","Grace","Hopper, Jr.",grace@acme.example,8,Navy,Engineering,'
            "US,America/New_York,,E00001,,en,",
        ]
    )
    resp = await client.post(
        "/imports?wait=true",
        content=body.encode(),
        headers={**INTEGRATION, "Content-Type": "text/csv; charset=utf-8"},
    )
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["format"] == "csv"
    assert report["counts"] == counts(created=2), report["errors"]
    known = await people(client)
    ada, grace = known["E00001"], known["E00002"]
    assert ada["languages"] == ["en", "fr"] and ada["roles"] == ["mentee", "mentor"]
    assert ada["geography"] == "GB" and ada["title"] == "CFO"
    assert grace["family_name"] == "Hopper, Jr." and grace["roles"] == []
    assert grace["manager_id"] == ada["person_id"]

    upload = await client.post(
        "/imports?wait=true",
        files={"file": ("workday.csv", body.encode(), "text/csv")},
        headers=INTEGRATION,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["counts"] == counts(unchanged=2)


async def test_partial_failure_applies_the_valid_records_and_lists_the_rest(client):
    batch = [
        hris(1),
        hris(2, email="not-an-email"),
        hris(3, geography="ZZ"),
        hris(4),
    ]
    report = await run_import(client, batch)
    assert report["counts"] == counts(created=2, failed=2)
    errors = report["errors"]
    assert [(e["row"], e["employee_id"], e["code"]) for e in errors] == [
        (2, "E00002", "ValidationError"),
        (3, "E00003", "ValidationError"),
    ]
    assert [f["path"] for f in errors[0]["fields"]] == ["email"]
    assert [f["path"] for f in errors[1]["fields"]] == ["geography"]
    assert set(await people(client)) == {"E00001", "E00004"}


async def test_dry_run_reports_what_would_happen_and_writes_nothing(app, client):
    await run_import(client, [hris(1), hris(2)])
    events, rows = await event_count(app), len(await people(client))
    batch = [
        hris(1, level=8),
        hris(2, active=False),
        hris(3),
        hris(4, email="nope"),
    ]
    report = await run_import(client, batch, dry_run="true")
    assert report["dry_run"] is True
    assert report["counts"] == counts(updated=1, deactivated=1, created=1, failed=1)
    outcome = await records(client, report)
    assert outcome["E00001"]["changes"] == ["level"]
    assert outcome["E00002"]["changes"] == ["status"]
    assert outcome["E00003"]["outcome"] == "created"
    assert outcome["E00003"]["person_id"] is None
    assert outcome["E00004"]["error"]["fields"][0]["path"] == "email"
    assert await event_count(app) == events
    known = await people(client)
    assert len(known) == rows and known["E00001"]["level"] == 5
    assert known["E00002"]["status"] == "active"


async def test_leavers_are_deactivated_as_departures(app, client):
    await run_import(client, [hris(1), hris(2), hris(3)])
    batch = [
        hris(1, active=False),
        hris(2, termination_date="2024-01-31"),
        hris(3),
        hris(4, active=False),  # left before Tandem ever knew them
    ]
    report = await run_import(client, batch)
    assert report["counts"] == counts(deactivated=2, unchanged=1, skipped=1)
    known = await people(client)
    assert known["E00001"]["status"] == known["E00002"]["status"] == "inactive"
    assert "E00004" not in known
    departures = await scalar(
        app,
        "SELECT count(*) FROM events WHERE event_type = 'CareerOutcomeRecorded' "
        "AND payload->>'kind' = 'departure'",
    )
    assert departures == 2
    again = await run_import(client, batch)
    assert again["counts"] == counts(unchanged=3, skipped=1)


async def test_an_idempotency_key_returns_the_same_job(client):
    batch = [hris(n) for n in range(1, 4)]
    key = {**INTEGRATION, "Idempotency-Key": "workday-2024-06-01"}
    first = await client.post("/imports", json={"people": batch}, headers=key)
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    assert first.headers["Location"] == f"/imports/{job_id}"
    second = await client.post("/imports", json={"people": batch}, headers=key)
    assert second.json()["job_id"] == job_id
    assert second.headers["Idempotent-Replayed"] == "true"
    report = await finished(client, job_id)
    assert report["counts"] == counts(created=3)
    assert len(await people(client)) == 3

    other = await client.post("/imports", json={"people": batch[:1]}, headers=key)
    assert other.status_code == 422
    assert other.json()["code"] == "IdempotencyKeyReused"


async def test_a_key_first_sent_before_csv_rows_were_hashed_by_cells_still_replays(
    app, client
):
    """A CSV upload's fingerprint was once taken of its records' JSON, now of its
    rows' hashes: a job stored the first way is still the same key's job when the
    same file comes again, and another file under that key is still refused."""
    body = "\n".join(
        [
            CSV_HEADER,
            "E00001,Ada,Lovelace,ada@acme.example,7,Retail,Finance,gb,Europe/London,"
            "CFO,,2015-03-01,en;fr,mentee;mentor",
        ]
    ).encode()
    key = {**INTEGRATION, "Idempotency-Key": "workday-before-upgrade"}
    csv_headers = {**key, "Content-Type": "text/csv"}
    first = await client.post("/imports", content=body, headers=csv_headers)
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    await finished(client, job_id)
    # As the job was stored before: the fingerprint of the records' JSON.
    secret = mounted(app).provide(Imports).secret
    record = {
        "employee_id": "E00001", "given_name": "Ada", "family_name": "Lovelace",
        "email": "ada@acme.example", "level": "7", "business_unit": "Retail",
        "function": "Finance", "geography": "gb", "time_zone": "Europe/London",
        "title": "CFO", "hire_date": "2015-03-01", "languages": ["en", "fr"],
        "roles": ["mentee", "mentor"],
    }  # fmt: skip
    earlier = ListSource([record]).digest(False, secret)
    async with mounted(app).runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE import_jobs SET fingerprint = :f WHERE job_id = :j"),
            {"f": earlier, "j": job_id},
        )
    again = await client.post("/imports", content=body, headers=csv_headers)
    assert again.status_code == 202, again.text
    assert again.json()["job_id"] == job_id
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        "/imports", content=body.replace(b"CFO", b"CEO"), headers=csv_headers
    )
    assert other.status_code == 422 and other.json()["code"] == "IdempotencyKeyReused"


async def test_managers_are_resolved_by_employee_id_whatever_the_order(client):
    batch = [
        hris(1, manager_employee_id="E00002"),  # before their manager
        hris(2, manager_employee_id="E00003"),
        hris(3),
        hris(4, manager_employee_id="E99999"),
    ]
    report = await run_import(client, batch)
    assert report["counts"] == counts(created=3, failed=1)
    assert report["errors"][0]["fields"][0]["path"] == "manager_employee_id"
    known = await people(client)
    assert known["E00001"]["manager_id"] == known["E00002"]["person_id"]
    assert known["E00002"]["manager_id"] == known["E00003"]["person_id"]
    later = await run_import(client, [hris(5, manager_employee_id="E00003")])
    assert later["counts"] == counts(created=1)
    assert (await people(client))["E00005"]["manager_id"] == known["E00003"][
        "person_id"
    ]


async def test_another_tenant_cannot_see_the_job(client):
    report = await run_import(client, [hris(1)])
    job = report["links"]["self"]
    assert (await client.get(job, headers=OTHER_TENANT)).status_code == 404
    assert (await client.get(f"{job}/records", headers=OTHER_TENANT)).status_code == 404
    assert (await client.get(job, headers=COORDINATOR)).status_code == 200


async def test_mentees_and_mentors_may_not_import(client):
    report = await run_import(client, [hris(1)])
    for role in ("mentee", "mentor"):
        who = token("acme", role, sub=f"{role}-1")
        resp = await client.post("/imports", json={"people": [hris(2)]}, headers=who)
        assert resp.status_code == 403
        assert (
            await client.get(report["links"]["self"], headers=who)
        ).status_code == 403
    assert set(await people(client)) == {"E00001"}


async def test_unreadable_input_is_a_typed_422_and_imports_nothing(client):
    bad_json = await client.post(
        "/imports",
        content=b'{"people": [',
        headers={**INTEGRATION, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 422
    assert bad_json.json()["code"] == "UnreadableImport"
    bad_csv = await client.post(
        "/imports",
        content=f'{CSV_HEADER}\nE1,"Ada\n'.encode(),
        headers={**INTEGRATION, "Content-Type": "text/csv"},
    )
    assert bad_csv.status_code == 422
    assert bad_csv.json()["code"] == "UnreadableImport"
    unknown_column = await client.post(
        "/imports",
        content=b"employee_id,salary\nE1,100\n",
        headers={**INTEGRATION, "Content-Type": "text/csv"},
    )
    assert unknown_column.status_code == 422
    assert [e["path"] for e in unknown_column.json()["errors"]] == ["header.salary"]
    assert await people(client) == {}


async def analyze_count(app) -> int:
    return await scalar(
        app,
        "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'people'",
    )


async def test_a_bulk_import_refreshes_the_planners_statistics(
    app, client, monkeypatch
):
    # A first import into an empty organisation leaves the planner's statistics
    # describing an empty table until autovacuum comes by; the next import's
    # look-ups must not be planned for that (runner._refresh_statistics).
    from services.profiles.application.imports import runner

    monkeypatch.setattr(runner, "ANALYZE_AFTER_CREATED", 3)
    before = await analyze_count(app)
    dry = await run_import(client, [hris(n) for n in range(1, 6)], dry_run="true")
    assert dry["counts"] == counts(created=5)
    small = await run_import(client, [hris(n) for n in range(1, 3)])
    assert small["counts"] == counts(created=2)
    assert await analyze_count(app) == before  # a dry run, or only a few people

    report = await run_import(client, [hris(n) for n in range(3, 8)])
    assert report["counts"] == counts(created=5)
    await until(
        lambda: _analyzed_after(app, before), "people analysed", 10, interval_s=0.1
    )
    again = await run_import(client, [hris(n) for n in range(1, 8)])
    assert again["counts"] == counts(unchanged=7)


async def _analyzed_after(app, before: int) -> bool:
    return await analyze_count(app) > before
