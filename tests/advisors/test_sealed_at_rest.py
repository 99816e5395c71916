"""An advisor's personal data at rest: sealed with their key in every table.

A database reader (a backup, a replica, a dead row version) finds no advisor's name,
email, organisation, bio, expertise, evidence, conflicts or approved profile in clear,
neither in the events nor in the ``advisors`` table; erasing the advisor destroys the
key, and what was captured before no longer opens. The API answers as before, and a
page of advisors costs the same statements whatever its size.
"""

from __future__ import annotations

import contextvars
import json

import pytest
from sqlalchemy import event, text

from chassis.personal_data import ENCRYPTED, SEALED, PersonalDataCipher
from chassis.service import mounted
from services.advisors.application.lifecycle import Advisors
from services.advisors.projections.advisors import opened, seal_legacy
from tests.advisors.test_lifecycle_api import CHECKS, proposal, stored
from tests.profiles.conftest import token

pytestmark = pytest.mark.postgres
# A tenant of its own: the advisors approved here reach the shared topic, and the
# matching tests count on acme's external advisors being theirs alone.
TENANT = "initech"
COORDINATOR = token(TENANT, "coordinator")
SPONSOR = token(TENANT, "sponsor", sub="sponsor-1")
ADMIN = token(TENANT, "admin", sub="admin-1")

PROFILE = {
    "geography": "GB",
    "time_zone": "Europe/London",
    "languages": ["en"],
    "industries": ["Zanzibar shipbuilding"],
    "markets": ["Quuxland"],
    "functions_led": ["Chief Frobnication"],
    "crisis_experience": ["the great widget recall"],
}
PERSON = {
    "name": "Ada Lovelace-Byron",
    "email": "ada@engine.example",
    "organisation": "Analytical Engines plc",
    "bio": "Wrote the first program for an engine never built.",
    "expertise_sought": ["xylophone governance"],
}
CONFLICTS = {"board_seats": ["Babbage Difference Works"]}
SECRETS = (
    "Lovelace",
    "ada@engine",
    "Analytical Engines",
    "engine never built",
    "xylophone",
    "Zanzibar",
    "Quuxland",
    "Frobnication",
    "widget recall",
    "Babbage",
    "file 42",  # diligence evidence
)
# The contract's own personal fields, encrypted in the stored events.
CONTRACT_PERSONAL = {
    "AdvisorProposed": {"expertise_sought"},
    "AdvisorApproved": {"industries", "markets", "functions_led", "crisis_experience"},
}


async def diligence_passed(client, aid: str) -> None:
    r = await client.post(f"/advisors/{aid}/diligence", headers=COORDINATOR)
    assert r.status_code == 200, r.text
    for check in CHECKS:
        r = await client.put(
            f"/advisors/{aid}/checks/{check}",
            json={"status": "passed", "evidence": f"{check} file 42"},
            headers=COORDINATOR,
        )
        assert r.status_code == 200, r.text


async def approved_advisor(client) -> str:
    r = await client.post("/advisors", json=proposal(**PERSON), headers=SPONSOR)
    assert r.status_code == 201, r.text
    aid = r.json()["advisor_id"]
    await diligence_passed(client, aid)
    r = await client.put(
        f"/advisors/{aid}/conflicts", json=CONFLICTS, headers=COORDINATOR
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/advisors/{aid}/approve", json=PROFILE, headers=COORDINATOR)
    assert r.status_code == 200, r.text
    return aid


async def every_table_as_text(engine) -> dict[str, str]:
    """What a database reader sees: every row of every table, as text."""
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = current_schema()"
                )
            )
        ).scalars()
        return {
            table: " ".join(
                (
                    await conn.execute(text(f'SELECT CAST(t AS TEXT) FROM "{table}" t'))
                ).scalars()
            )
            for table in list(tables)
        }


def in_clear(dump: dict[str, str]) -> dict[str, list[str]]:
    return {
        table: found
        for table, rows in dump.items()
        if (found := [s for s in SECRETS if s in rows])
    }


async def advisor_row(engine, aid: str):
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT * FROM advisors WHERE advisor_id = :a"), {"a": aid}
            )
        ).one()


async def test_a_database_reader_finds_no_advisor_text_in_clear(advisors):
    app, client = advisors
    aid = await approved_advisor(client)
    engine = mounted(app).runtime.engine

    seen = (await client.get(f"/advisors/{aid}", headers=SPONSOR)).json()
    assert (seen["name"], seen["email"]) == (PERSON["name"], PERSON["email"])
    assert seen["organisation"] == PERSON["organisation"]
    assert seen["bio"] == PERSON["bio"]
    assert seen["expertise_sought"] == PERSON["expertise_sought"]
    assert seen["profile"]["industries"] == PROFILE["industries"]
    assert seen["conflicts"]["board_seats"] == CONFLICTS["board_seats"]
    assert seen["checks"]["background"]["evidence"] == "background file 42"

    dump = await every_table_as_text(engine)
    assert "events" in dump and "advisors" in dump
    assert aid in dump["advisors"]
    assert in_clear(dump) == {}
    row = await advisor_row(engine, aid)
    for column in (
        "name", "email", "organisation", "bio",
        "expertise", "evidence", "conflicts", "profile",
    ):  # fmt: skip
        assert getattr(row, column).startswith(SEALED), column
    assert (row.status, row.person_id) == ("approved", None)  # ids stay clear

    events = {e.event_type: e for e in await stored(app, aid)}
    for kind, fields in CONTRACT_PERSONAL.items():
        assert all(ENCRYPTED in events[kind].data[f] for f in fields), kind

    # Published in clear all the same: matching scores on them.
    publish = mounted(app).part.translate
    (approved,) = await publish(events["AdvisorApproved"])
    assert approved.data["industries"] == PROFILE["industries"]
    assert approved.data["crisis_experience"] == PROFILE["crisis_experience"]
    (proposed,) = await publish(events["AdvisorProposed"])
    assert proposed.data["expertise_sought"] == PERSON["expertise_sought"]
    assert "name" not in proposed.data and "email" not in proposed.data


async def test_after_erasure_the_captured_ciphertexts_no_longer_open(advisors):
    app, client = advisors
    aid = await approved_advisor(client)
    engine, cipher = mounted(app).runtime.engine, mounted(app).provide(Advisors).cipher
    captured = await advisor_row(engine, aid)
    events = await stored(app, aid)
    async with engine.connect() as conn:
        (before,) = await opened(conn, cipher, [captured])
    assert before["name"] == PERSON["name"]
    assert json.loads(before["profile"])["markets"] == PROFILE["markets"]

    assert (await client.delete(f"/advisors/{aid}", headers=ADMIN)).status_code == 204

    async with engine.connect() as conn:
        (after,) = await opened(conn, cipher, [captured])  # the old row, reread
        keys = await cipher.keys_for(conn, [aid])
        decoded = [await cipher.decode(e, conn) for e in events]
    assert keys == {aid: None}
    assert {c: after[c] for c in ("name", "email", "bio", "expertise", "profile")} == {
        "name": None,
        "email": None,
        "bio": None,
        "expertise": None,
        "profile": None,
    }
    for recorded, data in zip(events, decoded, strict=True):
        for field in CONTRACT_PERSONAL.get(recorded.event_type, ()):
            assert data[field] is None, (recorded.event_type, field)
    assert all(d.get("name") is None for d in decoded)

    # The row keeps no personal column at all, sealed or not.
    row = await advisor_row(engine, aid)
    assert (row.name, row.email, row.organisation, row.bio, row.profile) == (
        (None,) * 5
    )
    assert (row.expertise, row.evidence, row.conflicts) == ("[]", "{}", "{}")
    assert in_clear(await every_table_as_text(engine)) == {}
    assert (await client.get(f"/advisors/{aid}", headers=ADMIN)).json() == {
        "advisor_id": aid,
        "status": "erased",
        "erased": True,
    }
    # An erased advisor's events are no longer published (a relay replay included).
    publish = mounted(app).part.translate
    approved = next(e for e in events if e.event_type == "AdvisorApproved")
    assert await publish(approved) == []


async def test_rows_written_in_clear_are_sealed_once_at_start(advisors):
    """A row an older release wrote in clear is sealed by the start-up step; the
    API reads both kinds alike."""
    app, client = advisors
    engine, cipher = mounted(app).runtime.engine, mounted(app).provide(Advisors).cipher
    aid = await approved_advisor(client)
    gone = await approved_advisor(client)
    assert (await client.delete(f"/advisors/{gone}", headers=ADMIN)).status_code == 204
    expected = (await client.get(f"/advisors/{aid}", headers=SPONSOR)).json()
    clear = {
        **{f: PERSON[f] for f in ("name", "email", "organisation", "bio")},
        "expertise": json.dumps(PERSON["expertise_sought"]),
        "evidence": json.dumps(
            {c: v["evidence"] for c, v in expected["checks"].items()}
        ),
        "conflicts": json.dumps(expected["conflicts"]),
        "profile": json.dumps(expected["profile"]),
    }
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE advisors SET "
                + ", ".join(f"{c} = :{c}" for c in clear)
                + " WHERE advisor_id = :a"
            ),
            clear | {"a": aid},
        )
        await conn.execute(  # an erased row of old kept its expertise and profile
            text(
                "UPDATE advisors SET expertise = :e, profile = :p WHERE advisor_id = :a"
            ),
            {"e": clear["expertise"], "p": clear["profile"], "a": gone},
        )
    assert (await client.get(f"/advisors/{aid}", headers=SPONSOR)).json() == expected
    assert in_clear(await every_table_as_text(engine)) != {}

    assert await seal_legacy(engine, cipher) == 2
    assert await seal_legacy(engine, cipher) == 0, "once"
    assert in_clear(await every_table_as_text(engine)) == {}
    assert (await advisor_row(engine, aid)).name.startswith(SEALED)
    assert (await advisor_row(engine, gone)).profile is None
    assert (await client.get(f"/advisors/{aid}", headers=SPONSOR)).json() == expected


_COUNTING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "counting", default=None
)


async def statements(client, method: str, url: str, **kwargs) -> tuple[int, dict]:
    """The SQL statements one request runs (background tasks not counted)."""
    seen: list[str] = []
    token = _COUNTING.set(seen)
    try:
        r = await client.request(method, url, **kwargs)
    finally:
        _COUNTING.reset(token)
    assert r.status_code == 200, r.text
    return len(seen), r.json()


async def test_pages_of_1_and_30_advisors_cost_the_same_statements(advisors):
    app, client = advisors
    ids = []
    for n in range(30):
        body = proposal(name=f"Advisor {n}", email=f"a{n}@example.org")
        r = await client.post("/advisors", json=body, headers=SPONSOR)
        assert r.status_code == 201, r.text
        ids.append(r.json()["advisor_id"])

    def count(_conn, _cursor, statement, *_args) -> None:
        seen = _COUNTING.get()
        if seen is not None:
            seen.append(statement)

    sync_engine = mounted(app).runtime.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        one, page1 = await statements(
            client, "GET", "/advisors?limit=1", headers=COORDINATOR
        )
        thirty, page30 = await statements(
            client, "GET", "/advisors?limit=30", headers=COORDINATOR
        )
        batch1, b1 = await statements(
            client, "POST", "/advisors/batch", json={"ids": ids[:1]}, headers=SPONSOR
        )
        batch30, b30 = await statements(
            client, "POST", "/advisors/batch", json={"ids": ids}, headers=SPONSOR
        )
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert (len(page1["items"]), len(page30["items"])) == (1, 30)
    assert (len(b1["items"]), len(b30["items"])) == (1, 30)
    assert {a["name"] for a in page30["items"]} == {f"Advisor {n}" for n in range(30)}
    assert one > 0 and one == thirty
    assert batch1 > 0 and batch1 == batch30


async def test_a_sealed_value_opens_only_for_its_advisor_and_column(advisors):
    """A sealed column is bound to its advisor and column: moved, it reads as None."""
    app, client = advisors
    aid = await approved_advisor(client)
    other = await approved_advisor(client)
    engine, cipher = mounted(app).runtime.engine, mounted(app).provide(Advisors).cipher
    row = await advisor_row(engine, aid)
    async with engine.connect() as conn:
        keys = await cipher.keys_for(conn, [aid, other])
    assert (
        PersonalDataCipher.open(keys[aid], aid, "advisors", "name", row.name)
        == (PERSON["name"])
    )
    assert PersonalDataCipher.open(keys[aid], aid, "advisors", "bio", row.name) is None
    assert (
        PersonalDataCipher.open(keys[other], other, "advisors", "name", row.name)
        is None
    )
