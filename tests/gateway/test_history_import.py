"""``importProgrammeHistory`` in front of stand-in services: the order of the steps,
what each service is sent (ids resolved from the earlier steps), the merged report,
the dry run, a refused document, a failed step, and another organisation's view."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway.test_graph_pieces import gid, local
from tests.gateway.test_hardening import bearer, gateway
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

START = """mutation($i: ImportProgrammeHistoryInput!) {
  importProgrammeHistory(input: $i) {
    __typename
    ... on ImportProgrammeHistorySuccess { job { id status dryRun } }
    ... on Error { code message }
    ... on ValidationError { fields { path message } } } }"""

POLL = """query($id: ID!) { programmeHistoryImport(id: $id) {
  status stage dryRun error
  counts { section created unchanged failed wouldCreate notChecked }
  records(first: 100) { edges { node {
    section key outcome entityId error { code field message } } } } } }"""

DOCUMENT: dict[str, Any] = {
    "format": "tandem.programme-history/1",
    "cohorts": [
        {
            "key": "C-1",
            "name": "Leadership 2025",
            "programme_type": "standard",
            "starts_on": "2025-01-06",
            "ends_on": "2025-09-30",
            "members": [
                {"employee_id": "E1", "role": "mentee", "admitted_on": "2025-01-06"},
                {"employee_id": "E9", "role": "mentor", "admitted_on": "2025-01-06"},
            ],
        },
        {"key": "C-BAD", "name": "x", "programme_type": "standard", "members": []},
    ],
    "outcomes": [
        {
            "key": "O-1",
            "employee_id": "E1",
            "kind": "promotion",
            "effective_on": "2025-08-01",
            "detail": "Director",
        },
    ],
    "pairings": [
        {
            "key": "P-1",
            "cohort": "C-1",
            "mentor": "E9",
            "mentee": "E1",
            "approved_on": "2025-01-10",
            "starts_on": "2025-01-13",
            "ended_on": "2025-09-30",
            "end_reason": "concluded",
            "contract": {"every_days": 14, "minutes": 60, "objectives": ["a", "b"]},
        },
        {
            "key": "P-GHOST",
            "cohort": "C-1",
            "mentor": "E9",
            "mentee": "E404",
            "approved_on": "2025-01-10",
            "starts_on": "2025-01-13",
        },
        {
            "key": "P-ORPHAN",
            "cohort": "C-BAD",
            "mentor": "E9",
            "mentee": "E1",
            "approved_on": "2025-01-10",
            "starts_on": "2025-01-13",
        },
    ],
    "sessions": [
        {
            "key": "S-1",
            "pairing": "P-1",
            "starts_at": "2025-01-20T09:00:00Z",
            "minutes": 60,
            "status": "held",
        },
        {
            "key": "S-2",
            "pairing": "P-GHOST",
            "starts_at": "2025-01-20T09:00:00Z",
            "minutes": 60,
            "status": "held",
        },
        {
            "key": "S-3",
            "pairing": "P-NONE",
            "starts_at": "2025-01-20T09:00:00Z",
            "minutes": 60,
            "status": "held",
        },
    ],
    "feedback": [
        {
            "key": "F-1",
            "pairing": "P-1",
            "from": "mentee",
            "about": "session",
            "session": "S-1",
            "rating": 4,
            "given_at": "2025-01-21T10:00:00Z",
        },
    ],
}


SESSIONS_SECTIONS = ("contracts", "sessions", "milestones", "feedback", "check_ins")


class Services:
    """profiles, matching and sessions answering their history-import jobs."""

    def __init__(
        self, *, fail: str | None = None, known_after: int = 0, late: int = 0
    ) -> None:
        # matching has not heard of the cohort for this many jobs
        self.late = late
        self.bodies: dict[str, list[Any]] = {}
        self.sent: dict[str, Any] = {}
        self.params: dict[str, dict[str, str]] = {}
        self.fail = fail
        # sessions hears of the relationships only after this many batch reads
        self.known_after = known_after
        self.batch_reads = 0

    def records(self, service: str, body: dict[str, Any], dry: bool) -> list[dict]:
        out: list[dict[str, Any]] = []
        late = service == "matching" and len(self.bodies[service]) <= self.late
        for section, items in body.items():
            for r in items:
                if late:
                    out.append(
                        {
                            "section": section,
                            "key": r["key"],
                            "outcome": "failed",
                            "id": None,
                            "error": {
                                "code": "unknown_cohort",
                                "field": "cohort_id",
                                "message": "matching knows no such cohort",
                            },
                        }
                    )
                    continue
                if section == "cohorts" and r["key"] == "C-BAD":
                    out.append(
                        {
                            "section": section,
                            "key": r["key"],
                            "outcome": "failed",
                            "id": None,
                            "error": {
                                "code": "invalid",
                                "field": "starts_on",
                                "message": "starts_on: required",
                            },
                        }
                    )
                    continue
                ident = None if dry else f"{service[0]}-{r['key'].lower()}"
                out.append(
                    {
                        "section": section,
                        "key": r["key"],
                        "outcome": "would_create" if dry else "created",
                        "error": None,
                        "id": ident,
                    }
                )
        return out

    def job(self, service: str, status: str) -> dict[str, Any]:
        failed = status == "failed"
        zero = {"created": 0, "unchanged": 0, "failed": 0, "would_create": 0}
        sections = SESSIONS_SECTIONS if service == "sessions" else ()
        return {
            "job_id": f"{service}-job",
            "status": status,
            "dry_run": self.params[service]["dry_run"] == "true",
            "counts": {s: zero for s in sections},
            "total": 0,
            "created_at": "2026-12-03T06:00:00+00:00",
            "updated_at": "2026-12-03T06:00:00+00:00",
            "finished_at": None,
            "error": "the database is gone" if failed else None,
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service, path = request.url.host, request.url.path
        if service == "sessions":  # sessions keeps its routes under /sessions
            path = path.replace("/sessions/history-imports", "/history-imports")
        if path == "/history-imports" and request.method == "POST":
            self.sent[service] = json.loads(request.content)
            self.bodies.setdefault(service, []).append(self.sent[service])
            self.params[service] = dict(request.url.params)
            return httpx.Response(202, json=self.job(service, "queued"))
        if path == f"/history-imports/{service}-job":
            status = "failed" if self.fail == service else "succeeded"
            return httpx.Response(200, json=self.job(service, status))
        if path == f"/history-imports/{service}-job/records":
            dry = self.params[service]["dry_run"] == "true"
            return httpx.Response(
                200,
                json={
                    "items": self.records(service, self.sent[service], dry),
                    "next": None,
                },
            )
        if service == "profiles" and path == "/people":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "person_id": "p-1",
                            "status": "active",
                            "erased": False,
                            "employee_id": "E1",
                        },
                        {
                            "person_id": "p-9",
                            "status": "active",
                            "erased": False,
                            "employee_id": "E9",
                        },
                    ],
                    "next": None,
                },
            )
        if service == "sessions" and path == "/relationships/batch":
            self.batch_reads += 1
            if self.batch_reads <= self.known_after:
                return httpx.Response(200, json={"items": []})
            ids = json.loads(request.content)["ids"]
            return httpx.Response(
                200,
                json={
                    "items": [
                        {"relationship_id": i, "mentor_id": "p-9", "mentee_id": "p-1"}
                        for i in ids
                    ]
                },
            )
        return httpx.Response(404, json={"status": 404, "code": "NotFound"})


async def finished(gw, job_id: str, headers: Any = None) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await gw.post(POLL, {"id": job_id}, headers)
        job = body["data"]["programmeHistoryImport"]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    return await until(check, "the import ended", 20)


def report(job: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            n["section"],
            n["key"],
            n["outcome"],
            n["error"] and (n["error"]["code"], n["error"]["field"]),
        )
        for n in (e["node"] for e in job["records"]["edges"])
    ]


async def start(gw, document: Any, **extra: Any) -> dict[str, Any]:
    body = await gw.post(START, {"i": {"document": document, **extra}})
    return body["data"]["importProgrammeHistory"]


async def test_the_steps_run_in_order_with_ids_resolved_and_one_report():
    services = Services(known_after=1)
    async with gateway(services) as gw:
        answer = await start(gw, DOCUMENT)
        assert answer["__typename"] == "ImportProgrammeHistorySuccess"
        job = await finished(gw, answer["job"]["id"])
        order = [
            (r.url.host, r.url.path)
            for r in gw.seen
            if r.method == "POST" and r.url.path.endswith("/history-imports")
        ]
    assert order == [
        ("profiles", "/history-imports"),
        ("matching", "/history-imports"),
        ("sessions", "/sessions/history-imports"),
    ]
    assert services.sent["profiles"] == {
        "cohorts": DOCUMENT["cohorts"],
        "outcomes": DOCUMENT["outcomes"],
    }
    # Only the pairing whose people and cohort resolved reaches matching, with ids.
    assert services.sent["matching"] == {
        "pairings": [
            {
                "key": "P-1",
                "cohort_id": "p-c-1",
                "mentor_id": "p-9",
                "mentee_id": "p-1",
                "programme_type": "standard",
                "approved_on": "2025-01-10",
                "starts_on": "2025-01-13",
                "ended_on": "2025-09-30",
                "end_reason": "concluded",
            }
        ]
    }
    # sessions was asked until it knew the relationship, then sent its sections.
    assert services.batch_reads == 2
    assert services.sent["sessions"] == {
        "contracts": [
            {
                "key": "P-1",
                "relationship_id": "m-p-1",
                "every_days": 14,
                "minutes": 60,
                "objectives": ["a", "b"],
                "signed_on": "2025-01-13",
            }
        ],
        "sessions": [
            {
                "key": "S-1",
                "starts_at": "2025-01-20T09:00:00Z",
                "minutes": 60,
                "status": "held",
                "relationship_id": "m-p-1",
            }
        ],
        "feedback": [
            {
                "key": "F-1",
                "from": "mentee",
                "about": "session",
                "session": "S-1",
                "rating": 4,
                "given_at": "2025-01-21T10:00:00Z",
                "relationship_id": "m-p-1",
            }
        ],
    }
    assert job["status"] == "SUCCEEDED" and job["stage"] == "DONE"
    assert report(job) == [
        ("COHORTS", "C-1", "CREATED", None),
        ("COHORTS", "C-BAD", "FAILED", ("invalid", "starts_on")),
        ("OUTCOMES", "O-1", "CREATED", None),
        ("PAIRINGS", "P-1", "CREATED", None),
        ("PAIRINGS", "P-GHOST", "FAILED", ("unknown_person", "mentee")),
        ("PAIRINGS", "P-ORPHAN", "FAILED", ("dependency_failed", "cohort")),
        ("CONTRACTS", "P-1", "CREATED", None),
        ("SESSIONS", "S-1", "CREATED", None),
        ("SESSIONS", "S-2", "FAILED", ("dependency_failed", "pairing")),
        ("SESSIONS", "S-3", "FAILED", ("unknown_pairing", "pairing")),
        ("FEEDBACK", "F-1", "CREATED", None),
    ]
    entity = {
        (n["section"], n["key"]): n["entityId"]
        for n in (e["node"] for e in job["records"]["edges"])
    }
    assert entity["COHORTS", "C-1"] == gid("Cohort", "p-c-1")
    assert entity["PAIRINGS", "P-1"] == gid("Pairing", "m-p-1")
    assert entity["CONTRACTS", "P-1"] == gid("Relationship", "s-p-1")
    assert local(entity["SESSIONS", "S-1"]) == "s-s-1"
    assert entity["PAIRINGS", "P-GHOST"] is None
    pairings = next(c for c in job["counts"] if c["section"] == "PAIRINGS")
    assert pairings == {
        "section": "PAIRINGS",
        "created": 1,
        "unchanged": 0,
        "failed": 2,
        "wouldCreate": 0,
        "notChecked": 0,
    }


async def test_a_dry_run_writes_nothing_and_marks_what_it_cannot_check():
    services = Services()
    async with gateway(services) as gw:
        job = await finished(gw, (await start(gw, DOCUMENT, dryRun=True))["job"]["id"])
    assert {s: p["dry_run"] for s, p in services.params.items()} == {"profiles": "true"}
    assert job["dryRun"] is True and job["status"] == "SUCCEEDED"
    assert services.batch_reads == 0
    outcomes = {(s, k): o for s, k, o, _ in report(job)}
    assert outcomes[("COHORTS", "C-1")] == "WOULD_CREATE"
    assert outcomes[("PAIRINGS", "P-1")] == "NOT_CHECKED"
    assert outcomes[("SESSIONS", "S-1")] == "NOT_CHECKED"
    assert outcomes[("PAIRINGS", "P-GHOST")] == "FAILED"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "the document must be a JSON object"),
        ({"format": "csv"}, "format: must be 'tandem.programme-history/1'"),
        ({**DOCUMENT, "people": []}, "people: not a section"),
        ({**DOCUMENT, "sessions": {"key": "S"}}, "sessions: must be a list"),
        (
            {**DOCUMENT, "sessions": [DOCUMENT["sessions"][0]] * 2},
            "sessions.1.key: 'S-1' appears twice in sessions",
        ),
        ({**DOCUMENT, "outcomes": [{"kind": "promotion"}]}, "outcomes.0.key: 1 to"),
    ],
)
async def test_a_malformed_document_is_refused_and_nothing_is_called(document, problem):
    async with gateway(Services()) as gw:
        answer = await start(gw, document)
        assert gw.seen == []
    assert answer["code"] == "ValidationError"
    assert [f["path"] for f in answer["fields"]][:1] == ["input.document"]
    assert any(f["message"].startswith(problem) for f in answer["fields"]), answer


async def test_only_coordinators_and_admins_may_import():
    async with gateway(Services()) as gw:
        body = await gw.post(START, {"i": {"document": DOCUMENT}}, bearer("mentee"))
        assert gw.seen == []
    assert body["data"]["importProgrammeHistory"]["code"] == "Forbidden"


async def test_a_failed_step_stops_the_job_and_keeps_what_was_reported():
    services = Services(fail="matching")
    async with gateway(services) as gw:
        job = await finished(gw, (await start(gw, DOCUMENT))["job"]["id"])
    assert job["status"] == "FAILED" and job["stage"] == "MATCHING"
    assert job["error"] == "matching: the database is gone"
    assert "sessions" not in services.sent
    keys = [k for _, k, _, _ in report(job)]
    assert keys[:3] == ["C-1", "C-BAD", "O-1"] and "P-1" in keys


async def test_another_organisation_sees_no_such_job():
    from chassis.auth import mint_token
    from chassis.settings import DEFAULT_DEV_SECRET

    other = mint_token(
        DEFAULT_DEV_SECRET, "p-2", "globex", ["admin"], "tandem-dev", "tandem"
    )
    async with gateway(Services()) as gw:
        job_id = (await start(gw, DOCUMENT))["job"]["id"]
        await finished(gw, job_id)
        body = await gw.post(POLL, {"id": job_id}, {"authorization": f"Bearer {other}"})
        node = await gw.post(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": job_id},
            {"authorization": f"Bearer {other}"},
        )
    assert body["data"]["programmeHistoryImport"] is None
    assert node["data"]["node"] is None


async def test_a_body_a_service_refuses_fails_the_job_naming_the_records():
    def refusing(request: httpx.Request) -> httpx.Response:
        if request.url.host == "profiles" and request.url.path == "/history-imports":
            return httpx.Response(
                422,
                json={
                    "status": 422,
                    "code": "ValidationError",
                    "detail": "invalid",
                    "errors": [
                        {"path": "body.cohorts.1.starts_on", "message": "not a date"}
                    ],
                },
                headers={"content-type": "application/problem+json"},
            )
        return Services()(request)

    async with gateway(refusing) as gw:
        job = await finished(gw, (await start(gw, DOCUMENT))["job"]["id"])
    assert job["status"] == "FAILED" and job["stage"] == "PROFILES"
    assert job["error"] == (
        "profiles refused the records it was sent (nothing of them written): "
        "cohorts 'C-BAD' starts_on: not a date"
    )


async def test_a_pairing_whose_cohort_matching_has_not_heard_of_yet_is_sent_again():
    services = Services(late=2)
    async with gateway(services) as gw:
        job = await finished(gw, (await start(gw, DOCUMENT))["job"]["id"])
        keys = [
            r.headers["idempotency-key"].rsplit("-", 2)[1:]
            for r in gw.seen
            if r.method == "POST" and r.url.host == "matching"
        ]
    # Refused twice (unknown_cohort), then created; each attempt is its own job.
    assert keys == [["matching", "0"], ["matching", "1"], ["matching", "2"]]
    assert [b["pairings"][0]["key"] for b in services.bodies["matching"]] == [
        "P-1",
        "P-1",
        "P-1",
    ]
    assert ("PAIRINGS", "P-1", "CREATED", None) in report(job)
    assert ("SESSIONS", "S-1", "CREATED", None) in report(job)


async def test_a_service_that_does_not_answer_is_asked_again_with_the_same_key():
    services = Services()
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.host == "profiles" and request.method == "POST":
            calls.append(request.headers["idempotency-key"])
            if len(calls) == 1:
                raise httpx.ConnectError("profiles is restarting")
        return services(request)

    async with gateway(flaky) as gw:
        job = await finished(gw, (await start(gw, DOCUMENT))["job"]["id"])
    assert len(calls) == 2 and calls[0] == calls[1]
    assert job["status"] == "SUCCEEDED"


def test_a_check_ins_sponsor_is_sent_as_the_persons_id():
    from gateway.history.document import Line, sessions_body

    document = {
        "check_ins": [
            {"key": "K-1", "pairing": "P-1", "kind": "quarterly", "sponsor": "E7",
             "held_on": "2025-03-01", "alignment": 4},
            {"key": "K-2", "pairing": "P-1", "kind": "quarterly", "sponsor": "E404",
             "held_on": "2025-06-01", "alignment": 4},
        ]
    }  # fmt: skip
    pairings = {"P-1": Line("pairings", "P-1", "created", id="r-1")}
    body, lines = sessions_body(document, pairings, {"E7": "p-7"})
    assert body == {
        "check_ins": [
            {"key": "K-1", "kind": "quarterly", "held_on": "2025-03-01",
             "alignment": 4, "relationship_id": "r-1", "sponsor_id": "p-7"}
        ]
    }  # fmt: skip
    assert [(ln.key, ln.outcome, ln.code, ln.field) for ln in lines] == [
        ("K-2", "failed", "unknown_person", "sponsor")
    ]
