"""Seeding an organisation from its files through the GraphQL API, as the planted
tests do (``test_planted_truth.py``, ``test_planted_equity.py``): the HRIS file
imported with ``importPeople``, its mentors given a profile, then the programme's
history imported with ``importProgrammeHistory`` and run to its end. Then the
projections are waited for: what "every fact of the file" is depends on the file, so
each test gives its ``settled``, asked until it answers true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.gateway.platform import Platform
from tests.support.waiting import until

IMPORT_PEOPLE = """mutation($input: ImportPeopleInput!, $key: String!) {
  importPeople(input: $input, idempotencyKey: $key) { __typename
    ... on Error { code message } ... on ImportPeopleSuccess { job { id } } } }"""
PEOPLE_JOB = (
    "query($id: ID!) { importJob(id: $id) { status counts { created failed } } }"
)
PEOPLE_IDS = """query($after: String) { people(first: 100, after: $after) {
  edges { node { id email } } pageInfo { hasNextPage endCursor } } }"""
COMPETENCY = """mutation($i: DefineCompetencyInput!) { defineCompetency(input: $i) {
  __typename ... on Error { code message } } }"""
MENTOR_PROFILE = """mutation($i: SetMentorProfileInput!) { setMentorProfile(input: $i) {
  __typename ... on Error { code message } } }"""
IMPORT_HISTORY = """mutation($i: ImportProgrammeHistoryInput!) {
  importProgrammeHistory(input: $i) { __typename
    ... on Error { code message }
    ... on ImportProgrammeHistorySuccess { job { id } } } }"""
HISTORY_JOB = """query($id: ID!, $after: String) { programmeHistoryImport(id: $id) {
  status stage error
  counts { section created unchanged failed wouldCreate notChecked }
  records(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { section key outcome entityId error { code field message } } } }
} }"""


async def _ask(
    p: Platform, bearer: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    return (await p.graphql(query, variables, bearer=bearer))["data"]


async def import_people(
    p: Platform,
    bearer: str,
    records: Sequence[dict[str, Any]],
    key: str,
    timeout_s: float = 120,
) -> dict[str, str]:
    """The HRIS file imported (every record created); email → Person global id."""
    answer = (
        await _ask(
            p,
            bearer,
            IMPORT_PEOPLE,
            {"input": {"format": "JSON", "records": list(records)}, "key": key},
        )
    )["importPeople"]
    assert answer["__typename"] == "ImportPeopleSuccess", answer

    async def done() -> dict | None:
        job = (await _ask(p, bearer, PEOPLE_JOB, {"id": answer["job"]["id"]}))[
            "importJob"
        ]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    assert await until(done, "the HRIS import", timeout_s) == {
        "status": "SUCCEEDED",
        "counts": {"created": len(records), "failed": 0},
    }
    by_email: dict[str, str] = {}
    after = None
    while True:
        page = (await _ask(p, bearer, PEOPLE_IDS, {"after": after}))["people"]
        by_email |= {e["node"]["email"]: e["node"]["id"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return by_email
        after = page["pageInfo"]["endCursor"]


async def give_mentor_profiles(
    p: Platform, bearer: str, mentors: Iterable[str], max_mentees: int
) -> None:
    """One competency (``strategy``) and a profile for each mentor (global ids)."""
    await _ask(
        p, bearer, COMPETENCY, {"i": {"competencyId": "strategy", "name": "Strategy"}}
    )
    for person_id in mentors:
        result = (
            await _ask(
                p,
                bearer,
                MENTOR_PROFILE,
                {
                    "i": {
                        "personId": person_id,
                        "strengths": [{"competencyId": "strategy", "proficiency": 5}],
                        "formats": ["ONE_TO_ONE"],
                        "maxMentees": max_mentees,
                        "hoursPerMonth": 6,
                    }
                },
            )
        )["setMentorProfile"]
        assert result["__typename"] == "PersonSuccess", result


async def import_history(
    p: Platform,
    bearer: str,
    doc: dict[str, Any],
    *,
    dry_run: bool = False,
    timeout_s: float = 240,
) -> dict[str, Any]:
    """Run the history import to its end; its status, stage, error, counts and
    every record."""
    variables = {"i": {"document": doc, "dryRun": dry_run}}
    answer = (await _ask(p, bearer, IMPORT_HISTORY, variables))[
        "importProgrammeHistory"
    ]
    assert answer["__typename"] == "ImportProgrammeHistorySuccess", answer
    job_id = answer["job"]["id"]

    async def ended() -> dict[str, Any] | None:
        job = (await _ask(p, bearer, HISTORY_JOB, {"id": job_id}))[
            "programmeHistoryImport"
        ]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    job = await until(ended, "the history import", timeout_s)
    records = [e["node"] for e in job["records"]["edges"]]
    page = job["records"]["pageInfo"]
    while page["hasNextPage"]:
        more = (
            await _ask(
                p, bearer, HISTORY_JOB, {"id": job_id, "after": page["endCursor"]}
            )
        )["programmeHistoryImport"]["records"]
        records += [e["node"] for e in more["edges"]]
        page = more["pageInfo"]
    return {**job, "records": records}


@dataclass
class Seeded:
    """What seeding answered: the people by name and the history job's report."""

    person: dict[str, str] = field(default_factory=dict)  # name → Person global id
    job: dict[str, Any] = field(default_factory=dict)


async def seed_organisation(
    p: Platform,
    bearer: str,
    *,
    people: dict[str, dict[str, Any]],
    hris_key: str,
    mentors: Iterable[str],
    max_mentees: int,
    document: dict[str, Any],
    settled: Callable[[Seeded], Awaitable[bool]],
    settle_timeout_s: float = 120,
) -> Seeded:
    """The organisation's HRIS file (``people``: name → HRIS record), its mentors'
    profiles, its history imported to a successful end, and the projections waited
    for until ``settled`` (what the test reads has taken in every fact of the file)."""
    by_email = await import_people(p, bearer, list(people.values()), hris_key)
    person = {name: by_email[record["email"]] for name, record in people.items()}
    await give_mentor_profiles(p, bearer, [person[m] for m in mentors], max_mentees)
    job = await import_history(p, bearer, document)
    assert (job["status"], job["error"]) == ("SUCCEEDED", None), job
    seeded = Seeded(person=person, job=job)

    async def taken_in() -> bool:
        return await settled(seeded)

    await until(
        taken_in, "the projections to take in every fact of the file", settle_timeout_s
    )
    return seeded
