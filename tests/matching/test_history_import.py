"""A programme's history, matching's part (issue 20): ``POST /history-imports`` with
past and running pairings (ids resolved), over HTTP on real PostgreSQL and Kafka.

A pairing of the history is recorded with the events a live one records, dated: the
confirmation carries ``starts_on`` (sessions starts the relationship from it, with
the pairing's id), the end ``ended_on``. A running one holds a mentor's seat, an ended
one does not. Each record is taken once per (organisation, key); a dry run writes
nothing; a record breaking a rule fails alone, naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.service import mounted
from contracts import matching as m
from tests.invariants.matching_helpers import Org, build_org
from tests.profiles.conftest import token
from tests.sessions.conftest import sessions  # noqa: F401  (fixture)
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

TODAY = datetime.now(UTC).date()


def pairing(org: Org, key: str, mentor: int, mentee: int, **overrides) -> dict:
    record = {
        "key": key,
        "cohort_id": org.cohort,
        "mentor_id": org.mentors[mentor],
        "mentee_id": org.mentees[mentee],
        "programme_type": "standard",
        "approved_on": "2025-01-10",
        "starts_on": "2025-01-13",
        "ended_on": "2025-09-30",
        "end_reason": "concluded",
    }
    return {k: v for k, v in (record | overrides).items() if v is not None}


def running(org: Org, key: str, mentor: int, mentee: int, **overrides) -> dict:
    return pairing(
        org,
        key,
        mentor,
        mentee,
        **{
            "approved_on": "2025-10-01",
            "starts_on": "2025-10-06",
            "ended_on": None,
            "end_reason": None,
            **overrides,
        },
    )


async def run(c, org: Org, records: list[dict], headers=None, **params) -> dict:
    resp = await c.post(
        "/history-imports",
        params={"wait": "true", **params},
        json={"format": "tandem.programme-history/1", "pairings": records},
        headers=headers or org.coordinator,
    )
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert job["status"] == "succeeded", job
    return job


async def outcomes(c, org: Org, job: dict, **params) -> dict[str, dict]:
    page = await c.get(
        f"/history-imports/{job['job_id']}/records",
        params=params,
        headers=org.coordinator,
    )
    assert page.status_code == 200, page.text
    return {r["key"]: r for r in page.json()["items"]}


async def stream(app, pairing_id: str, tenant: str) -> list[tuple[str, dict]]:
    events = await mounted(app).runtime.store.read_stream(pairing_id, tenant=tenant)
    return [(e.event_type, e.data) for e in events]


async def test_history_pairings_are_confirmed_on_their_dates_and_ended_when_they_ended(
    matching,
):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=3)
    job = await run(c, org, [pairing(org, "P-001", 0, 0), running(org, "P-002", 0, 1)])
    assert job["counts"] == {
        "pairings": {"created": 2, "unchanged": 0, "failed": 0, "would_create": 0}
    }
    seen = await outcomes(c, org, job)
    ended_id, running_id = seen["P-001"]["id"], seen["P-002"]["id"]

    ended = (await c.get(f"/pairings/{ended_id}", headers=org.coordinator)).json()
    assert (ended["state"], ended["starts_on"]) == ("ended", "2025-01-13")
    assert ended["cohort_id"] == org.cohort
    now = (await c.get(f"/pairings/{running_id}", headers=org.coordinator)).json()
    assert (now["state"], now["starts_on"]) == ("confirmed", "2025-10-06")

    events = await stream(app, ended_id, org.tenant)
    assert [kind for kind, _ in events] == [
        "PairingProposed",
        "PairingApproved",
        "PairingAccepted",
        "PairingAccepted",
        "PairingConfirmed",
        "PairingEnded",
    ]
    data = dict(events)
    assert data["PairingProposed"]["score"] is None  # never scored
    assert data["PairingConfirmed"]["starts_on"] == "2025-01-13"
    assert data["PairingEnded"]["ended_on"] == "2025-09-30"
    assert data["PairingEnded"]["reason"] == "concluded"
    assert [k for k, _ in await stream(app, running_id, org.tenant)][-1] == (
        "PairingConfirmed"
    )

    # The mentor's one seat: the ended pairing left it, the running one holds it.
    full = await run(c, org, [running(org, "P-003", 0, 2)])
    refused = (await outcomes(c, org, full))["P-003"]
    assert refused["outcome"] == "failed"
    assert refused["error"]["code"] == "capacity_exceeded"
    mine = await c.get(
        "/pairings", headers=token(org.tenant, "mentee", sub=org.mentees[2])
    )
    assert mine.json() == []


async def test_a_reimport_changes_nothing_and_other_content_is_a_conflict(matching):
    app, c = matching
    org = await build_org(app, seats=[2], mentees=2)
    first = await run(c, org, [pairing(org, "P-001", 0, 0)])
    pairing_id = (await outcomes(c, org, first))["P-001"]["id"]
    before = await stream(app, pairing_id, org.tenant)

    again = await run(c, org, [pairing(org, "P-001", 0, 0)])
    seen = (await outcomes(c, org, again))["P-001"]
    assert (seen["outcome"], seen["id"]) == ("unchanged", pairing_id)

    edited = await run(
        c,
        org,
        [pairing(org, "P-001", 0, 0, ended_on="2025-06-30"), running(org, "P-2", 0, 1)],
    )
    seen_edit = await outcomes(c, org, edited)
    assert seen_edit["P-001"]["outcome"] == "failed"
    assert seen_edit["P-001"]["error"]["code"] == "conflict"
    assert seen_edit["P-2"]["outcome"] == "created"
    assert await stream(app, pairing_id, org.tenant) == before
    listed = await c.get("/pairings", headers=org.coordinator)
    assert len(listed.json()) == 2


async def test_a_dry_run_says_what_would_happen_and_writes_nothing(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=2)
    records = [pairing(org, "P-001", 0, 0), running(org, "P-002", 0, 1)]
    dry = await run(c, org, records, dry_run="true")
    assert dry["dry_run"] is True
    assert dry["counts"]["pairings"]["would_create"] == 2
    assert {r["outcome"] for r in (await outcomes(c, org, dry)).values()} == {
        "would_create"
    }
    assert (await c.get("/pairings", headers=org.coordinator)).json() == []

    real = await run(c, org, records)
    assert real["counts"]["pairings"]["created"] == 2


async def test_a_pairing_breaking_a_rule_fails_alone_naming_the_field(matching):
    app, c = matching
    org = await build_org(app, seats=[3], mentees=3)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    bad = [
        pairing(org, "NO-COHORT", 0, 0, cohort_id="cohort-unknown"),
        pairing(org, "NO-MENTOR", 0, 0, mentor_id="person-unknown"),
        pairing(org, "NO-MENTEE", 0, 0, mentee_id="person-unknown"),
        pairing(org, "SELF", 0, 0, mentee_id=org.mentors[0]),
        pairing(org, "STARTS-EARLY", 0, 0, starts_on="2025-01-09"),
        pairing(org, "ENDS-EARLY", 0, 0, ended_on="2025-01-12"),
        running(org, "FUTURE", 0, 0, starts_on=tomorrow),
        pairing(org, "TYPE", 0, 0, programme_type="reverse"),
        running(org, "REASON", 0, 0, end_reason="concluded"),
        pairing(org, "GOOD", 0, 0),
    ]
    job = await run(c, org, bad)
    assert job["counts"]["pairings"]["failed"] == 9
    assert job["counts"]["pairings"]["created"] == 1
    seen = await outcomes(c, org, job)
    assert {
        k: (r["error"]["code"], r["error"]["field"])
        for k, r in seen.items()
        if r["error"]
    } == {
        "NO-COHORT": ("unknown_cohort", "cohort_id"),
        "NO-MENTOR": ("unknown_person", "mentor_id"),
        "NO-MENTEE": ("unknown_person", "mentee_id"),
        "SELF": ("invalid", "mentee_id"),
        "STARTS-EARLY": ("invalid", "starts_on"),
        "ENDS-EARLY": ("invalid", "ended_on"),
        "FUTURE": ("invalid", "starts_on"),
        "TYPE": ("invalid", "programme_type"),
        "REASON": ("invalid", "end_reason"),
    }
    listed = (await c.get("/pairings", headers=org.coordinator)).json()
    assert [p["pairing_id"] for p in listed] == [seen["GOOD"]["id"]]

    # A mentee's one running pairing in the cohort, as on approval.
    second = await run(
        c, org, [running(org, "RUN-1", 0, 1), running(org, "RUN-2", 0, 1)]
    )
    seen = await outcomes(c, org, second)
    assert seen["RUN-1"]["outcome"] == "created"
    assert seen["RUN-2"]["error"]["code"] == "mentee_already_paired"


async def test_only_coordinators_and_admins_of_the_organisation_import_history(
    matching,
):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    for roles in (("mentor",), ("sponsor",), ("integration",)):
        refused = await c.post(
            "/history-imports",
            json={"pairings": [pairing(org, "P-001", 0, 0)]},
            headers=token(org.tenant, *roles, sub="someone"),
        )
        assert refused.status_code == 403, refused.text
    assert (await c.get("/pairings", headers=org.coordinator)).json() == []

    job = await run(
        c, org, [pairing(org, "P-001", 0, 0)], headers=token(org.tenant, "admin")
    )
    for path in ("", "/records"):
        other = await c.get(
            f"/history-imports/{job['job_id']}{path}",
            headers=token("another-org", "coordinator"),
        )
        assert other.status_code == 404, other.text

    for document in (
        {"pairings": [pairing(org, "P-001", 0, 0, approved_on="last year")]},
        {"pairings": [pairing(org, "P-001", 0, 0, end_reason="bored")]},
        {"pairings": [{"key": "P-001"}]},
        {"cohorts": []},
    ):
        malformed = await c.post(
            "/history-imports", json=document, headers=org.coordinator
        )
        assert malformed.status_code == 422, (document, malformed.text)


async def test_sessions_starts_the_relationship_on_the_imported_start(
    matching,
    sessions,  # noqa: F811  (fixture)
):
    app, c = matching
    _sessions_app, s = sessions
    org = await build_org(app, seats=[1], mentees=2)
    job = await run(c, org, [pairing(org, "P-001", 0, 0), running(org, "P-002", 0, 1)])
    seen = await outcomes(c, org, job)

    async def relationship(pairing_id: str) -> dict | None:
        got = await s.get(f"/relationships/{pairing_id}", headers=org.coordinator)
        return got.json() if got.status_code == 200 else None

    now = await until(
        lambda: relationship(seen["P-002"]["id"]), "the running relationship", 60
    )
    assert now["starts_on"] == "2025-10-06"
    assert now["mentee_id"] == org.mentees[1] and now["state"] != "concluded"

    async def concluded() -> dict | None:
        found = await relationship(seen["P-001"]["id"])
        return found if found and found["state"] == "concluded" else None

    ended = await until(concluded, "the ended relationship to conclude", 60)
    assert ended["starts_on"] == "2025-01-13"
    assert date.fromisoformat(ended["starts_on"]) < TODAY


@pytest.mark.unit
def test_an_old_pairing_ended_event_without_the_field_still_decodes():
    old = m.PairingEnded.model_validate(
        {"pairing_id": "p", "mentor_id": "a", "mentee_id": "b", "reason": "concluded"}
    )
    assert old.ended_on is None
