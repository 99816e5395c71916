"""The documented example (docs/examples/programme-history.json, with the HRIS file
docs/examples/people.json) imports as docs/history-import.md says, through GraphQL,
and reads back: a dry run reports what it would do and writes nothing, the import
creates every record, and the cohorts, relationships, sessions, milestones and
check-ins are there with the file's dates."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chassis.auth import Role
from tests.gateway.history_seed import (
    COMPETENCY,
    IMPORT_PEOPLE,
    MENTOR_PROFILE,
    PEOPLE_JOB,
)
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_planted_truth import Org, gid, import_history, local
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
DOCUMENT = json.loads((EXAMPLES / "programme-history.json").read_text())
PEOPLE = json.loads((EXAMPLES / "people.json").read_text())

READ_BACK = """query($id: ID!) { node(id: $id) { ... on Relationship {
  status startsOn kind cohort { name } mentor { id } mentee { id }
  contract { inForce }
  sessions(first: 50) { edges { node { state } } }
  milestones(first: 50) { edges { node { state } } }
  checkIns { id } } } }"""
PEOPLE_IDS = "{ people(first: 100) { edges { node { id email } } } }"


async def test_the_example_imports_and_reads_back(platform):
    admin = token("example-admin", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    org = Org(platform, admin)
    started = (
        await org.ask(
            IMPORT_PEOPLE,
            {"input": {"format": "JSON", "records": PEOPLE}, "key": "hris-example"},
        )
    )["importPeople"]

    async def people_done() -> dict | None:
        job = (await org.ask(PEOPLE_JOB, {"id": started["job"]["id"]}))["importJob"]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    assert (await until(people_done, "the HRIS import"))["counts"] == {
        "created": 6,
        "failed": 0,
    }
    emails = {
        e["node"]["email"]: e["node"]["id"]
        for e in (await org.ask(PEOPLE_IDS))["people"]["edges"]
    }
    person = {p["employee_id"]: emails[p["email"]] for p in PEOPLE}
    # A pairing still running takes a seat of its mentor: a mentor profile first.
    await org.ask(COMPETENCY, {"i": {"competencyId": "strategy", "name": "Strategy"}})
    for mentor in ("E101", "E102"):
        await org.ask(
            MENTOR_PROFILE,
            {
                "i": {
                    "personId": person[mentor],
                    "strengths": [{"competencyId": "strategy", "proficiency": 5}],
                    "formats": ["ONE_TO_ONE"],
                    "maxMentees": 2,
                    "hoursPerMonth": 4,
                }
            },
        )

    dry = await import_history_dry(org, DOCUMENT)
    assert dry["status"] == "SUCCEEDED"
    outcomes: Counter[tuple[str, str]] = Counter(
        (r["section"], r["outcome"]) for r in dry["records"]
    )
    # profiles checks its sections; what hangs on a cohort the run would create is
    # checked on the real import.
    assert outcomes == Counter(
        {
            ("COHORTS", "WOULD_CREATE"): 2,
            ("OUTCOMES", "WOULD_CREATE"): 2,
            ("PAIRINGS", "NOT_CHECKED"): 3,
            ("CONTRACTS", "NOT_CHECKED"): 3,
            ("SESSIONS", "NOT_CHECKED"): 19,
            ("MILESTONES", "NOT_CHECKED"): 4,
            ("FEEDBACK", "NOT_CHECKED"): 5,
            ("CHECK_INS", "NOT_CHECKED"): 4,
        }
    )

    job = await import_history(org, DOCUMENT)
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert [r for r in job["records"] if r["outcome"] != "CREATED"] == []
    assert len(job["records"]) == 42
    pairing = {
        r["key"]: gid("Relationship", local(r["entityId"]))
        for r in job["records"]
        if r["section"] == "PAIRINGS"
    }

    async def read(key: str) -> dict[str, Any]:
        return (await org.ask(READ_BACK, {"id": pairing[key]}))["node"]

    ended = await read("P-001")
    assert {k: ended[k] for k in ("status", "startsOn", "kind")} == {
        "status": "CONCLUDED",
        "startsOn": "2026-01-12",
        "kind": "STANDARD",
    }
    assert ended["cohort"] == {"name": "Leadership 2026"}
    assert (ended["mentor"]["id"], ended["mentee"]["id"]) == (
        person["E101"],
        person["E001"],
    )
    assert Counter(e["node"]["state"] for e in ended["sessions"]["edges"]) == Counter(
        {"HELD": 7, "CANCELLED": 1}
    )
    assert Counter(e["node"]["state"] for e in ended["milestones"]["edges"]) == Counter(
        {"ACHIEVED": 2}
    )
    assert len(ended["checkIns"]) == 2

    running = await read("P-003")
    assert (running["status"], running["startsOn"]) == ("ACTIVE", "2026-09-21")
    assert running["cohort"] == {"name": "Leadership 2026-27"}
    assert running["contract"] == {"inForce": True}
    assert Counter(e["node"]["state"] for e in running["sessions"]["edges"]) == Counter(
        {"HELD": 4, "CANCELLED": 1}
    )

    again = await import_history(org, DOCUMENT)
    assert {r["outcome"] for r in again["records"]} == {"UNCHANGED"}


async def import_history_dry(org: Org, document: dict[str, Any]) -> dict[str, Any]:
    return await import_history(org, document, dry_run=True)
