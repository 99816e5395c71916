"""The current state as a reader of the database sees it: a person's row holds their
names, email, employee id, title, hire date and what they wrote sealed with their
key, so erasure (destroying the key) shreds every copy, row versions the database
still keeps included. The API reads as before: uniqueness, SCIM filters, pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.messaging.inprocess import InProcessBus
from chassis.migrations import upgrade
from chassis.personal_data import SEALED, PersonalDataCipher
from chassis.service import mounted
from services.profiles.application import Profiles
from services.profiles.application.scim import ENTERPRISE, TANDEM, parse_filter
from services.profiles.main import build_app
from services.profiles.projections.sealed import SEALED_PEOPLE
from services.profiles.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import ADMIN, COORDINATOR, person, token
from tests.profiles.test_import import hris, run_import
from tests.profiles.test_scim import USERS, create, scim, user


async def row_of(app, table: str, person_id: str) -> dict[str, Any]:
    """A row as a reader of the database sees it (every column, and all as text)."""
    async with mounted(app).runtime.engine.connect() as conn:
        row = (
            await conn.execute(
                text(f"SELECT * FROM {table} WHERE person_id = :p"), {"p": person_id}
            )
        ).one()
    return {**row._mapping, "as text": " ".join(map(str, row))}


async def with_history(client, u: str) -> tuple[str, dict[str, str]]:
    """A person registered, with a mentor profile and an intake in their words."""
    said = {
        "given_name": f"Philippa{u}",
        "family_name": f"Okonkwo{u}",
        "email": f"p.okonkwo.{u}@acme.example",
        "employee_id": f"EMP-{u}",
        "title": f"Keeper of the Lighthouse {u}",
        "hire_date": "2011-07-19",
        "industry": f"Tidal energy {u}",
        "style": f"Quiet questions {u}",
        "motivation": f"I want to lead the northern desk {u}",
        "learning": f"Walking conversations {u}",
    }
    body = person(
        1,
        **{k: said[k] for k in SEALED_PEOPLE if k in said},
        roles=["mentee", "mentor"],
    )
    made = await client.post("/people", json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    pid = made.json()["person_id"]
    strategy = {"competency_id": "strategy", "name": "Strategy"}
    assert (
        await client.post("/competencies", json=strategy, headers=ADMIN)
    ).status_code == 201
    me = token("acme", "mentee", "mentor", sub=pid)
    profile = {
        "strengths": [{"competency_id": "strategy", "proficiency": 4}],
        "industries": [said["industry"]],
        "leadership_style": said["style"],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 4,
    }
    intake = {
        "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
        "learning_style": said["learning"],
        "hours_per_month": 4,
        "motivations": {"strategy": said["motivation"]},
    }
    for path, doc in (("mentor-profile", profile), ("intake", intake)):
        resp = await client.put(f"/people/{pid}/{path}", json=doc, headers=me)
        assert resp.status_code == 204, (path, resp.text)
    capacity = {"max_mentees": 3, "hours_per_month": 6}
    resp = await client.put(f"/people/{pid}/capacity", json=capacity, headers=me)
    assert resp.status_code == 204, resp.text
    return pid, said


async def test_a_database_reader_finds_none_of_a_person_in_their_row(
    app, client, unique
):
    pid, said = await with_history(client, unique)
    row = await row_of(app, "people", pid)
    assert [v for v in said.values() if v in row["as text"]] == []
    unsealed = [c for c in SEALED_PEOPLE if not str(row[c]).startswith(SEALED)]
    assert unsealed == ["demographics"] and row["demographics"] is None  # not shared
    assert len({row["email_index"], row["employee_index"]}) == 2  # blind indexes
    assert row["level"] == 5 and row["business_unit"] == "Retail"  # clear by design

    # The API opens it: the same answers as before the columns were sealed.
    seen = (await client.get(f"/people/{pid}", headers=ADMIN)).json()
    assert {k: seen[k] for k in ("given_name", "family_name", "email", "title")} == {
        k: said[k] for k in ("given_name", "family_name", "email", "title")
    }
    assert seen["employee_id"] == said["employee_id"]
    assert seen["hire_date"] == said["hire_date"]
    assert seen["intake"]["motivations"] == {"strategy": said["motivation"]}
    assert seen["mentor_profile"]["industries"] == [said["industry"]]
    # The capacity change was applied to the opened profile, then sealed again.
    assert seen["mentor_profile"]["max_mentees"] == 3
    assert seen["mentor_profile"]["leadership_style"] == said["style"]


async def test_scim_external_id_and_import_records_are_sealed_too(app, client, unique):
    made = await create(client, 1, externalId=f"entra-{unique}")
    row = await row_of(app, "scim_users", made["id"])
    assert row["external_id"].startswith(SEALED) and unique not in row["as text"]
    found = await scim(client, "GET", USERS, filter=f'externalId eq "entra-{unique}"')
    assert [r["id"] for r in found.json()["Resources"]] == [made["id"]]

    report = await run_import(client, [hris(7, employee_id=f"HR-{unique}")])
    page = (await client.get(report["links"]["records"], headers=ADMIN)).json()
    assert page["items"][0]["employee_id"] == f"HR-{unique}"  # opened for the API
    async with mounted(app).runtime.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT r::text FROM import_records r WHERE job_id = :j"),
                {"j": report["job_id"]},
            )
        ).scalar_one()
    assert unique not in stored


async def test_after_erasure_the_old_sealed_values_no_longer_open(app, client, unique):
    pid, said = await with_history(client, unique)
    before = await row_of(app, "people", pid)  # as a backup or a dead row keeps it
    cipher: PersonalDataCipher = mounted(app).provide(Profiles).cipher

    async def opened() -> dict[str, Any]:
        async with mounted(app).runtime.engine.connect() as conn:
            key = (await cipher.keys_for(conn, [pid]))[pid]
        return {c: cipher.open(key, pid, "people", c, before[c]) for c in SEALED_PEOPLE}

    readable = await opened()
    assert readable["given_name"] == said["given_name"]
    assert readable["employee_id"] == said["employee_id"]
    assert said["motivation"] in readable["intake"]

    assert (await client.delete(f"/people/{pid}", headers=ADMIN)).status_code == 204
    assert await opened() == {c: None for c in SEALED_PEOPLE}
    async with mounted(app).runtime.engine.connect() as conn:
        wrapped = await conn.scalar(
            text("SELECT wrapped_key FROM person_keys WHERE person_id = :p"), {"p": pid}
        )
    assert wrapped is None  # no key material left for the old values
    after = await row_of(app, "people", pid)
    assert [
        c for c in (*SEALED_PEOPLE, "email_index", "employee_index") if after[c]
    ] == []

    # Their email and employee id are free again (an erased row holds no index).
    again = await client.post(
        "/people",
        json=person(2, email=said["email"], employee_id=said["employee_id"]),
        headers=ADMIN,
    )
    assert again.status_code == 201, again.text


async def test_email_and_employee_id_stay_unique_with_the_same_errors(client):
    first = await client.post("/people", json=person(1), headers=ADMIN)
    second = await client.post("/people", json=person(2), headers=ADMIN)
    holder, other = first.json()["person_id"], second.json()["person_id"]

    same_email = await client.post(
        "/people", json=person(3, email="ADA1@Acme.Example"), headers=ADMIN
    )
    assert same_email.status_code == 409
    assert same_email.json()["code"] == "Conflict"
    assert same_email.json()["field"] == "email"

    same_employee = await client.post(
        "/people", json=person(4, employee_id="E00001"), headers=ADMIN
    )
    assert same_employee.status_code == 409
    problem = same_employee.json()
    assert problem["code"] == "Conflict" and problem["person_id"] == holder
    assert "employee E00001 is already registered" in problem["detail"]

    def details(n: int, **changes: Any) -> dict[str, Any]:
        body = person(n, **changes)
        del body["roles"]
        return body

    # Changing one's details to another's email: refused by the unique index.
    taken = await client.put(
        f"/people/{other}", json=details(2, email="Ada1@acme.example"), headers=ADMIN
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["field"] == "email"
    moved = await client.put(
        f"/people/{other}", json=details(2, employee_id="E00001"), headers=ADMIN
    )
    assert moved.status_code == 409 and moved.json()["person_id"] == holder

    # Two registrations of one employee id at once: one wins, the other is told.
    racing = await asyncio.gather(
        *(
            client.post("/people", json=person(n, employee_id="E09999"), headers=ADMIN)
            for n in (5, 6)
        )
    )
    assert sorted(r.status_code for r in racing) == [201, 409]
    (lost,) = [r for r in racing if r.status_code == 409]
    assert lost.json()["code"] == "Conflict"
    listed = (await client.get("/people", headers=ADMIN)).json()["items"]
    assert sorted(p["employee_id"] for p in listed) == ["E00001", "E00002", "E09999"]


async def test_scim_filters_on_sealed_attributes_still_work(client):
    ada = await create(
        client, 1, userName="ada@acme.example", name={"givenName": "Ada",
        "familyName": "Byron"})  # fmt: skip
    grace = await create(client, 2)
    untitled = user(3, userName="Bob.Smith@acme.example")
    del untitled["title"]
    made = await scim(client, "POST", USERS, untitled)
    assert made.status_code == 201, made.text
    bob = made.json()
    cases = {
        'userName eq "GRACE2@acme.example"': [grace],
        'userName ne "grace2@acme.example"': [ada, bob],
        'userName co "SMITH"': [bob],
        'userName sw "grace" or name.familyName eq "byron"': [ada, grace],
        'name.givenName ew "E2" and active eq true': [grace],
        "not (title pr)": [bob],
        'title co "engineering" and userName sw "g"': [grace],
        f'{ENTERPRISE}:employeeNumber eq "s00003"': [bob],
        f'{TANDEM}:hireDate pr or userName ew ".example"': [ada, grace, bob],
    }
    for query, expected in cases.items():
        found = (await scim(client, "GET", USERS, filter=query)).json()
        assert [r["id"] for r in found["Resources"]] == [u["id"] for u in expected], (
            query
        )
        assert found["totalResults"] == len(expected), query
    # Decided in Python, counted and paged like any other filter.
    page = (
        await scim(
            client, "GET", USERS, filter='userName co "@"', startIndex=2, count=1
        )
    ).json()
    assert page["totalResults"] == 3 and [r["id"] for r in page["Resources"]] == [
        grace["id"]
    ]


def test_a_filter_goes_to_sql_where_an_index_decides_it():
    def index(column: str, value: str) -> str:
        return f"<{column}:{value}>"

    where, params, left = parse_filter('userName eq "Ada@X.example"').plan(index)
    assert left is None and where == "p.email_index = :f0"
    assert params == {"f0": "<p.email:ada@x.example>"}
    where, params, left = parse_filter(
        'userName co "ada" and active eq true and externalId eq "e-1"'
    ).plan(index)
    assert left is not None
    assert where == "((p.status = 'active')) AND (s.external_index = :f0)"
    where, _, left = parse_filter('userName co "ada" or active eq true').plan(index)
    assert left is not None and where == "TRUE"  # the whole filter in Python


@pytest.fixture
async def quiet(postgres_server) -> AsyncIterator[httpx.AsyncClient]:
    """The service on an in-process bus: no broker client runs beside the test (its
    background work draws from ``random``, which Hypothesis watches)."""
    config = Settings(
        environment="test",
        database_url=postgres_server.create_database(),
        kafka_bootstrap_servers=None,
        service_name="profiles",
    )
    async with serving(build_app(config, transport=InProcessBus()), "p") as c:
        yield c


async def test_clear_attributes_filter_the_same_in_python_as_in_sql(quiet):
    """Property: a filter over clear attributes selects the same users whether SQL
    decides it or Python does (``or`` with a sealed term sends all of it to Python)."""
    client = quiet
    first = await create(client, 1)
    await create(client, 2, timezone="Europe/Paris", **{TANDEM: {"level": 9,
        "function": "Sales", "roles": ["mentor"], "languages": ["fr", "en"]}})  # fmt: skip
    await create(client, 3, **{ENTERPRISE: {"employeeNumber": "S3",
        "department": "Sales", "manager": {"value": first["id"]}}})  # fmt: skip
    await create(client, 4, active=False)
    loop = asyncio.get_running_loop()

    def search(query: str) -> list[str]:
        found = asyncio.run_coroutine_threadsafe(
            scim(client, "GET", USERS, filter=query, count=200), loop
        ).result(timeout=30)
        assert found.status_code == 200, (query, found.text)
        return [r["id"] for r in found.json()["Resources"]]

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(query=FILTERS)
    def same(query: str) -> None:
        assert search(f'({query}) or name.givenName eq "nobody"') == search(query)

    await asyncio.to_thread(same)


def _term(template: str, *choices: list[Any]) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from(c) for c in choices)).map(
        lambda picked: template.format(*picked)
    )


ORDER = ["eq", "ne", "gt", "ge", "lt", "le"]
TEXT = ["eq", "ne", "co", "sw", "ew", "gt", "lt"]
_ATOMS = st.one_of(
    _term("active eq {}", ["true", "false"]),
    _term(TANDEM + ":level {} {}", ORDER, [5, 7, 9]),
    _term(ENTERPRISE + ':department {} "{}"', TEXT, ["Technology", "sales", "ES", ""]),
    _term('timezone {} "{}"', TEXT, ["UTC", "europe/paris", "America"]),
    _term(TANDEM + ':roles {} "{}"', ["eq", "ne"], ["mentee", "mentor"]),
    _term(TANDEM + ':languages {} "{}"', ["eq", "ne"], ["fr", "en"]),
    _term("{} pr", [ENTERPRISE + ":manager", "timezone", TANDEM + ":level", "active"]),
    _term(ENTERPRISE + ":manager {} null", ["eq", "ne"]),
    # Unknown (SQL's NULL) for the users without a manager: three-valued logic.
    _term(ENTERPRISE + ':manager {} "{}"', TEXT, ["x", ""]),
    _term('not ({}:manager {} "x")', [ENTERPRISE], TEXT),
    _term('meta.created {} "{}"', ORDER, ["2000-01-01T00:00:00Z", "2999-01-01T00:00Z"]),
)
FILTERS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda ab: f"{ab[0]} and {ab[1]}"),
        st.tuples(inner, inner).map(lambda ab: f"({ab[0]}) or ({ab[1]})"),
        inner.map(lambda a: f"not ({a})"),
    ),
    max_leaves=4,
)


async def test_a_page_of_people_reads_its_keys_in_one_query(app, client):
    engine = mounted(app).runtime.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # The request's own statements (the relay works beside it on the engine).
        if any(t in statement for t in ("people", "person_keys", "revoked_subjects")):
            statements.append(statement)

    reads = {
        "list": lambda: client.get("/people", params={"limit": 500}, headers=ADMIN),
        "batch": lambda: client.post("/people/batch", json={"ids": ids}, headers=ADMIN),
        "scim": lambda: scim(client, "GET", USERS, count=200),
        "scim, userName eq": lambda: scim(
            client, "GET", USERS, filter='userName eq "ada1@acme.example"'
        ),
    }
    ids: list[str] = []
    counted: dict[int, dict[str, list[str]]] = {}
    for size in (1, 50):
        while len(ids) < size:
            made = await client.post(
                "/people", json=person(len(ids) + 1), headers=COORDINATOR
            )
            ids.append(made.json()["person_id"])
        counted[size] = {}
        for name, read in reads.items():
            statements.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            try:
                resp = await read()
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", count)
            assert resp.status_code == 200, (name, resp.text)
            counted[size][name] = list(statements)
            keys = [s for s in statements if "person_keys" in s]
            assert len(keys) == 1, (name, size, statements)
        listed = (
            await client.get("/people", params={"limit": 500}, headers=ADMIN)
        ).json()
        assert len(listed["items"]) == size
        assert listed["items"][0]["email"].endswith("@acme.example")
    for name in reads:
        assert len(counted[50][name]) == len(counted[1][name]), name


LEGACY = {
    "person_id": "legacy-1",
    "tenant": "acme",
    "employee_id": "OLD-7",
    "given_name": "Hedwig",
    "family_name": "Kiesler",
    "email": "Hedy@acme.example",
    "title": "Inventor",
    "level": 6,
    "business_unit": "Retail",
    "function": "Research",
    "geography": "AT",
    "time_zone": "Europe/Vienna",
    "hire_date": "1990-03-12",
    "intake": json.dumps({"motivations": {"strategy": "frequency hopping"}}),
    "version": 1,
    "roles": '["mentee"]',
}
CLEAR = ("OLD-7", "Hedwig", "Kiesler", "Hedy", "Inventor", "1990-03-12", "hopping")
# The tables as an older version created them on SQLite (embedded: no migrations).
OLD_SQLITE_SCHEMA = (
    """
    CREATE TABLE people (
        person_id TEXT PRIMARY KEY, tenant TEXT NOT NULL,
        employee_id TEXT, given_name TEXT, family_name TEXT, email TEXT, title TEXT,
        level INTEGER, business_unit TEXT, function TEXT, geography TEXT,
        time_zone TEXT, manager_id TEXT, hire_date TEXT,
        languages TEXT NOT NULL DEFAULT '[]', roles TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'active', mentor_profile TEXT, intake TEXT,
        consents TEXT NOT NULL DEFAULT '[]', demographics TEXT,
        version INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX people_employee ON people (tenant, employee_id)",
    "CREATE UNIQUE INDEX people_email_unique ON people (tenant, lower(email))",
    """
    CREATE TABLE scim_users (
        person_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, external_id TEXT,
        deprovisioned INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX scim_users_external ON scim_users (tenant, external_id)",
    """
    CREATE TABLE import_jobs (
        job_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, idempotency_key TEXT,
        fingerprint TEXT NOT NULL, actor TEXT NOT NULL, dry_run INTEGER NOT NULL,
        source_format TEXT NOT NULL, status TEXT NOT NULL, total INTEGER NOT NULL,
        processed INTEGER NOT NULL DEFAULT 0, counts TEXT NOT NULL, error TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT
    )
    """,
    """
    CREATE TABLE import_records (
        job_id TEXT NOT NULL, record_no INTEGER NOT NULL, tenant TEXT NOT NULL,
        employee_id TEXT, outcome TEXT NOT NULL, person_id TEXT,
        changes TEXT NOT NULL DEFAULT '[]', error TEXT,
        PRIMARY KEY (job_id, record_no)
    )
    """,
)


async def write_legacy_rows(conn) -> None:
    """A person, their SCIM id and an import of them, stored in clear."""
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    now = at.isoformat() if conn.dialect.name == "sqlite" else at
    cols = ", ".join(LEGACY)
    await conn.execute(
        text(
            f"INSERT INTO people ({cols}, created_at, updated_at) VALUES "
            f"({', '.join(':' + c for c in LEGACY)}, :now, :now)"
        ),
        {**LEGACY, "now": now},
    )
    await conn.execute(
        text(
            "INSERT INTO scim_users (person_id, tenant, external_id) "
            "VALUES ('legacy-1', 'acme', 'okta-hedy')"
        )
    )
    await conn.execute(
        text(
            "INSERT INTO import_jobs (job_id, tenant, fingerprint, actor, dry_run, "
            "source_format, status, total, processed, counts, created_at, "
            "updated_at) VALUES ('job-1', 'acme', 'f', 'hris-1', 0, 'json', "
            "'succeeded', 2, 2, '{}', :now, :now)"
        ),
        {"now": now},
    )
    await conn.execute(
        text(
            "INSERT INTO import_records (job_id, record_no, tenant, employee_id, "
            "outcome, person_id, error) VALUES "
            "('job-1', 1, 'acme', 'OLD-7', 'created', 'legacy-1', NULL), "
            "('job-1', 2, 'acme', 'NOBODY-3', 'failed', NULL, "
            '\'{"code": "ValidationFailed", "message": "m", "fields": []}\')'
        )
    )


async def legacy_rows_work_sealed(app, client) -> None:
    """The legacy rows are sealed, and read and refuse as new rows do."""
    row = await row_of(app, "people", "legacy-1")
    assert [v for v in CLEAR if v in row["as text"]] == []
    assert "okta-hedy" not in (await row_of(app, "scim_users", "legacy-1"))["as text"]

    seen = (await client.get("/people/legacy-1", headers=ADMIN)).json()
    assert (seen["given_name"], seen["email"], seen["employee_id"]) == (
        "Hedwig",
        "Hedy@acme.example",
        "OLD-7",
    )
    assert seen["hire_date"] == "1990-03-12" and seen["level"] == 6
    assert seen["intake"] == {"motivations": {"strategy": "frequency hopping"}}
    taken = await client.post(
        "/people", json=person(1, email="hedy@ACME.example"), headers=ADMIN
    )
    assert taken.status_code == 409 and taken.json()["field"] == "email"
    again = await client.post(
        "/people", json=person(2, employee_id="OLD-7"), headers=ADMIN
    )
    assert again.status_code == 409 and again.json()["person_id"] == "legacy-1"
    found = await scim(client, "GET", USERS, filter='externalId eq "okta-hedy"')
    assert [r["id"] for r in found.json()["Resources"]] == ["legacy-1"]
    assert found.json()["Resources"][0]["userName"] == "Hedy@acme.example"
    by_name = await scim(client, "GET", USERS, filter='userName eq "HEDY@acme.example"')
    assert [r["id"] for r in by_name.json()["Resources"]] == ["legacy-1"]

    page = (await client.get("/imports/job-1/records", headers=ADMIN)).json()
    assert [(r["employee_id"], r["person_id"]) for r in page["items"]] == [
        ("OLD-7", "legacy-1"),
        ("NOBODY-3", None),
    ]
    async with mounted(app).runtime.engine.connect() as conn:
        stored = [
            tuple(r)
            for r in await conn.execute(
                text(
                    "SELECT employee_id, employee_index FROM import_records "
                    "ORDER BY record_no"
                )
            )
        ]
    assert stored[0][0].startswith(SEALED) and stored[0][1]
    # Nobody Tandem knows: no key to seal with, indexed for a later erasure.
    assert stored[1][0] == "NOBODY-3" and stored[1][1]


async def test_rows_stored_in_clear_before_the_upgrade_are_sealed_at_start(
    postgres_server,
):
    """A database at revision 0003 holds clear rows: the upgrade and the start seal
    them once, and every read and rule works on them as on new rows."""
    url = postgres_server.create_database()
    engine = create_async_engine(url, poolclass=NullPool)
    await upgrade(engine, "profiles", "0003")
    async with engine.begin() as conn:
        await write_legacy_rows(conn)
    await engine.dispose()
    config = Settings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=None,
        service_name="profiles",
    )
    app = build_app(config, transport=InProcessBus())
    async with serving(app, "profiles") as client:
        await legacy_rows_work_sealed(app, client)
        sealed = (await row_of(app, "people", "legacy-1"))["email"]
    # A second start finds nothing left to seal and changes nothing.
    second = build_app(config, transport=InProcessBus())
    async with serving(second, "profiles"):
        assert (await row_of(second, "people", "legacy-1"))["email"] == sealed


async def test_an_embedded_database_of_an_older_version_is_sealed_at_start(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}"
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        for ddl in OLD_SQLITE_SCHEMA:
            await conn.execute(text(ddl))
        await write_legacy_rows(conn)
    await engine.dispose()
    config = Settings(environment="test", database_url=url, service_name="profiles")
    app = build_app(config, transport=InProcessBus())
    async with serving(app, "profiles") as client:
        await legacy_rows_work_sealed(app, client)


def test_pooled_ids_and_nonces_are_version_4_and_never_handed_out_twice() -> None:
    """The bulk path's ids and nonces come from one pool of random bytes: ids are
    RFC 4122 version 4, and every sealed value of a call has a nonce of its own."""
    import base64
    import os
    import uuid

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from chassis.personal_data import random_uuid, random_uuid_text

    texts = [random_uuid_text() for _ in range(2000)]
    ids = [random_uuid() for _ in range(2000)]
    for value in [uuid.UUID(t) for t in texts] + ids:
        assert value.version == 4 and value.variant == uuid.RFC_4122
    assert [str(uuid.UUID(t)) for t in texts] == texts
    assert len(set(texts) | {str(i) for i in ids}) == 4000

    key = AESGCM(os.urandom(32))
    columns = {f"c{n}": f"value {n}" for n in range(8)}
    sealed = PersonalDataCipher.seal_with(key, "p-1", "people", columns)
    nonces = {base64.b64decode(v[len(SEALED) :])[:12] for v in sealed.values()}
    assert len(nonces) == len(columns)
    for column, value in sealed.items():
        opened = PersonalDataCipher.open(key, "p-1", "people", column, value)
        assert opened == columns[column]
