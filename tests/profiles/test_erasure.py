"""Erasure on real PostgreSQL, as a database reader would check it.

A person with an HRIS import record (and a failed one), a mentor profile, an intake,
demographics and a cohort withdrawal in their own words is erased; then a dump of every
table of the profiles database, events as stored included, holds none of what named
them or what they wrote. The erasers' registry covers every table the database has,
and the erasure report lists each store's confirmation.
"""

from __future__ import annotations

from sqlalchemy import event, text

from chassis.service import mounted
from services.profiles.application import Profiles
from services.profiles.projections import sealed
from tests.profiles.conftest import ADMIN, COORDINATOR, OTHER_TENANT, person, token
from tests.profiles.test_import import hris, run_import


async def table_names(app) -> set[str]:
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        return {r.tablename for r in rows}


async def dump(app) -> str:
    """Every row of every table as text (JSONB event payloads as stored)."""
    parts = []
    async with mounted(app).runtime.engine.connect() as conn:
        for table in sorted(await table_names(app)):
            rows = await conn.execute(text(f'SELECT t::text AS row FROM "{table}" t'))
            parts += [f"{table}: {r.row}" for r in rows]
    return "\n".join(parts)


async def test_every_table_of_the_database_has_an_eraser_or_a_reason(app, client):
    stores = mounted(app).provide(Profiles).erasers.stores
    assert await table_names(app) == set(stores), (
        "a table without an entry in services/profiles/application/erasure.py (or an entry "
        "for a table that no longer exists)"
    )
    assert all(store.action.strip() for store in stores.values())


async def someone_with_a_history(client, u: str) -> tuple[str, dict[str, str], dict]:
    """A person known by every store that can hold them; what must not survive."""
    said = {
        "given_name": f"Quenby{u}",
        "family_name": f"Marchetti{u}",
        "email": f"q.marchetti.{u}@acme.example",
        "employee_id": f"EMP{u}",
        "title": f"Chief Wombat Officer {u}",
        "industry": f"Deep-sea salvage {u}",
        "market": f"Svalbard {u}",
        "function": f"Lighthouse keeping {u}",
        "crisis": f"The great flood of {u}",
        "leadership": f"Socratic heckling {u}",
        "learning": f"Kinesthetic juggling {u}",
        "lacking": f"Arctic logistics {u}",
        "motivation": f"I want to run the polar desk {u}",
        "demographic": f"nonbinary-{u}",
        "withdrawal": f"Sabbatical to write a memoir {u}",
    }
    record = hris(
        1,
        **{k: said[k] for k in ("given_name", "family_name", "email", "employee_id")},
        title=said["title"],
        roles=["mentee", "mentor"],
    )
    keyed = {**ADMIN, "Idempotency-Key": said["employee_id"]}
    created = await run_import(client, [record], headers=keyed)
    page = (await client.get(created["links"]["records"], headers=ADMIN)).json()
    pid = page["items"][0]["person_id"]
    # A later record for them fails (and is reported by their employee id).
    failed = await run_import(client, [{**record, "level": 99}], headers=ADMIN)
    assert failed["errors"][0]["employee_id"] == said["employee_id"]

    competency = {"competency_id": "strategy", "name": "Strategy"}
    assert (
        await client.post("/competencies", json=competency, headers=ADMIN)
    ).status_code == 201
    me = token("acme", "mentee", "mentor", sub=pid)
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 4}],
        "industries": [said["industry"]],
        "markets": [said["market"]],
        "functions_led": [said["function"]],
        "crisis_experience": [said["crisis"]],
        "leadership_style": said["leadership"],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 4,
    }
    intake = {
        "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
        "learning_style": said["learning"],
        "experiences_lacking": [said["lacking"]],
        "hours_per_month": 4,
        "motivations": {"strategy": said["motivation"]},
    }
    for path, body in (
        ("mentor-profile", profile),
        ("intake", intake),
        ("consents/demographics", {"given": True}),
        ("demographics", {"attributes": {"gender": said["demographic"]}}),
    ):
        resp = await client.put(f"/people/{pid}/{path}", json=body, headers=me)
        assert resp.status_code == 204, (path, resp.text)

    cohort = (
        await client.post(
            "/cohorts", json={"name": "Pilot", "capacity": 3}, headers=ADMIN
        )
    ).json()["cohort_id"]
    joined = await client.post(
        f"/cohorts/{cohort}/participants", json={"person_id": pid}, headers=me
    )
    assert joined.status_code == 201, joined.text
    left = await client.request(
        "DELETE",
        f"/cohorts/{cohort}/participants/{pid}",
        json={"reason": said["withdrawal"]},
        headers=me,
    )
    assert left.status_code == 204, left.text
    return pid, said, {"record": record, "records": created["links"]["records"]}


async def test_after_erasure_no_table_holds_what_named_or_quoted_the_person(
    app, client, unique
):
    pid, said, _ = await someone_with_a_history(client, unique)
    before = await dump(app)
    # The dump does see the current state: the person's row, with what named them
    # and what they wrote sealed with their key (the API opens it), so a reader of
    # the database finds none of it, even before the erasure.
    assert f"people: ({pid},acme," in before
    seen = (await client.get(f"/people/{pid}", headers=ADMIN)).json()
    assert seen["given_name"] == said["given_name"]
    assert seen["employee_id"] == said["employee_id"]
    assert [v for v in said.values() if v in before] == []
    events = [r for r in before.splitlines() if r.startswith("events: ")]
    assert [v for v in said.values() if v in "\n".join(events)] == [], (
        "everything personal is sealed in the event store, free text included"
    )
    jobs = [r for r in before.splitlines() if r.startswith("import_jobs: ")]
    assert len(jobs) == 2 and not [j for j in jobs if said["employee_id"] in j], (
        "the idempotency key is stored as a keyed hash, not the employee id"
    )

    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204

    after = await dump(app)
    assert [v for v in said.values() if v in after] == []

    # A rebuild from the shredded history brings none of it back either.
    assert (
        await client.post("/admin/projections/rebuild", headers=ADMIN)
    ).status_code == 200
    assert [v for v in said.values() if v in await dump(app)] == []


async def test_import_records_keep_their_outcome_but_not_whom_they_were_about(
    client, unique
):
    pid, said, job = await someone_with_a_history(client, unique)
    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204
    page = (await client.get(job["records"], headers=ADMIN)).json()
    outcomes = [
        (r["row"], r["outcome"], r["employee_id"], r["person_id"], r["changes"])
        for r in page["items"]
    ]
    assert outcomes == [(1, "created", None, None, [])]

    # The same key and records still name the same job (the key's hash matches).
    replay = await client.post(
        "/imports",
        json={"people": [job["record"]]},
        headers={**ADMIN, "Idempotency-Key": said["employee_id"]},
    )
    assert replay.headers["Idempotent-Replayed"] == "true", replay.text
    assert job["records"].startswith(f"/imports/{replay.json()['job_id']}/")


async def test_the_erasure_report_lists_every_store_for_the_admin_only(app, client):
    pid = (await client.post("/people", json=person(3), headers=COORDINATOR)).json()[
        "person_id"
    ]
    missing = await client.get(f"/admin/erasures/{pid}", headers=ADMIN)
    assert missing.status_code == 404  # not erased: no report
    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204

    report = (await client.get(f"/admin/erasures/{pid}", headers=ADMIN)).json()
    assert report["person_id"] == pid and report["key_destroyed_at"] is not None
    mine = report["services"]["profiles"]
    assert mine["complete"] is True
    stores = mounted(app).provide(Profiles).erasers.stores
    assert {s["store"] for s in mine["stores"]} == set(stores)
    assert all(s["confirmed_at"] and s["action"] for s in mine["stores"])

    for who, status in (
        (COORDINATOR, 403),
        (token("acme", "mentee", sub=pid), 401),  # the erased person: token refused
        (OTHER_TENANT, 404),  # another organisation's admin learns nothing
    ):
        resp = await client.get(f"/admin/erasures/{pid}", headers=who)
        assert resp.status_code == status, (who, resp.text)


async def test_erasure_finds_import_records_by_index_not_by_reading_them_all(
    app, client, unique
):
    """The import records of every import ever run are many (100,000 a nightly run
    of a large organisation): erasure finds a person's own through indexes - as
    their owner, or by their employee id's blind index - in a plan that reads no
    table from end to end, nor all of the organisation's records."""
    pid, _, _ = await someone_with_a_history(client, unique)
    engine = mounted(app).runtime.engine
    async with engine.begin() as conn:  # the organisation's imports before
        await conn.execute(
            text(
                "INSERT INTO import_records (job_id, record_no, tenant, employee_id, "
                "outcome, employee_index, owner_id) SELECT :j, n, 'acme', NULL, "
                "'unchanged', md5(:j || n), md5(n::text) FROM generate_series(1, 20000) n"
            ),
            {"j": f"before-{unique}"},
        )
        await conn.execute(text("ANALYZE import_records"))
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM import_records" in (
            statement
        ):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
    assert len(seen) == 1, seen
    statement, parameters = seen[0]
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        plan = "\n".join(
            r[0] for r in await driver.fetch(f"EXPLAIN {statement}", *parameters)
        )
    assert "Seq Scan" not in plan, plan
    # Each look-up is bounded by its index: by owner, by employee id - never by the
    # organisation alone (all of its records).
    lines = plan.splitlines()
    scans = [n for n, line in enumerate(lines) if "on import_records" in line]
    assert len(scans) == 2, plan
    bounds = [lines[n + 1] for n in scans]
    assert any("owner_id =" in b for b in bounds), plan
    assert any("employee_index =" in b for b in bounds), plan
    assert all("Index Cond" in b for b in bounds), plan


async def test_the_start_looks_for_records_in_clear_without_reading_them_all(
    app, unique
):
    """Every start seals import records still in clear from before sealing existed
    (``seal_legacy``): the look reads a partial index of those only, not every
    record of every import (a sealed record, or one about nobody, is not in it)."""
    engine = mounted(app).runtime.engine
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO import_records (job_id, record_no, tenant, employee_id, "
                "outcome, employee_index, owner_id, person_id) SELECT :j, n, 'acme', "
                "CASE WHEN n % 2 = 0 THEN 'sealed:v1:' || md5(n::text) "
                "ELSE 'E' || n END, 'created', md5(n::text), NULL, NULL "
                "FROM generate_series(1, 20000) n"
            ),
            {"j": f"sealed-{unique}"},
        )
        await conn.execute(text("ANALYZE import_records"))
        plan = "\n".join(
            r[0] for r in await conn.execute(text(f"EXPLAIN {sealed._LEGACY_RECORDS}"))
        )
    assert "import_records_legacy" in plan and "Seq Scan" not in plan, plan
