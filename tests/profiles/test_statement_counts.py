"""Every list and batch read of profiles sends as many SQL statements for 50 items as
for 1 (issue 19: constant SQL per request).

The organisation grows from 1 to 50 of everything a list shows (people, cohorts,
competencies, participants, waiting people, import jobs and their records); each read
is counted at both sizes with the engine's own statement events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from chassis.service import mounted
from tests.profiles.conftest import ADMIN, COORDINATOR, INTEGRATION, person
from tests.support.statements import assert_constant, counted

pytestmark = pytest.mark.kafka

Read = Callable[[], Awaitable[httpx.Response]]


async def test_every_list_and_batch_read_is_constant_in_statements(app, client):
    engine = mounted(app).runtime.engine
    people: list[str] = []
    cohorts: list[str] = []
    jobs: list[str] = []
    grown: list[str] = []  # the jobs that imported the people: 1, then 49 records

    async def created(path: str, body: dict, key: str, headers=COORDINATOR) -> str:
        resp = await client.post(path, json=body, headers=headers)
        assert resp.status_code in (200, 201, 202), resp.text
        return resp.json()[key]

    roomy = await created("/cohorts", {"name": "Roomy", "capacity": 100}, "cohort_id")
    full = await created("/cohorts", {"name": "Full", "capacity": 1}, "cohort_id")
    cohorts += [roomy, full]

    async def grow(size: int) -> None:
        """People, cohorts, competencies, memberships and imports, ``size`` each."""
        start = len(people)
        if start < size:
            # One import of the missing people: a job whose records grow too.
            records = [person(n + 1) for n in range(start, size)]
            made = await client.post(
                "/imports",
                params={"wait": "true"},
                json={"people": records},
                headers=INTEGRATION,
            )
            assert made.status_code in (200, 201), made.text
            jobs.append(made.json()["job_id"])
            grown.append(made.json()["job_id"])
            listed = await client.get("/people", params={"limit": 500}, headers=ADMIN)
            known = set(people)
            people[:] = [p["person_id"] for p in listed.json()["items"]]
            assert len(people) == size
            for pid in [p for p in people if p not in known]:
                for cohort in (roomy, full):
                    joined = await client.post(
                        f"/cohorts/{cohort}/participants",
                        json={"person_id": pid},
                        headers=COORDINATOR,
                    )
                    assert joined.status_code == 201, joined.text
        while len(cohorts) < size + 1:
            cohorts.append(
                await created(
                    "/cohorts", {"name": f"C{len(cohorts)}", "capacity": 2}, "cohort_id"
                )
            )
        while len(jobs) < size:
            jobs.append(
                await created(
                    "/imports?wait=true",
                    {"people": [person(1)]},
                    "job_id",
                    headers=INTEGRATION,
                )
            )
        have = len((await client.get("/competencies", headers=COORDINATOR)).json())
        for n in range(have, size):
            await created(
                "/competencies",
                {"competency_id": f"c-{n}", "name": f"Skill {n}", "category": "x"},
                "competency_id",
            )

    reads: dict[str, Read] = {
        "GET /people": lambda: client.get(
            "/people", params={"limit": 500}, headers=ADMIN
        ),
        "POST /people/batch": lambda: client.post(
            "/people/batch", json={"ids": people}, headers=ADMIN
        ),
        "GET /cohorts": lambda: client.get("/cohorts", headers=COORDINATOR),
        "POST /cohorts/batch": lambda: client.post(
            "/cohorts/batch", json={"ids": cohorts[1:]}, headers=COORDINATOR
        ),
        "POST /cohorts/memberships": lambda: client.post(
            "/cohorts/memberships", json={"ids": people}, headers=COORDINATOR
        ),
        "GET /cohorts/{id} (participants)": lambda: client.get(
            f"/cohorts/{roomy}", headers=COORDINATOR
        ),
        "GET /cohorts/{id} (waiting list)": lambda: client.get(
            f"/cohorts/{full}", headers=COORDINATOR
        ),
        "GET /cohorts/{id}/waiting-list": lambda: client.get(
            f"/cohorts/{full}/waiting-list", headers=COORDINATOR
        ),
        "GET /competencies": lambda: client.get("/competencies", headers=COORDINATOR),
        "GET /imports/{id}/records": lambda: client.get(
            f"/imports/{grown[-1]}/records", params={"limit": 500}, headers=INTEGRATION
        ),
        "POST /imports/batch": lambda: client.post(
            "/imports/batch", json={"ids": jobs}, headers=INTEGRATION
        ),
    }
    measured: dict[int, dict[str, list[str]]] = {}
    for size in (1, 50):
        await grow(size)
        measured[size] = {}
        for name, read in reads.items():
            # caches warm, as for any later request; nothing listens to the engine,
            # so its reads run on the driver (``chassis.db.read``)
            unwatched = await read()
            async with counted(engine) as statements:
                resp = await read()
            assert resp.status_code == 200, (name, resp.text)
            if "/people" in name:  # the same answer either way
                assert unwatched.json() == resp.json(), name
            measured[size][name] = list(statements)
    # The lists really grew.
    big = (await reads["GET /cohorts/{id}/waiting-list"]()).json()
    assert len(big) == 49
    print(
        "statements per read (1 → 50):",
        {n: f"{len(measured[1][n])}→{len(measured[50][n])}" for n in reads},
    )
    for name in reads:
        assert_constant(name, measured[1][name], measured[50][name])
    # A page of people, by ids or filtered, is its rows with their keys joined: one
    # statement beside the token's revocation check, at any length.
    for name in ("GET /people", "POST /people/batch"):
        people_reads = [s for s in measured[50][name] if "people" in s]
        assert len(people_reads) == 1, (name, measured[50][name])
        assert "person_keys" in people_reads[0]
