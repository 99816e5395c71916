"""People, cohorts, competencies and HRIS imports through the gateway, end to end over
HTTP (and a real websocket for import progress) against the real services."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets

from chassis.auth import Role
from chassis.service import mounted
from services.profiles.application.imports import Imports
from tests.gateway.platform import new_tenant, token
from tests.profiles.conftest import person
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def staff(tenant: str) -> str:
    return token("coordinator-1", tenant, Role.ADMIN, Role.COORDINATOR)


async def register(platform, bearer: str, n: int, **overrides) -> str:
    resp = await platform.service(
        "profiles", "POST", "/people", bearer=bearer, json=person(n, **overrides)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["person_id"]


def hris(n: int, **overrides) -> dict:
    record = person(n, **overrides)
    record.pop("roles")
    return record


IMPORT = """
mutation($input: ImportPeopleInput!, $key: String!) {
  importPeople(input: $input, idempotencyKey: $key) {
    __typename
    ... on ImportPeopleSuccess { replayed job { id status total } }
    ... on Error { code message }
    ... on ValidationError { fields { path message } }
  }
}
"""

JOB = """
query($id: ID!) { importJob(id: $id) { id status dryRun format processed total
  counts { created updated unchanged failed }
  errors(first: 10) { edges { node { row employeeId code fields { path } } } } } }
"""


async def finished_job(platform, bearer: str, job_id: str, deadline_s=30) -> dict:
    async def finished() -> dict | None:
        job = (await platform.graphql(JOB, {"id": job_id}, bearer=bearer))["data"][
            "importJob"
        ]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    return await until(
        finished, f"import {job_id} to finish", deadline_s, interval_s=0.05
    )


async def employee_ids(platform, bearer: str) -> list[str]:
    body = await platform.graphql(
        "{ people(first: 100) { edges { node { email } } } }", bearer=bearer
    )
    return sorted(e["node"]["email"] for e in body["data"]["people"]["edges"])


async def test_an_hris_import_is_a_job_and_the_same_key_gives_the_same_job(platform):
    tenant = new_tenant()
    hr = token("hris-1", tenant, Role.INTEGRATION)
    admin = staff(tenant)
    batch = [hris(1), hris(2), hris(3, roles=["mentor"]), hris(4, email="nope")]
    variables = {"input": {"format": "JSON", "records": batch}, "key": "workday-1"}

    first = (await platform.graphql(IMPORT, variables, bearer=hr))["data"]
    first = first["importPeople"]
    assert first["__typename"] == "ImportPeopleSuccess", first
    assert first["replayed"] is False and first["job"]["total"] == 4
    job = await finished_job(platform, hr, first["job"]["id"])
    assert job["status"] == "SUCCEEDED" and job["format"] == "JSON"
    assert job["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    [error] = [e["node"] for e in job["errors"]["edges"]]
    assert error["row"] == 4 and error["employeeId"] == "E00004"
    assert [f["path"] for f in error["fields"]] == ["email"]

    again = (await platform.graphql(IMPORT, variables, bearer=hr))["data"]
    assert again["importPeople"]["job"]["id"] == first["job"]["id"]
    assert again["importPeople"]["replayed"] is True
    assert await employee_ids(platform, admin) == [
        "ada1@acme.example",
        "ada2@acme.example",
        "ada3@acme.example",
    ], "nobody imported twice"

    # The key promised these records: other records under it are refused.
    reused = {"input": {"format": "JSON", "records": batch[:1]}, "key": "workday-1"}
    refused = (await platform.graphql(IMPORT, reused, bearer=hr))["data"]
    assert refused["importPeople"]["code"] == "IdempotencyKeyReused"


async def test_a_csv_dry_run_and_bad_import_input(platform):
    tenant = new_tenant()
    hr = token("hris-1", tenant, Role.INTEGRATION)
    csv_text = (
        "employee_id,given_name,family_name,email,level,business_unit,function,"
        "geography,time_zone,languages\n"
        "E1,Ada,Lovelace,ada@acme.example,7,Retail,Finance,GB,Europe/London,en;fr\n"
    )
    dry = {
        "input": {"format": "CSV", "content": csv_text, "dryRun": True},
        "key": "csv-1",
    }
    result = (await platform.graphql(IMPORT, dry, bearer=hr))["data"]["importPeople"]
    job = await finished_job(platform, hr, result["job"]["id"])
    assert job["dryRun"] is True and job["format"] == "CSV"
    assert job["counts"]["created"] == 1
    assert await employee_ids(platform, staff(tenant)) == [], "a dry run writes nothing"

    mixed = {"input": {"format": "JSON", "content": csv_text}, "key": "x"}
    bad = (await platform.graphql(IMPORT, mixed, bearer=hr))["data"]["importPeople"]
    assert bad["__typename"] == "ValidationError"
    assert [f["path"] for f in bad["fields"]] == ["input.content"]

    mentee = token("someone", tenant, Role.MENTEE)
    ok = {"input": {"format": "CSV", "content": csv_text}, "key": "csv-2"}
    denied = (await platform.graphql(IMPORT, ok, bearer=mentee))["data"]
    assert denied["importPeople"]["__typename"] == "Forbidden"


COHORT = """
mutation($input: CreateCohortInput!) { createCohort(input: $input) {
  __typename ... on CohortSuccess { cohort { id name capacity stage
    eligibilityRules { minLevel businessUnits } pathway { stage startsOn } } }
  ... on Error { code message } } }
"""

ADMIT = """
mutation($c: ID!, $p: ID!) { admitParticipant(input: {cohortId: $c, personId: $p}) {
  __typename
  ... on AdmitParticipantSuccess { status waitingPosition person { id } }
  ... on Error { code message } } }
"""

VIEW = """
query($id: ID!) { cohort(id: $id) { seatsTaken
  participants(first: 10) { edges { node { role since person { id givenName } } } }
  waitingList(first: 10) { edges { node { position since person { id } } } } } }
"""


async def new_cohort(platform, bearer: str, capacity: int = 1, **rules) -> str:
    variables = {
        "input": {
            "name": "Leaders 2027",
            "capacity": capacity,
            "eligibility": rules,
            "pathway": [
                {"stage": "INTAKE", "startsOn": "2027-01-04", "endsOn": "2027-01-31"}
            ],
        }
    }
    body = await platform.graphql(COHORT, variables, bearer=bearer)
    result = body["data"]["createCohort"]
    assert result["__typename"] == "CohortSuccess", result
    return result["cohort"]["id"]


async def test_admitting_a_non_eligible_person_is_not_eligible_and_changes_nothing(
    platform,
):
    tenant = new_tenant()
    admin = staff(tenant)
    cohort = await new_cohort(
        platform, admin, capacity=5, minLevel=7, businessUnits=["Retail"]
    )
    junior = await register(platform, admin, 1, level=4, business_unit="Insurance")

    body = await platform.graphql(
        ADMIT, {"c": cohort, "p": gid("Person", junior)}, bearer=admin
    )
    refused = body["data"]["admitParticipant"]
    assert refused["__typename"] == "NotEligible", refused
    assert refused["code"] == "NotEligible" and "level" in refused["message"]

    check = await platform.graphql(
        """query($c: ID!, $p: ID!) { cohort(id: $c) { seatsTaken
          participants(first: 5) { edges { node { role } } }
          waitingList(first: 5) { edges { node { position } } }
          eligibility(personId: $p) { eligible reasons } }
          node(id: $p) { ... on Person { cohorts(first: 5) { edges { node { role } } } } } }""",
        {"c": cohort, "p": gid("Person", junior)},
        bearer=admin,
    )
    view = check["data"]["cohort"]
    assert view["seatsTaken"] == 0
    assert view["participants"]["edges"] == [] and view["waitingList"]["edges"] == []
    assert view["eligibility"]["eligible"] is False
    assert len(view["eligibility"]["reasons"]) == 2  # level and business unit
    assert check["data"]["node"]["cohorts"]["edges"] == []


async def test_the_waiting_list_is_first_come_first_served(platform):
    tenant = new_tenant()
    admin = staff(tenant)
    cohort = await new_cohort(platform, admin, capacity=1)
    people = [await register(platform, admin, n) for n in (1, 2, 3)]
    results = [
        (
            await platform.graphql(
                ADMIT, {"c": cohort, "p": gid("Person", p)}, bearer=admin
            )
        )["data"]["admitParticipant"]
        for p in people
    ]
    assert [(r["status"], r["waitingPosition"]) for r in results] == [
        ("ADMITTED", None),
        ("WAITING", 1),
        ("WAITING", 2),
    ]
    view = (await platform.graphql(VIEW, {"id": cohort}, bearer=admin))["data"]
    waiting = [e["node"] for e in view["cohort"]["waitingList"]["edges"]]
    assert [(w["position"], local(w["person"]["id"])) for w in waiting] == [
        (1, people[1]),
        (2, people[2]),
    ]
    assert waiting[0]["since"] <= waiting[1]["since"]

    # The admitted one withdraws: the first in line takes the seat.
    left = await platform.graphql(
        """mutation($c: ID!, $p: ID!) { withdrawParticipant(input:
          {cohortId: $c, personId: $p, reason: "moved"}) { __typename } }""",
        {"c": cohort, "p": gid("Person", people[0])},
        bearer=admin,
    )
    assert left["data"]["withdrawParticipant"]["__typename"] == "CohortSuccess"
    view = (await platform.graphql(VIEW, {"id": cohort}, bearer=admin))["data"]
    seated = [e["node"] for e in view["cohort"]["participants"]["edges"]]
    assert [local(s["person"]["id"]) for s in seated] == [people[1]]
    waiting = [e["node"] for e in view["cohort"]["waitingList"]["edges"]]
    assert [(w["position"], local(w["person"]["id"])) for w in waiting] == [
        (1, people[2])
    ]

    # More seats: the next in line is admitted; a capacity below the seats taken
    # is refused and a stage cannot go back.
    grown = await platform.graphql(
        """mutation($c: ID!) { setCohortCapacity(input: {cohortId: $c, capacity: 2})
          { __typename ... on CohortSuccess { cohort { seatsTaken } } } }""",
        {"c": cohort},
        bearer=admin,
    )
    assert grown["data"]["setCohortCapacity"]["cohort"]["seatsTaken"] == 2
    advanced = await platform.graphql(
        """mutation($c: ID!, $s: PathwayStage!) { advanceCohortStage(input:
          {cohortId: $c, stage: $s}) { __typename ... on CohortSuccess
          { cohort { stage } } ... on Error { code } } }""",
        {"c": cohort, "s": "PAIRING"},
        bearer=admin,
    )
    assert advanced["data"]["advanceCohortStage"]["cohort"]["stage"] == "PAIRING"
    back = await platform.graphql(
        """mutation($c: ID!) { advanceCohortStage(input: {cohortId: $c,
          stage: INTAKE}) { __typename ... on Error { code } } }""",
        {"c": cohort},
        bearer=admin,
    )
    assert back["data"]["advanceCohortStage"]["__typename"] == "RuleViolation"


LISTS = """
{ cohorts(first: 5) { edges { node { name capacity
  participants(first: 5) { edges { node { since person { givenName
    cohorts(first: 3) { edges { node { status cohort { name } } } } } } } }
  waitingList(first: 5) { edges { node { position person { givenName } } } } } } } }
"""


async def test_upstream_calls_do_not_grow_with_cohorts_and_participants(platform):
    calls = {}
    for size in (1, 3):
        tenant = new_tenant()
        admin = staff(tenant)
        for c in range(size):
            cohort = await new_cohort(platform, admin, capacity=size)
            for n in range(size + 1):  # the last one waits
                pid = await register(platform, admin, 100 * c + n)
                await platform.graphql(
                    ADMIT, {"c": cohort, "p": gid("Person", pid)}, bearer=admin
                )
        body = await platform.graphql(LISTS, bearer=admin)
        cohorts = body["data"]["cohorts"]["edges"]
        assert len(cohorts) == size
        for edge in cohorts:
            assert len(edge["node"]["participants"]["edges"]) == size
            assert len(edge["node"]["waitingList"]["edges"]) == 1
        calls[size] = body["extensions"]["upstreamCalls"]
    assert calls[1] == calls[3], calls


async def test_a_person_is_profiled_and_erased_through_graphql(platform):
    tenant = new_tenant()
    admin = staff(tenant)
    for cid, name in (("strategy", "Strategic thinking"), ("finance", "Finance")):
        body = await platform.graphql(
            """mutation($i: DefineCompetencyInput!) { defineCompetency(input: $i)
              { __typename ... on CompetencySuccess { competency { id name } } } }""",
            {"i": {"competencyId": cid, "name": name}},
            bearer=admin,
        )
        assert body["data"]["defineCompetency"]["competency"]["name"] == name
    details = {
        "givenName": "Grace",
        "familyName": "Hopper",
        "email": "grace@acme.example",
        "level": 6,
        "businessUnit": "Retail",
        "function": "Technology",
        "geography": "US",
        "timeZone": "America/New_York",
        "employeeId": "G1",
    }
    created = await platform.graphql(
        """mutation($i: RegisterPersonInput!) { registerPerson(input: $i) {
          __typename ... on PersonSuccess { person { id roles } } } }""",
        {"i": {"details": details, "roles": ["MENTEE", "MENTOR"]}},
        bearer=admin,
    )
    grace = created["data"]["registerPerson"]["person"]["id"]
    duplicate = await platform.graphql(
        """mutation($i: RegisterPersonInput!) { registerPerson(input: $i) {
          __typename ... on Error { code } } }""",
        {"i": {"details": details}},
        bearer=admin,
    )
    assert duplicate["data"]["registerPerson"]["__typename"] == "Conflict"

    steps = [
        (
            "updatePerson",
            "UpdatePersonInput",
            {"personId": grace, "details": {**details, "level": 7}},
        ),
        (
            "submitIntake",
            "SubmitIntakeInput",
            {
                "personId": grace,
                "goals": [{"competencyId": "strategy", "current": 2, "target": 4}],
                "hoursPerMonth": 4,
            },
        ),
        (
            "setMentorProfile",
            "SetMentorProfileInput",
            {
                "personId": grace,
                "strengths": [{"competencyId": "finance", "proficiency": 5}],
                "formats": ["ONE_TO_ONE"],
                "maxMentees": 2,
                "hoursPerMonth": 6,
            },
        ),
        (
            "recordCareerOutcome",
            "RecordCareerOutcomeInput",
            {"personId": grace, "kind": "PROMOTION", "effectiveOn": "2026-01-01"},
        ),
        ("deactivatePerson", "DeactivatePersonInput", {"personId": grace}),
        ("reactivatePerson", "PersonRefInput", {"personId": grace}),
    ]
    for field, input_type, value in steps:
        body = await platform.graphql(
            f"""mutation($i: {input_type}!) {{ {field}(input: $i) {{ __typename
              ... on Error {{ code message }} }} }}""",
            {"i": value},
            bearer=admin,
        )
        assert body["data"][field]["__typename"] == "PersonSuccess", (field, body)

    profile = await platform.graphql(
        """query($id: ID!) { node(id: $id) { ... on Person { level status
          goals { competencyId current target competency { name } }
          strengths { proficiency competency { name } } } } }""",
        {"id": grace},
        bearer=admin,
    )
    node = profile["data"]["node"]
    assert node["level"] == 7 and node["status"] == "ACTIVE"
    assert node["goals"] == [
        {
            "competencyId": "strategy",
            "current": 2,
            "target": 4,
            "competency": {"name": "Strategic thinking"},
        }
    ]
    assert node["strengths"] == [{"proficiency": 5, "competency": {"name": "Finance"}}]

    unknown = await platform.graphql(
        """mutation($i: SubmitIntakeInput!) { submitIntake(input: $i) { __typename
          ... on Error { code } } }""",
        {
            "i": {
                "personId": grace,
                "goals": [{"competencyId": "nope", "current": 1, "target": 2}],
                "hoursPerMonth": 2,
            }
        },
        bearer=admin,
    )
    assert unknown["data"]["submitIntake"] == {
        "__typename": "RuleViolation",
        "code": "UnknownCompetency",
    }
    retired = await platform.graphql(
        """mutation($id: ID!) { retireCompetency(input: {id: $id}) { __typename
          ... on CompetencySuccess { competency { retired } } } }""",
        {"id": gid("Competency", "finance")},
        bearer=admin,
    )
    assert retired["data"]["retireCompetency"]["competency"]["retired"] is True
    listed = await platform.graphql(
        "{ competencies(first: 10) { edges { node { id name } } } }", bearer=admin
    )
    assert [e["node"]["name"] for e in listed["data"]["competencies"]["edges"]] == [
        "Strategic thinking"
    ]

    erased = await platform.graphql(
        """mutation($id: ID!) { erasePerson(input: {personId: $id}) { __typename
          ... on ErasePersonSuccess { erasedPersonId } } }""",
        {"id": grace},
        bearer=admin,
    )
    assert erased["data"]["erasePerson"]["erasedPersonId"] == grace
    gone = await platform.graphql(
        "query($id: ID!) { node(id: $id) { ... on Person { erased givenName } } }",
        {"id": grace},
        bearer=admin,
    )
    assert gone["data"]["node"] == {"erased": True, "givenName": None}


PROGRESS = """
subscription($job: ID!) { importProgress(jobId: $job) { jobId status processed
  total finished counts { created failed } } }
"""


async def subscribe(platform, bearer: str, query: str, variables: dict):
    url = platform.gateway_url.replace("http", "ws") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps(
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {bearer}"},
            }
        )
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )
    )
    return ws


async def test_import_progress_reaches_a_subscriber_until_the_job_finishes(platform):
    tenant = new_tenant()
    hr = token("hris-1", tenant, Role.INTEGRATION)
    imports = mounted(platform.apps["profiles"]).provide(Imports)
    release = asyncio.Event()
    apply_chunk = imports._apply_chunk

    async def held(*args, **kwargs):  # the job waits until the subscriber listens
        await asyncio.wait_for(release.wait(), 30)
        return await apply_chunk(*args, **kwargs)

    imports.chunk_size, imports._apply_chunk = 2, held
    try:
        variables = {
            "input": {"format": "JSON", "records": [hris(n) for n in range(1, 6)]},
            "key": "live-1",
        }
        result = (await platform.graphql(IMPORT, variables, bearer=hr))["data"]
        job_id = result["importPeople"]["job"]["id"]
        ws = await subscribe(platform, hr, PROGRESS, {"job": job_id})
        messages = []
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "next", first
            messages.append(first["payload"]["data"]["importProgress"])
            release.set()  # what follows can only come from the broker
            while not messages[-1]["finished"]:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert msg["type"] == "next", msg
                messages.append(msg["payload"]["data"]["importProgress"])
            done = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert done["type"] == "complete", done
        finally:
            await ws.close()
    finally:
        release.set()
        imports.chunk_size = 500
        del imports._apply_chunk
    assert messages[0]["processed"] == 0 and messages[0]["status"] in (
        "QUEUED",
        "RUNNING",
    )
    assert all(m["jobId"] == job_id and m["total"] == 5 for m in messages)
    processed = [m["processed"] for m in messages]
    assert processed == sorted(processed)
    assert {2, 4} <= set(processed), processed  # chunk by chunk, live
    assert messages[-1] == {
        "jobId": job_id,
        "status": "SUCCEEDED",
        "processed": 5,
        "total": 5,
        "finished": True,
        "counts": {"created": 5, "failed": 0},
    }
