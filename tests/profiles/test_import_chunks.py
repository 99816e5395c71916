"""HRIS imports at scale: a CSV file applied a chunk at a time, one transaction per
chunk in a number of statements that does not grow with it, and each record still
idempotent and judged on its own (real PostgreSQL and Kafka, over HTTP)."""

from __future__ import annotations

import asyncio
import csv
import io
import random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event, text

from chassis.auth.principal import Principal, Role
from chassis.messaging.inprocess import InProcessBus
from chassis.personal_data import PersonalDataCipher
from chassis.service import mounted
from services.profiles.application import Profiles
from services.profiles.application.imports import Imports
from services.profiles.domain.person import PersonDetails
from services.profiles.main import build_app
from services.profiles.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import ADMIN, INTEGRATION
from tests.profiles.test_import import CSV_HEADER, counts, finished, records

COLUMNS = CSV_HEADER.split(",")


def organisation(size: int) -> list[dict[str, str]]:
    """``size`` employees, E00001 at the top, each reporting to an earlier one, in
    a shuffled file (reports often before their managers)."""
    rng = random.Random(size)
    people = []
    for n in range(1, size + 1):
        people.append(
            {
                "employee_id": f"E{n:05d}",
                "given_name": f"Ada{n}",
                "family_name": "Lovelace",
                "email": f"ada{n}@acme.example",
                "level": str(max(1, 12 - n.bit_length())),
                "business_unit": "Retail",
                "function": "Finance",
                "geography": "GB",
                "time_zone": "Europe/London",
                "title": f"Analyst {n}",
                "manager_employee_id": f"E{rng.randint(1, n - 1):05d}" if n > 1 else "",
                "hire_date": "2015-03-01",
                "languages": "en;fr",
                "roles": "mentee",
            }
        )
    rng.shuffle(people)
    return people


def as_csv(people: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(people)
    return out.getvalue().encode()


async def submit(client, body: bytes, **params) -> dict:
    """The file as an integration sends it (multipart), the job followed to its end
    (succeeded or failed)."""
    resp = await client.post(
        "/imports",
        params=params,
        files={"file": ("workday.csv", body, "text/csv")},
        headers=INTEGRATION,
    )
    assert resp.status_code == 202, resp.text
    return await finished(client, resp.json()["job_id"], deadline_s=60)


async def upload(client, body: bytes, **params) -> dict:
    """``submit``, the job having succeeded."""
    report = await submit(client, body, **params)
    assert report["status"] == "succeeded", report
    return report


async def scalar(app, sql: str, **params):
    async with mounted(app).runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def snapshot(app) -> list[tuple]:
    """Every person row as stored (sealed columns included) and every event."""
    async with mounted(app).runtime.engine.connect() as conn:
        people = (await conn.execute(text("SELECT * FROM people ORDER BY 1"))).all()
        events = (
            await conn.execute(text("SELECT event_id FROM events ORDER BY position"))
        ).all()
    return [tuple(r) for r in people] + [tuple(r) for r in events]


async def test_a_file_in_several_chunks_registers_everyone_with_their_managers(
    app, client
):
    mounted(app).provide(Imports).chunk_size = 7
    people = organisation(30)
    report = await upload(client, as_csv(people))
    assert report["counts"] == counts(created=30)
    assert report["progress"] == {"processed": 30, "total": 30}
    listed = (await client.get("/people?limit=100", headers=ADMIN)).json()["items"]
    by_employee = {p["employee_id"]: p for p in listed}
    assert len(by_employee) == 30
    for record in people:  # managers resolved across chunks, whatever the order
        manager = record["manager_employee_id"]
        got = by_employee[record["employee_id"]]
        assert got["given_name"] == record["given_name"]
        assert got["languages"] == ["en", "fr"] and got["roles"] == ["mentee"]
        expected = by_employee[manager]["person_id"] if manager else None
        assert got["manager_id"] == expected
    registered = await scalar(
        app, "SELECT count(*) FROM events WHERE event_type = 'PersonRegistered'"
    )
    assert registered == 30
    # Sealed as ever: no name in clear in the rows or the events.
    assert (
        await scalar(app, "SELECT count(*) FROM people WHERE given_name LIKE 'Ada%'")
        == 0
    )
    assert (
        await scalar(
            app, "SELECT count(*) FROM events WHERE payload::text LIKE '%Ada1%'"
        )
        == 0
    )


async def test_reimporting_the_same_file_changes_nothing_and_appends_no_event(
    app, client
):
    mounted(app).provide(Imports).chunk_size = 8
    body = as_csv(organisation(25))
    await upload(client, body)
    before = await snapshot(app)
    again = await upload(client, body)
    assert again["counts"] == counts(unchanged=25)
    assert await snapshot(app) == before  # not a row version, not an event
    outcome = await records(client, again)
    assert all(r["changes"] == [] for r in outcome.values())


VERSIONS = (
    "SELECT string_agg(person_id || ':' || version, ',' ORDER BY person_id) FROM people"
)


async def test_the_same_people_in_another_layout_or_format_change_nothing(app, client):
    """An export's columns come in another order, with blanks around values and an
    empty column more, or the same people come as JSON: nothing is changed, nothing
    appended, every record reported unchanged; one changed value among them is
    still found and applied."""
    mounted(app).provide(Imports).chunk_size = 6
    people = organisation(20)
    await upload(client, as_csv(people))
    before = await snapshot(app)
    shuffled = [*reversed(COLUMNS), "effective_on"]
    out = io.StringIO()
    writer = csv.DictWriter(out, shuffled, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: f" {v} " if v else v for k, v in p.items()} for p in people)
    again = await upload(client, out.getvalue().encode())
    assert again["counts"] == counts(unchanged=20)
    assert await snapshot(app) == before
    versions = await scalar(app, VERSIONS)
    events = await scalar(app, "SELECT count(*) FROM events")
    as_json = [
        {
            **{k: v for k, v in p.items() if v},
            "languages": p["languages"].split(";"),
            "roles": p["roles"].split(";"),
        }
        for p in people
    ]
    resp = await client.post("/imports", json={"people": as_json}, headers=INTEGRATION)
    assert resp.status_code == 202, resp.text
    report = await finished(client, resp.json()["job_id"], deadline_s=60)
    assert report["counts"] == counts(unchanged=20)
    # Compared field by field (a JSON record is hashed otherwise than a CSV row):
    # no row version moved, no event appended; only the digests are the JSON's now.
    assert await scalar(app, VERSIONS) == versions
    assert await scalar(app, "SELECT count(*) FROM events") == events
    people[5] = {**people[5], "title": "Head of Wombats"}
    changed = await upload(client, as_csv(people))
    assert changed["counts"] == counts(updated=1, unchanged=19)
    outcome = (await records(client, changed))[people[5]["employee_id"]]
    assert outcome["changes"] == ["title"]


async def test_one_bad_row_in_a_chunk_fails_alone_and_the_rest_is_kept(app, client):
    mounted(app).provide(Imports).chunk_size = 4
    holder = (
        await client.post(
            "/people",
            json={
                "given_name": "Grace",
                "family_name": "Hopper",
                "email": "grace@acme.example",
                "level": 8,
                "business_unit": "Navy",
                "function": "Engineering",
                "geography": "US",
                "time_zone": "America/New_York",
            },
            headers=INTEGRATION,
        )
    ).json()["person_id"]
    people = sorted(organisation(10), key=lambda p: p["employee_id"])
    for p in people:
        p["manager_employee_id"] = ""
    people[5]["email"] = "GRACE@acme.example"  # another person's, as the index sees it
    people[8]["level"] = "13"  # the shape's own refusal
    report = await upload(client, as_csv(people))
    assert report["counts"] == counts(created=8, failed=2)
    errors = {e["row"]: e for e in report["errors"]}
    assert set(errors) == {6, 9}
    assert errors[6]["code"] == "Conflict" and errors[6]["employee_id"] == "E00006"
    assert errors[9]["code"] == "ValidationError"
    listed = (await client.get("/people?limit=100", headers=ADMIN)).json()["items"]
    assert {p["employee_id"] for p in listed} == {
        p["employee_id"] for p in people if p["employee_id"] not in ("E00006", "E00009")
    } | {None}
    assert holder in {p["person_id"] for p in listed}


async def test_a_chunk_that_loses_a_race_is_applied_again_and_each_record_once(
    app, client
):
    """Someone registers an employee of the file while its chunk is being decided:
    the chunk's transaction fails as a whole and is tried again, fresh."""
    imports = mounted(app).provide(Imports)
    profiles = mounted(app).provide(Profiles)
    writer_known = imports.writer.known
    people = sorted(organisation(6), key=lambda p: p["employee_id"])
    raced = {"done": False}

    async def known(conn, tenant, employee_ids, managers):
        found = await writer_known(conn, tenant, employee_ids, managers)
        if not raced["done"]:  # the other writer commits after the chunk looked
            raced["done"] = True
            await profiles.register(
                principal_of(tenant),
                PersonDetails(
                    given_name="Ada3",
                    family_name="Lovelace",
                    email="someone.else@acme.example",
                    level=int(people[2]["level"]),
                    business_unit="Retail",
                    function="Finance",
                    geography="GB",
                    time_zone="Europe/London",
                    employee_id="E00003",
                ),
                ["mentee"],
            )
        return found

    imports.writer.known = known  # type: ignore[method-assign]
    try:
        report = await upload(client, as_csv(people))
    finally:
        del imports.writer.known
    assert raced["done"]
    assert report["counts"]["created"] == 5, report["errors"]
    assert report["counts"]["updated"] + report["counts"]["unchanged"] == 1, report[
        "errors"
    ]
    registered = await scalar(
        app, "SELECT count(*) FROM events WHERE event_type = 'PersonRegistered'"
    )
    assert registered == 6  # E00003 once, by the other writer
    assert await scalar(app, "SELECT count(*) FROM people") == 6


def principal_of(tenant: str) -> Principal:
    return Principal(
        subject="scim-1", tenant=tenant, roles=frozenset({Role.INTEGRATION})
    )


async def test_a_chunk_costs_the_same_statements_for_3_people_as_for_60(app, client):
    imports = mounted(app).provide(Imports)
    apply_chunk = imports._apply_chunk
    statements: list[int] = []

    async def counted(*args, conn, **kwargs):
        seen = [0]

        def count(*_args) -> None:
            seen[0] += 1

        event.listen(conn.sync_connection, "before_cursor_execute", count)
        try:
            return await apply_chunk(*args, conn=conn, **kwargs)
        finally:
            event.remove(conn.sync_connection, "before_cursor_execute", count)
            statements.append(seen[0])

    imports._apply_chunk = counted  # type: ignore[method-assign]
    try:
        everyone = organisation(63)
        small = [p for p in everyone if p["employee_id"] <= "E00003"]
        big = [p for p in everyone if p["employee_id"] > "E00003"]
        await upload(client, as_csv(small))
        await upload(client, as_csv(big))
        await upload(client, as_csv(big))  # unchanged: fewer still
    finally:
        del imports._apply_chunk
    first, second, unchanged = statements
    assert first == second, statements
    assert unchanged < first


async def test_the_embedded_mode_imports_a_file_in_chunks_too(tmp_path):
    """SQLite: the same chunks without COPY or unnest (one writer at a time)."""
    settings = Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}",
        service_name="profiles",
    )
    app = build_app(settings, transport=InProcessBus())
    async with serving(app, "profiles") as client:
        mounted(app).provide(Imports).chunk_size = 6
        body = as_csv(organisation(15))
        report = await upload(client, body)
        assert report["counts"] == counts(created=15)
        listed = (await client.get("/people?limit=100", headers=ADMIN)).json()
        assert len(listed["items"]) == 15
        again = await upload(client, body)
        assert again["counts"] == counts(unchanged=15)
        assert await scalar(app, "SELECT count(*) FROM events") == 15


async def test_records_are_judged_in_file_order_while_chunks_are_triaged_ahead(
    app, client
):
    """Chunks are triaged (looked up) several ahead of the one being written, but
    judged in file order, whichever look-up answers first: an employee id that
    appears again, chunks after its first record, fails at its own row and names
    the first, on the first import and on a re-import (the first one unchanged)."""
    imports = mounted(app).provide(Imports)
    imports.chunk_size = 2
    look_up = imports.writer.look_up

    async def first_chunk_slowly(conn, tenant, raws):
        if any(raw.employee_id == "E00001" for raw in raws):
            await asyncio.sleep(0.5)  # the chunks after it are looked up first
        return await look_up(conn, tenant, raws)

    imports.writer.look_up = first_chunk_slowly
    people = sorted(organisation(8), key=lambda p: p["employee_id"])
    again = dict(people[1], given_name="Imposter")  # E00002 (row 2)
    twice = dict(people[3], title="Another")  # E00004 (row 4)
    # Rows 5 and 6, in the third chunk: triaged with the first two.
    body = as_csv([*people[:4], again, twice, *people[4:]])
    for attempt, expected in (
        ("first", counts(created=8, failed=2)),
        ("again", counts(unchanged=8, failed=2)),
    ):
        report = await submit(client, body)
        assert report["status"] == "succeeded", (attempt, report)
        assert report["counts"] == expected, attempt
        assert [
            (e["row"], e["employee_id"], e["fields"][0]["message"])
            for e in report["errors"]
        ] == [
            (5, "E00002", "appears again in this import (first at row 2)"),
            (6, "E00004", "appears again in this import (first at row 4)"),
        ], attempt
    listed = (await client.get("/people?limit=100", headers=ADMIN)).json()["items"]
    by_employee = {p["employee_id"]: p for p in listed}
    assert by_employee["E00002"]["given_name"] == "Ada2"  # the first record's
    assert by_employee["E00004"]["title"] == "Analyst 4"


async def test_a_key_stored_meanwhile_is_the_one_a_registration_is_sealed_with(
    app, client
):
    """A new person's key is created with their chunk; when another writer stored
    a key for that person first, the person is sealed with the stored key: their
    row and their event open with it."""
    imports = mounted(app).provide(Imports)
    imports.chunk_size = 4
    writer = imports.writer
    cipher = writer.cipher
    save = writer._save
    raced: list[str] = []

    async def racing(conn, principal, people, new, keys):
        if not raced and new:
            raced.append(new[0].person_id)
            async with mounted(app).runtime.engine.begin() as other:
                await cipher.keys_for_writing(other, principal.tenant, raced)
        return await save(conn, principal, people, new, keys)

    writer._save = racing
    people = sorted(organisation(10), key=lambda p: p["employee_id"])
    report = await upload(client, as_csv(people))
    assert report["counts"] == counts(created=10)
    (pid,) = raced
    got = (await client.get(f"/people/{pid}", headers=ADMIN)).json()
    assert got["given_name"] == "Ada1" and got["email"] == "ada1@acme.example"
    async with mounted(app).runtime.engine.connect() as conn:
        stored = await cipher.key(pid, conn)
        (event,) = (
            await mounted(app).provide(Profiles).store.read_stream(pid, connection=conn)
        )
    assert stored is not None
    opened = PersonalDataCipher.decode_with(AESGCM(stored), event)
    assert opened["given_name"] == "Ada1" and opened["employee_id"] == "E00001"


async def test_an_import_stopped_by_a_failing_look_up_is_finished_by_resubmitting(
    app, client
):
    """A look-up that fails chunks ahead stops the job as failed, with what was
    written before it kept; the same file sent again finishes the import, each
    person registered once."""
    imports = mounted(app).provide(Imports)
    imports.chunk_size = 3
    look_up = imports.writer.look_up
    people = sorted(organisation(15), key=lambda p: p["employee_id"])

    async def failing(conn, tenant, raws):
        if any(raw.employee_id == "E00010" for raw in raws):
            raise OSError("the look-up failed")
        return await look_up(conn, tenant, raws)

    imports.writer.look_up = failing
    body = as_csv(people)
    stopped = await submit(client, body)
    assert stopped["status"] == "failed"
    assert "submit it again" in stopped["error"]
    assert stopped["counts"]["created"] == 9  # the three chunks before it
    imports.writer.look_up = look_up
    report = await upload(client, body)
    assert report["counts"] == counts(created=6, unchanged=9)
    registered = await scalar(
        app, "SELECT count(*) FROM events WHERE event_type = 'PersonRegistered'"
    )
    assert registered == 15


async def test_a_person_changed_since_their_last_import_is_compared_in_full(
    app, client
):
    """An unchanged record is known by the digest of the record last imported for
    the person, at the row's version then: a change made since by anyone else (their
    roles set by hand) makes the same record compare in full, and it is applied."""
    mounted(app).provide(Imports).chunk_size = 4
    people = organisation(10)
    body = as_csv(people)
    first = await upload(client, body)
    assert (
        await scalar(app, "SELECT count(*) FROM people WHERE import_digest IS NOT NULL")
        == 10
    )
    changed = people[3]["employee_id"]
    pid = (await records(client, first))[changed]["person_id"]
    resp = await client.put(
        f"/people/{pid}/roles", json={"roles": ["mentor"]}, headers=ADMIN
    )
    assert resp.status_code == 204, resp.text
    again = await upload(client, body)
    assert again["counts"] == counts(updated=1, unchanged=9)
    outcome = (await records(client, again))[changed]
    assert outcome["outcome"] == "updated" and outcome["changes"] == ["roles"]
    got = (await client.get(f"/people/{pid}", headers=ADMIN)).json()
    assert got["roles"] == ["mentee"]  # as the file says
    third = await upload(client, body)  # and now it is as last imported again
    assert third["counts"] == counts(unchanged=10)
    # Erasure forgets the digest with the rest of the row.
    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204
    assert (
        await scalar(
            app, "SELECT import_digest FROM people WHERE person_id = :p", p=pid
        )
        is None
    )


def test_a_registration_built_without_its_model_is_the_models_own_data():
    """The import writes a new person's ``PersonRegistered`` without building the
    model (the record was validated already): the same data as the model encodes."""
    from datetime import date

    from chassis.events import encode
    from contracts.profiles import ProgrammeRole
    from services.profiles.application.imports.chunks import registration_data
    from services.profiles.domain import events as ev

    full = PersonDetails(
        given_name="Ada",
        family_name="Lovelace",
        email="ada@acme.example",
        level=4,
        business_unit="Retail",
        function="Finance",
        geography="GB",
        time_zone="Europe/London",
        employee_id="E1",
        title="Analyst",
        manager_id="m-1",
        hire_date=date(2015, 3, 1),
        languages=("en", "fr"),
    )
    bare = PersonDetails(
        given_name="Grace",
        family_name="Hopper",
        email="grace@acme.example",
        level=1,
        business_unit="Retail",
        function="Finance",
        geography="US",
        time_zone="America/New_York",
    )
    for details, roles in (
        (full, [ProgrammeRole.MENTEE, ProgrammeRole.MENTOR]),
        (bare, []),
    ):
        model = ev.PersonRegistered(
            person_id="p-1", roles=roles, **details.event_fields()
        )
        built = registration_data("p-1", details, roles)
        assert built == encode(model)
        assert list(built) == list(encode(model))
