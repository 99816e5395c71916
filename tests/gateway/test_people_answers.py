"""The people part of the gateway reads the profiles service's answers through their
response models (``contracts.api.profiles``): every field is the service's answer,
and an answer that does not fit its model is the service's failure (an
``InternalError``), never a null or a default in its place."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest

from chassis.auth import Role
from chassis.envelope import Envelope
from contracts.api import profiles as api
from gateway.answers import read, read_list
from gateway.people import subscriptions
from gateway.people.erasure import _confirmation
from gateway.people.types import Cohort, ImportJob, Person
from gateway.upstream import Caller, UpstreamError
from tests.gateway.platform import new_tenant, token
from tests.gateway.test_people import (
    IMPORT,
    finished_job,
    gid,
    hris,
    local,
    new_cohort,
    register,
    staff,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PERSON = """
query($id: ID!) { node(id: $id) { ... on Person { id status erased givenName
  familyName email title level businessUnit function geography timeZone roles
  languages mentorProfile intake version demographics consents
  manager { id } goals { competencyId current target }
  strengths { competencyId proficiency }
  cohorts(first: 5) { edges { node { role status since cohort { id } } } } } } }
"""


def _stamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def _ok(platform, method: str, path: str, bearer: str, body=None) -> None:
    resp = await platform.service("profiles", method, path, bearer=bearer, json=body)
    assert resp.status_code < 300, resp.text


async def test_every_person_field_is_the_services_answer(platform):
    tenant = new_tenant()
    admin = staff(tenant)
    for cid in ("strategy", "finance"):
        await _ok(
            platform,
            "POST",
            "/competencies",
            admin,
            {"competency_id": cid, "name": cid},
        )
    boss = await register(platform, admin, 1)
    ada = await register(
        platform, admin, 2, manager_id=boss, roles=["mentee", "mentor"]
    )
    own = token(ada, tenant, Role.MENTEE, Role.MENTOR)
    await _ok(
        platform,
        "PUT",
        f"/people/{ada}/intake",
        own,
        {
            "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
            "hours_per_month": 4,
            "motivations": {"strategy": "to lead"},
        },
    )
    await _ok(
        platform,
        "PUT",
        f"/people/{ada}/mentor-profile",
        own,
        {
            "strengths": [{"competency_id": "finance", "proficiency": 5}],
            "formats": ["one_to_one"],
            "max_mentees": 2,
            "hours_per_month": 6,
            "availability": [{"weekday": 1, "start": "09:00", "end": "11:30"}],
        },
    )
    await _ok(
        platform, "PUT", f"/people/{ada}/consents/demographics", own, {"given": True}
    )
    await _ok(
        platform,
        "PUT",
        f"/people/{ada}/demographics",
        own,
        {"attributes": {"gender": "woman"}},
    )
    cohort = await new_cohort(platform, admin, capacity=3)
    admitted = await platform.graphql(
        """mutation($c: ID!, $p: ID!) { admitParticipant(input: {cohortId: $c,
          personId: $p}) { __typename } }""",
        {"c": cohort, "p": gid("Person", ada)},
        bearer=admin,
    )
    assert (
        admitted["data"]["admitParticipant"]["__typename"] == "AdmitParticipantSuccess"
    )

    answer = (
        await platform.service("profiles", "GET", f"/people/{ada}", bearer=own)
    ).json()
    node = (await platform.graphql(PERSON, {"id": gid("Person", ada)}, bearer=own))[
        "data"
    ]["node"]
    assert node["status"] == answer["status"].upper() and node["erased"] is False
    for field, key in (
        ("givenName", "given_name"),
        ("familyName", "family_name"),
        ("email", "email"),
        ("title", "title"),
        ("level", "level"),
        ("businessUnit", "business_unit"),
        ("function", "function"),
        ("geography", "geography"),
        ("timeZone", "time_zone"),
        ("languages", "languages"),
        ("version", "version"),
        ("consents", "consents"),
        ("demographics", "demographics"),
    ):
        assert node[field] == answer[key], field
    assert node["roles"] == [r.upper() for r in answer["roles"]]
    # The JSON fields are the service's entries as answered, fields left out stay out.
    assert node["mentorProfile"] == answer["mentor_profile"]
    assert node["intake"] == answer["intake"]
    assert node["intake"]["motivations"] == {"strategy": "to lead"}
    assert node["mentorProfile"]["availability"] == [
        {"weekday": 1, "start": "09:00", "end": "11:30"}
    ]
    assert node["goals"] == [{"competencyId": "strategy", "current": 2, "target": 4}]
    assert node["strengths"] == [{"competencyId": "finance", "proficiency": 5}]
    assert node["manager"] == {"id": gid("Person", boss)}
    [membership] = [e["node"] for e in node["cohorts"]["edges"]]
    memberships = (
        await platform.service(
            "profiles",
            "POST",
            "/cohorts/memberships",
            bearer=admin,
            json={"ids": [ada]},
        )
    ).json()["items"]
    assert membership["role"] == "MENTEE" and membership["status"] == "ADMITTED"
    assert _stamp(membership["since"]) == _stamp(memberships[0]["since"])
    assert membership["cohort"]["id"] == cohort

    # Someone else's view: no contact fields, no demographics (the service's lock).
    other = token(boss, tenant, Role.MENTEE)
    seen = (await platform.graphql(PERSON, {"id": gid("Person", ada)}, bearer=other))[
        "data"
    ]["node"]
    assert seen["email"] is None and seen["demographics"] is None
    assert seen["intake"] is None and seen["goals"] == []
    assert seen["strengths"] == [{"competencyId": "finance", "proficiency": 5}]


COHORT = """
query($id: ID!, $p: ID!) { cohort(id: $id) { id name programmeType
  strategicPriority businessUnits levels capacity seatsTaken stage
  eligibilityRules { businessUnits minLevel maxLevel geographies minTenureMonths }
  pathway { stage startsOn endsOn }
  participants(first: 5) { edges { node { role since person { id } } } }
  waitingList(first: 5) { edges { node { position role since person { id } } } }
  eligibility(personId: $p) { eligible reasons } } }
"""


async def test_cohort_fields_are_the_services_answer(platform):
    tenant = new_tenant()
    admin = staff(tenant)
    cohort = await new_cohort(
        platform, admin, capacity=1, minLevel=3, maxLevel=9, geographies=["GB"]
    )
    first, second = [await register(platform, admin, n) for n in (1, 2)]
    junior = await register(platform, admin, 3, level=1, geography="FR")
    for pid in (first, second):
        await platform.graphql(
            """mutation($c: ID!, $p: ID!) { admitParticipant(input: {cohortId: $c,
              personId: $p}) { __typename } }""",
            {"c": cohort, "p": gid("Person", pid)},
            bearer=admin,
        )
    cohort_local = local(cohort)
    [answer] = (
        await platform.service(
            "profiles",
            "POST",
            "/cohorts/batch",
            bearer=admin,
            json={"ids": [cohort_local]},
        )
    ).json()["items"]
    eligibility = (
        await platform.service(
            "profiles",
            "GET",
            f"/cohorts/{cohort_local}/eligibility/{junior}",
            bearer=admin,
        )
    ).json()
    view = (
        await platform.graphql(
            COHORT, {"id": cohort, "p": gid("Person", junior)}, bearer=admin
        )
    )["data"]["cohort"]
    assert view["name"] == answer["name"]
    assert view["programmeType"] == answer["programme_type"].upper()
    assert view["strategicPriority"] == answer["strategic_priority"]
    assert view["businessUnits"] == answer["business_units"]
    assert view["levels"] == answer["levels"]
    assert (
        (view["capacity"], view["seatsTaken"])
        == (1, 1)
        == (
            answer["capacity"],
            answer["seats_taken"],
        )
    )
    assert view["stage"] == answer["stage"].upper()
    rules = answer["eligibility"]
    assert view["eligibilityRules"] == {
        "businessUnits": rules["business_units"],
        "minLevel": 3,
        "maxLevel": 9,
        "geographies": ["GB"],
        "minTenureMonths": rules["min_tenure_months"],
    }
    assert view["pathway"] == [
        {
            "stage": p["stage"].upper(),
            "startsOn": p["starts_on"],
            "endsOn": p["ends_on"],
        }
        for p in answer["pathway"]
    ]
    [seated] = [e["node"] for e in view["participants"]["edges"]]
    assert seated["person"]["id"] == gid("Person", first)
    assert _stamp(seated["since"]) == _stamp(answer["participants"][0]["since"])
    [waiting] = [e["node"] for e in view["waitingList"]["edges"]]
    assert (waiting["position"], waiting["role"]) == (1, "MENTEE")
    assert _stamp(waiting["since"]) == _stamp(answer["waiting_list"][0]["since"])
    assert view["eligibility"] == eligibility
    assert eligibility["eligible"] is False and len(eligibility["reasons"]) == 2


async def test_an_import_job_is_the_services_report(platform):
    tenant = new_tenant()
    hr = token("hris-1", tenant, Role.INTEGRATION)
    variables = {
        "input": {"format": "JSON", "records": [hris(1), hris(2, email="nope")]},
        "key": "typed-1",
    }
    started = (await platform.graphql(IMPORT, variables, bearer=hr))["data"]
    job_id = started["importPeople"]["job"]["id"]
    await finished_job(platform, hr, job_id)
    report = (
        await platform.service(
            "profiles", "GET", f"/imports/{local(job_id)}", bearer=hr
        )
    ).json()
    job = (
        await platform.graphql(
            """query($id: ID!) { importJob(id: $id) { status dryRun format processed
              total error createdAt finishedAt
              counts { created updated unchanged deactivated skipped failed }
              errors(first: 5) { edges { node { row employeeId code message
                fields { path message } } } } } }""",
            {"id": job_id},
            bearer=hr,
        )
    )["data"]["importJob"]
    assert job["status"] == report["status"].upper() == "SUCCEEDED"
    assert (job["processed"], job["total"]) == (
        report["progress"]["processed"],
        report["progress"]["total"],
    )
    assert job["counts"] == report["counts"]
    assert job["error"] == report["error"]
    assert _stamp(job["createdAt"]) == _stamp(report["created_at"])
    assert _stamp(job["finishedAt"]) == _stamp(report["finished_at"])
    [failed] = [e["node"] for e in job["errors"]["edges"]]
    [expected] = report["errors"]
    assert failed == {
        "row": expected["row"],
        "employeeId": expected["employee_id"],
        "code": expected["code"],
        "message": expected["message"],
        "fields": expected["fields"],
    }


def _answering(monkeypatch, service_path: str, answer: object) -> None:
    """The gateway's calls to ``service_path`` (``"METHOD /path"``) answer ``answer``."""
    real = Caller.request

    async def request(self, service, method, path, **kw):
        if f"{method} {path}" == service_path:
            self.calls += 1
            return answer
        return await real(self, service, method, path, **kw)

    monkeypatch.setattr(Caller, "request", request)


async def _error(platform, query: str, variables: dict, bearer: str) -> dict:
    body = await platform.graphql(query, variables, bearer=bearer, expect_errors=True)
    [error] = body["errors"]
    return error


async def test_a_malformed_answer_is_an_internal_error_not_a_null(
    platform, monkeypatch
):
    tenant = new_tenant()
    admin = staff(tenant)
    ada = await register(platform, admin, 1)
    query = "query($id: ID!) { node(id: $id) { ... on Person { givenName } } }"

    _answering(monkeypatch, "POST /people/batch", {"items": [{"person_id": ada}]})
    error = await _error(platform, query, {"id": gid("Person", ada)}, admin)
    assert error["extensions"]["code"] == "InternalError"
    assert error["extensions"]["service"] == "profiles"
    assert "malformed People" in error["message"]

    _answering(monkeypatch, "GET /competencies", {"items": []})  # not a list
    error = await _error(
        platform, "{ competencies(first: 5) { edges { node { id } } } }", {}, admin
    )
    assert error["extensions"]["code"] == "InternalError"
    assert "malformed list of Competency" in error["message"]

    # A mutation whose answer does not fit: the caller is told, not handed a null.
    _answering(monkeypatch, "POST /cohorts", {"id": "c-1"})
    body = await platform.graphql(
        """mutation { createCohort(input: {name: "X", capacity: 1}) { __typename } }""",
        bearer=admin,
        expect_errors=True,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "InternalError"
    assert "malformed CreatedCohort" in error["message"]


async def test_models_build_the_graphql_types():
    person = Person.from_model(
        read(
            api.Person,
            {
                "person_id": "p-1",
                "status": "active",
                "erased": False,
                "roles": ["mentor"],
                "mentor_profile": {"max_mentees": 2, "hours_per_month": 4},
                "intake": {
                    "goals": [{"competency_id": "c-1", "current": 1, "target": 3}],
                    "hours_per_month": 2,
                },
            },
            "profiles",
        )
    )
    assert person.mentor_profile == {"max_mentees": 2, "hours_per_month": 4}
    assert person.strengths() == []
    assert [(g.competency_id, g.current, g.target) for g in person.goals()] == [
        ("c-1", 1, 3)
    ]
    assert person.languages == [] and person.version is None

    erased = read(
        api.Person, {"person_id": "p-2", "status": "erased", "erased": True}, "profiles"
    )
    tombstone = Person.from_model(erased)
    assert tombstone.erased and tombstone.given_name is None
    assert tombstone.intake is None and tombstone.roles == []

    with pytest.raises(UpstreamError) as raised:
        read(api.Person, {"person_id": "p-3", "status": "retired"}, "profiles")
    assert (raised.value.code, raised.value.status) == ("InternalError", 502)

    cohort = Cohort.from_model(
        read(
            api.CohortWithDates,
            {
                "cohort_id": "k-1",
                "name": "Leaders",
                "capacity": 2,
                "stage": "pairing",
                "seats_taken": 1,
                "participants": [
                    {
                        "person_id": "p-1",
                        "role": "mentee",
                        "since": "2027-01-04T09:00:00+00:00",
                    }
                ],
                "waiting_list": [],
                "pathway": [
                    {
                        "stage": "intake",
                        "starts_on": "2027-01-04",
                        "ends_on": "2027-01-31",
                    }
                ],
            },
            "profiles",
        )
    )
    assert (
        cohort.programme_type is not None and cohort.programme_type.value == "standard"
    )
    assert cohort.stage is not None and cohort.stage.value == "pairing"
    assert str(cohort.pathway[0].ends_on) == "2027-01-31"
    assert cohort.eligibility_rules.business_units == []

    job = ImportJob.from_model(
        read(
            api.ImportState,
            {
                "job_id": "j-1",
                "status": "running",
                "dry_run": True,
                "format": "csv",
                "progress": {"processed": 2, "total": 5},
                "counts": {
                    "created": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "deactivated": 0,
                    "skipped": 0,
                    "failed": 1,
                },
                "errors": [],
                "errors_next": None,
                "error": None,
                "created_at": "2027-01-04T09:00:00+00:00",
                "updated_at": "2027-01-04T09:00:01+00:00",
                "finished_at": None,
            },
            "profiles",
        )
    )
    assert (job.processed, job.total, job.counts.failed) == (2, 5, 1)
    assert job.created_at == datetime(2027, 1, 4, 9, tzinfo=UTC)
    assert job.finished_at is None


async def test_a_list_answer_is_read_item_by_item():
    rows = read_list(
        api.Competency,
        [
            {
                "competency_id": "c-1",
                "name": "Finance",
                "category": None,
                "retired": False,
            }
        ],
        "profiles",
    )
    assert rows[0].name == "Finance"
    for malformed in ({"items": []}, [{"competency_id": "c-1"}]):
        with pytest.raises(UpstreamError) as raised:
            read_list(api.Competency, malformed, "profiles")
        assert raised.value.code == "InternalError", malformed


def _envelope(kind: str, data: dict) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type=kind,
        subject=data.get("job_id", "x"),
        time=datetime.now(UTC),
        data=data,
        tenant="t-1",
    )


async def test_import_events_are_read_through_their_contracts(caplog):
    finished = subscriptions._payload(
        _envelope(
            "ImportFinished",
            {
                "job_id": "j-1",
                "status": "failed",
                "processed": 1,
                "total": 2,
                "error": "the batch could not be read",
            },
        )
    )
    assert finished is not None
    news = subscriptions._from_event(finished)
    assert news.finished() and news.error == "the batch could not be read"
    progressed = subscriptions._payload(
        _envelope("ImportProgressed", {"job_id": "j-1", "processed": 1, "total": 2})
    )
    assert progressed is not None
    news = subscriptions._from_event(progressed)
    assert news.status.value == "running" and not news.finished()
    assert news.counts.created == 0

    with caplog.at_level(logging.ERROR, logger="gateway.people.subscriptions"):
        bad = _envelope("ImportProgressed", {"job_id": "j-1", "processed": -1})
        assert subscriptions._payload(bad) is None
    assert "does not fit its contract" in caplog.text
    other = _envelope("PersonRegistered", {"person_id": "p-1"})
    assert subscriptions._payload(other) is None


async def test_erasure_confirmations_are_read_through_their_models():
    at = "2027-01-04T09:00:00+00:00"
    profiles = _confirmation(
        "profiles",
        {
            "person_id": "p-1",
            "erased_at": at,
            "key_destroyed_at": at,
            "services": {
                "profiles": {
                    "confirmed_at": at,
                    "complete": True,
                    "stores": [
                        {"store": "people", "action": "deleted", "confirmed_at": at}
                    ],
                }
            },
        },
    )
    assert profiles.confirmed and profiles.stores == ["people"]
    assert datetime.fromisoformat(
        profiles.confirmed_at or ""
    ) == datetime.fromisoformat(at)
    matching = _confirmation(
        "matching",
        {
            "person_id": "p-1",
            "service": "matching",
            "confirmed_at": at,
            "stores": ["a"],
        },
    )
    assert matching.confirmed and matching.stores == ["a"]
    with pytest.raises(UpstreamError) as raised:
        _confirmation("insights", {"person_id": "p-1", "service": "insights"})
    assert raised.value.code == "InternalError"
