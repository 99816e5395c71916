"""The erasure sweep: erase a person who did everything, then read every database.

Tried as a database reader would after an erasure. On the whole platform (every
service under uvicorn on its own PostgreSQL database, the real Kafka broker, the
gateway in front) one mentee with distinctive values everywhere is imported from the
HRIS, gives demographics and an intake with free text, is matched with a mentor,
confirms the pairing, holds sessions, writes a private and a shared note, gives
feedback with a comment, answers a pulse survey and raises an escalation. An admin
erases them; once the gateway's ``erasureReport`` is complete, every column of every
table of every service database (event store payloads and metadata included) is read
as text and none of the person's identifying values or free text may appear.

The person's id is a pseudonym the design keeps where others' facts need it (the
event streams, the other side's pairing and relationship, the revocation view, the
receipts: docs/security.md "Erasure"), except in insights, which replaces it by a
per-erasure pseudonym and keeps only an HMAC tombstone: there it must be absent.

Their still-valid token is refused by every service, directly and through the
gateway, and insights no longer counts them as an individual.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth import Role
from tests.gateway.journey import (
    IMPORT,
    JOB,
    PEOPLE,
    confirm,
    develop,
    enrol,
    hris,
    local,
    ok,
    relationship_of,
    run_round,
    until,
)
from tests.gateway.platform import Platform, new_tenant, running_platform, token

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(postgres_server, kafka_bootstrap):
    async with running_platform(postgres_server, kafka_bootstrap) as p:
        yield p


REPORT = "query($id: ID!) { erasureReport(personId: $id) { complete } }"
EQUITY = """{ equityReport(dimension: "business_unit") { groups { group } } }"""
SCORECARD = "query($m: ID!) { menteeScorecard(menteeId: $m) { relationshipIds } }"
ME = "{ me { id } }"
RELATIONSHIPS = "{ relationships { edges { node { id } } } }"

# services whose tables may keep the person's (pseudonymous) id after the erasure
# (notifications: its revoked subjects, so an erased person is never told again)
KEEPS_PSEUDONYMOUS_ID = {
    "profiles",
    "matching",
    "sessions",
    "advisors",
    "notifications",
}


def sweep_values(r: str) -> dict[str, str]:
    """What identifies the person or is their free text: kind → value."""
    return {
        "family name": f"Quixote-{r}",
        "given name": f"Zebulon{r}",
        "email": f"zq-{r}@sweep.example",
        "employee id": f"EMP-{r}",
        "title": f"Sweep Officer {r}",
        "intake experiences_lacking": f"sweep-lacking-{r}",
        "intake motivation": f"sweep-motive-{r}",
        "demographic value": f"sweep-gender-{r}",
        "private note": f"sweep-note-private-{r}",
        "shared note": f"sweep-note-shared-{r}",
        "feedback comment": f"sweep-feedback-{r}",
        "escalation detail": f"sweep-escalation-{r}",
    }


async def dump(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """Every (table, column, value as text) of every table of one database."""
    out: list[tuple[str, str, str]] = []
    async with engine.connect() as conn:
        columns = (
            await conn.execute(
                text(
                    "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
                    "FROM information_schema.columns c JOIN information_schema.tables"
                    " t USING (table_schema, table_name) WHERE t.table_type = "
                    "'BASE TABLE' AND c.table_schema NOT IN "
                    "('pg_catalog', 'information_schema') "
                    "ORDER BY 1, 2, c.ordinal_position"
                )
            )
        ).all()
        tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, kind in columns:
            tables.setdefault((schema, table), []).append((column, kind))
        for (schema, table), cols in tables.items():
            exprs = ", ".join(
                f"encode(\"{c}\", 'escape')" if kind == "bytea" else f'"{c}"::text'
                for c, kind in cols
            )
            rows = await conn.execute(text(f'SELECT {exprs} FROM "{schema}"."{table}"'))
            for row in rows:
                for (column, _), value in zip(cols, row, strict=True):
                    if value is not None:
                        out.append((f"{schema}.{table}", column, value))
    return out


async def platform_dump(p: Platform) -> dict[str, list[tuple[str, str, str]]]:
    return {name: await dump(app.state.runtime.engine) for name, app in p.apps.items()}


def leaks(
    dumps: dict[str, list[tuple[str, str, str]]], needles: dict[str, str], pid: str
) -> list[str]:
    found = []
    for service, cells in dumps.items():
        for table, column, value in cells:
            low = value.lower()
            for kind, needle in needles.items():
                if needle.lower() in low:
                    found.append(f"{service}: {table}.{column} holds the {kind}")
            if service not in KEEPS_PSEUDONYMOUS_ID and pid in value:
                found.append(f"{service}: {table}.{column} holds the person's id")
    return sorted(set(found))


async def import_pair(p: Platform, admin: str, r: str, v: dict[str, str]) -> dict:
    """HRIS import of a mentor and the swept mentee; email → global id."""
    records = [
        hris(1, level=9, given_name="Grace", email="grace@acme.example"),
        hris(
            2,
            given_name=v["given name"],
            family_name=v["family name"],
            email=v["email"],
            employee_id=v["employee id"],
            title=v["title"],
            business_unit=f"BU-{r}",
        ),
    ]
    body = await p.graphql(
        IMPORT,
        {"input": {"format": "JSON", "records": records}, "key": f"hris-{r}"},
        bearer=admin,
    )
    job = ok(body, "importPeople", "ImportPeopleSuccess")["job"]["id"]

    async def finished() -> dict | None:
        got = (await p.graphql(JOB, {"id": job}, bearer=admin))["data"]["importJob"]
        return got if got["status"] in ("SUCCEEDED", "FAILED") else None

    done = await until(finished, "the HRIS import")
    assert done["counts"] == {"created": 2, "failed": 0}, done
    people = (await p.graphql(PEOPLE, bearer=admin))["data"]["people"]["edges"]
    return {e["node"]["email"]: e["node"]["id"] for e in people}


async def expect(resp: Any, status: int) -> Any:
    assert resp.status_code == status, (resp.request.url, resp.text)
    return resp.json() if resp.content else None


async def live_the_programme(
    p: Platform, tenant: str, r: str, v: dict[str, str]
) -> dict[str, Any]:
    """Everything the swept mentee does before the erasure."""
    admin = token("admin-1", tenant, Role.ADMIN)
    coordinator = token("coord-1", tenant, Role.COORDINATOR)
    ids = await import_pair(p, admin, r, v)
    mentee, mentor = ids[v["email"]], ids["grace@acme.example"]
    mentee_id, mentor_id = local(mentee), local(mentor)
    as_mentee = token(mentee_id, tenant, Role.MENTEE)
    as_mentor = token(mentor_id, tenant, Role.MENTOR)

    await expect(
        await p.service(
            "profiles",
            "PUT",
            f"/people/{mentee_id}/consents/demographics",
            bearer=as_mentee,
            json={"given": True},
        ),
        204,
    )
    await expect(
        await p.service(
            "profiles",
            "PUT",
            f"/people/{mentee_id}/demographics",
            bearer=as_mentee,
            json={"attributes": {"gender": v["demographic value"]}},
        ),
        204,
    )
    cohort = await enrol(p, admin, ids)
    await expect(
        await p.service(
            "profiles",
            "PUT",
            f"/people/{mentee_id}/intake",
            bearer=admin,
            json={
                "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
                "hours_per_month": 4,
                "preferred_formats": ["one_to_one"],
                "experiences_lacking": [v["intake experiences_lacking"]],
                "motivations": {"strategy": v["intake motivation"]},
            },
        ),
        204,
    )
    (pair,) = await run_round(p, admin, cohort, 1)
    await confirm(p, tenant, coordinator, pair)
    rel = await relationship_of(p, as_mentee)
    await develop(p, rel, as_mentor, as_mentee, sessions=2)
    rel_id = local(rel)

    for visibility in ("private", "shared"):
        await expect(
            await p.service(
                "sessions",
                "POST",
                f"/relationships/{rel_id}/notes",
                bearer=as_mentee,
                json={
                    "kind": "journal",
                    "visibility": visibility,
                    "body": v[f"{visibility} note"],
                },
            ),
            201,
        )
    sessions = await expect(
        await p.service(
            "sessions", "GET", f"/relationships/{rel_id}/sessions", bearer=as_mentee
        ),
        200,
    )
    items = sessions["items"] if isinstance(sessions, dict) else sessions
    held = next(s for s in items if s["state"] == "held")
    await expect(
        await p.service(
            "sessions",
            "POST",
            f"/relationships/{rel_id}/feedback",
            bearer=as_mentee,
            json={
                "about": "session",
                "subject_id": held["session_id"],
                "rating": 4,
                "comment": v["feedback comment"],
            },
        ),
        201,
    )
    survey = await expect(
        await p.service(
            "sessions",
            "POST",
            "/pulse-surveys",
            bearer=coordinator,
            json={
                "cohort_id": local(cohort),
                "questions": ["How is the programme going?"],
                "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        ),
        201,
    )
    survey_id = survey.get("survey_id") or survey["id"]
    await expect(
        await p.service(
            "sessions",
            "POST",
            f"/pulse-surveys/{survey_id}/responses",
            bearer=as_mentee,
            json={"answers": [4]},
        ),
        204,
    )
    await expect(
        await p.service(
            "sessions",
            "POST",
            f"/relationships/{rel_id}/escalations",
            bearer=as_mentee,
            json={"category": "other", "detail": v["escalation detail"]},
        ),
        201,
    )
    return {
        "admin": admin,
        "mentee": mentee,
        "mentee_id": mentee_id,
        "as_mentee": as_mentee,
    }


async def insights_knows(p: Platform, person_id: str) -> bool:
    """Insights counts the mentee as an individual and has heard of their notes."""
    async with p.apps["insights"].state.runtime.engine.connect() as conn:
        people = (
            await conn.execute(
                text("SELECT count(*) FROM equity_people WHERE person_id = :p"),
                {"p": person_id},
            )
        ).scalar_one()
        notes = (
            await conn.execute(
                text("SELECT count(*) FROM facts WHERE type = 'NoteWritten'"),
            )
        ).scalar_one()
    return people > 0 and notes >= 2


async def test_an_erased_person_is_in_no_database_and_no_figure(platform):
    p: Platform = platform
    tenant = new_tenant()
    r = secrets.token_hex(5)
    v = sweep_values(r)
    org = await live_the_programme(p, tenant, r, v)
    admin, pid = org["admin"], org["mentee_id"]

    await until(lambda: insights_knows(p, pid), "insights to count the mentee")

    async def bu_group() -> bool:
        body = await p.graphql(EQUITY, bearer=admin)
        groups = body["data"]["equityReport"]["groups"] or []
        return any(g["group"] == f"BU-{r}" for g in groups)

    await until(bu_group, "the mentee's business unit in the equity report")
    before = await platform_dump(p)
    knew = {s for s, cells in before.items() if any(pid in c[2] for c in cells)}
    assert knew >= {"profiles", "matching", "sessions", "insights"}, knew

    await expect(
        await p.service("profiles", "DELETE", f"/people/{pid}", bearer=admin), 204
    )

    async def complete() -> bool:
        body = await p.graphql(REPORT, {"id": org["mentee"]}, bearer=admin)
        return bool(body["data"]["erasureReport"]["complete"])

    await until(complete, "every service to confirm the erasure")

    found = leaks(await platform_dump(p), v, pid)
    assert not found, "erased person still readable:\n" + "\n".join(found)

    # the still-valid token is refused by every service, directly and via the gateway
    as_mentee = org["as_mentee"]
    reads = {
        "profiles": f"/people/{pid}",
        "matching": "/pairings",
        "sessions": "/relationships",
        "advisors": "/advisors",
        "insights": f"/scorecards/mentees/{pid}",
    }
    for service, path in reads.items():
        resp = await p.service(service, "GET", path, bearer=as_mentee)
        assert resp.status_code == 401, (service, resp.status_code, resp.text)
    for query in (ME, RELATIONSHIPS):
        body = await p.graphql(query, bearer=as_mentee, expect_errors=True)
        assert body.get("errors"), (query, body)
        assert not any((body.get("data") or {}).values()), (query, body)

    # insights no longer counts them as an individual
    assert not await bu_group(), "the equity report still has the erased person"
    card = await p.graphql(
        SCORECARD, {"m": org["mentee"]}, bearer=admin, expect_errors=True
    )
    got = (card.get("data") or {}).get("menteeScorecard")
    assert got is None or not got["relationshipIds"], card
