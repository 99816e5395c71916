"""A mentee's whole journey through the GraphQL API, step by step.

Used by the end-to-end test and by ``bench/gateway.py`` (which needs a mentee with a
relationship, sessions, milestones and a scorecard). Every step goes through the
gateway; only waiting for asynchronous work looks at a service's state.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from chassis.auth import Role
from tests.gateway.platform import Platform, token
from tests.profiles.conftest import person
from tests.support.waiting import until


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def ok(body: dict, field: str, success: str) -> dict:
    result = body["data"][field]
    assert result["__typename"] == success, result
    return result


IMPORT = """mutation($input: ImportPeopleInput!, $key: String!) {
  importPeople(input: $input, idempotencyKey: $key) { __typename
    ... on Error { code message } ... on ImportPeopleSuccess { job { id } } } }"""
JOB = "query($id: ID!) { importJob(id: $id) { status counts { created failed } } }"
PEOPLE = "{ people(first: 100) { edges { node { id email } } } }"
COMPETENCY = """mutation($i: DefineCompetencyInput!) { defineCompetency(input: $i) {
  __typename ... on Error { code message } } }"""
COHORT = """mutation($i: CreateCohortInput!) { createCohort(input: $i) { __typename
  ... on Error { code message } ... on CohortSuccess { cohort { id } } } }"""
ROLES = """mutation($i: SetProgrammeRolesInput!) { setProgrammeRoles(input: $i) {
  __typename ... on Error { code message } } }"""
MENTOR_PROFILE = """mutation($i: SetMentorProfileInput!) { setMentorProfile(input: $i) {
  __typename ... on Error { code message } } }"""
INTAKE = """mutation($i: SubmitIntakeInput!) { submitIntake(input: $i) {
  __typename ... on Error { code message } } }"""
ADMIT = """mutation($i: AdmitParticipantInput!) { admitParticipant(input: $i) {
  __typename ... on Error { code message } } }"""
ROUND = """mutation($i: StartMatchingRoundInput!) { startMatchingRound(input: $i) {
  __typename ... on Error { code message }
  ... on MatchingRoundSuccess { round { id status proposedCount
    proposedPairs(first: 10) { edges { node { id score mentee { id } mentor { id }
      explanation { criterion contribution reason } } } } } } } }"""
PAIRING = """mutation($i: PairingInput!) { %s(input: $i) { __typename
  ... on Error { code message } ... on PairingSuccess { pairing { id status } } } }"""
RELATIONSHIPS = """query($p: ID) { relationships(personId: $p) { edges { node {
  id status } } } }"""
PROPOSE = """mutation($i: ProposeContractInput!) { proposeContract(input: $i) {
  __typename ... on Error { code message }
  ... on RelationshipSuccess { relationship { contract { version } } } } }"""
SIGN = """mutation($i: SignContractInput!) { signContract(input: $i) { __typename
  ... on Error { code message }
  ... on RelationshipSuccess { relationship { contract { inForce } } } } }"""
SCHEDULE = """mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) {
  __typename ... on Error { code message }
  ... on SessionSuccess { session { id } } } }"""
HELD = """mutation($i: MarkSessionHeldInput!) { markSessionHeld(input: $i) {
  __typename ... on Error { code message } ... on SessionSuccess { session {
  state } } } }"""
MILESTONE = """mutation($i: SetMilestoneInput!) { setMilestone(input: $i) {
  __typename ... on Error { code message }
  ... on MilestoneSuccess { milestone { id } } } }"""
ACHIEVE = """mutation($i: AchieveMilestoneInput!) { achieveMilestone(input: $i) {
  __typename ... on Error { code message }
  ... on MilestoneSuccess { milestone { state } } } }"""
SCORECARD = """query($m: ID!) { menteeScorecard(menteeId: $m) {
  behaviouralChange { milestones { set achieved onTime } }
  relationshipIds } }"""


def hris(n: int, **overrides: Any) -> dict:
    record = person(n, **overrides)
    record.pop("roles")
    return record


async def import_organisation(p: Platform, hr: str, mentees: int) -> dict[str, str]:
    """HRIS import of one mentor and ``mentees`` mentees; email → global id."""
    records = [hris(1, level=9, given_name="Grace", email="grace@acme.example")]
    records += [hris(10 + n) for n in range(mentees)]
    body = await p.graphql(
        IMPORT,
        {"input": {"format": "JSON", "records": records}, "key": "hris-2027-01"},
        bearer=hr,
    )
    job = ok(body, "importPeople", "ImportPeopleSuccess")["job"]["id"]

    async def finished() -> dict | None:
        got = (await p.graphql(JOB, {"id": job}, bearer=hr))["data"]["importJob"]
        return got if got["status"] in ("SUCCEEDED", "FAILED") else None

    done = await until(finished, "the HRIS import")
    assert done == {
        "status": "SUCCEEDED",
        "counts": {"created": 1 + mentees, "failed": 0},
    }
    people = (await p.graphql(PEOPLE, bearer=hr))["data"]["people"]["edges"]
    return {e["node"]["email"]: e["node"]["id"] for e in people}


async def enrol(p: Platform, admin: str, ids: dict[str, str]) -> str:
    """Competency, cohort, mentor profile, intakes and admissions; the cohort id."""
    for cid, name in (("strategy", "Strategic thinking"), ("finance", "Finance")):
        await p.graphql(
            COMPETENCY, {"i": {"competencyId": cid, "name": name}}, bearer=admin
        )
    cohort = ok(
        await p.graphql(
            COHORT, {"i": {"name": "Leaders 2027", "capacity": 20}}, bearer=admin
        ),
        "createCohort",
        "CohortSuccess",
    )["cohort"]["id"]
    mentor = ids["grace@acme.example"]
    ok(
        await p.graphql(
            ROLES, {"i": {"personId": mentor, "roles": ["MENTOR"]}}, bearer=admin
        ),
        "setProgrammeRoles",
        "PersonSuccess",
    )
    ok(
        await p.graphql(
            MENTOR_PROFILE,
            {
                "i": {
                    "personId": mentor,
                    "strengths": [{"competencyId": "strategy", "proficiency": 5}],
                    "formats": ["ONE_TO_ONE"],
                    "maxMentees": 3,
                    "hoursPerMonth": 6,
                    "availability": [{"weekday": 1, "start": "08:00", "end": "12:00"}],
                }
            },
            bearer=admin,
        ),
        "setMentorProfile",
        "PersonSuccess",
    )
    ok(
        await p.graphql(
            ADMIT,
            {"i": {"cohortId": cohort, "personId": mentor, "role": "MENTOR"}},
            bearer=admin,
        ),
        "admitParticipant",
        "AdmitParticipantSuccess",
    )
    for pid in ids.values():
        if pid == mentor:
            continue
        ok(
            await p.graphql(
                ROLES, {"i": {"personId": pid, "roles": ["MENTEE"]}}, bearer=admin
            ),
            "setProgrammeRoles",
            "PersonSuccess",
        )
        ok(
            await p.graphql(
                INTAKE,
                {
                    "i": {
                        "personId": pid,
                        "goals": [
                            {"competencyId": "strategy", "current": 2, "target": 4}
                        ],
                        "hoursPerMonth": 4,
                        "preferredFormats": ["ONE_TO_ONE"],
                    }
                },
                bearer=admin,
            ),
            "submitIntake",
            "PersonSuccess",
        )
        ok(
            await p.graphql(
                ADMIT, {"i": {"cohortId": cohort, "personId": pid}}, bearer=admin
            ),
            "admitParticipant",
            "AdmitParticipantSuccess",
        )
    return cohort


async def run_round(p: Platform, admin: str, cohort: str, mentees: int) -> list[dict]:
    """Start a round once matching has seen the whole cohort; its proposed pairs."""
    await until_matching_sees(p, local(cohort), mentees + 1)
    result = (
        await p.graphql(ROUND, {"i": {"cohortId": cohort, "wait": True}}, bearer=admin)
    )["data"]["startMatchingRound"]
    assert result["__typename"] == "MatchingRoundSuccess", result
    pairs = [e["node"] for e in result["round"]["proposedPairs"]["edges"]]
    assert len(pairs) == mentees, result
    return pairs


async def until_matching_sees(p: Platform, cohort: str, members: int) -> None:
    """Wait until matching's candidate view (fed from Kafka) holds the cohort."""
    engine = p.apps["matching"].state.runtime.engine

    async def seen() -> bool:
        async with engine.connect() as conn:
            count = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM cohort_members m JOIN candidates c "
                        "ON c.person_id = m.person_id WHERE m.cohort_id = :c "
                        "AND (c.intake IS NOT NULL OR c.mentor_profile IS NOT NULL)"
                    ),
                    {"c": cohort},
                )
            ).scalar_one()
        return count >= members

    await until(seen, "matching to see the whole cohort")


# The journey's relationship started a week ago: its sessions are held in the past.
STARTED_ON = datetime.now(UTC).date() - timedelta(days=7)


async def confirm(
    p: Platform,
    tenant: str,
    coordinator: str,
    pair: dict,
    starts_on: date = STARTED_ON,
) -> None:
    """Coordinator approves (the relationship starting on ``starts_on``); mentor
    and mentee accept (each with their own token)."""
    ok(
        await p.graphql(
            PAIRING % "approvePairing",
            {"i": {"pairingId": pair["id"], "startsOn": starts_on.isoformat()}},
            bearer=coordinator,
        ),
        "approvePairing",
        "PairingSuccess",
    )
    for side, role in (("mentor", Role.MENTOR), ("mentee", Role.MENTEE)):
        as_party = token(local(pair[side]["id"]), tenant, role)
        ok(
            await p.graphql(
                PAIRING % "acceptPairing",
                {"i": {"pairingId": pair["id"]}},
                bearer=as_party,
            ),
            "acceptPairing",
            "PairingSuccess",
        )


async def relationship_of(p: Platform, mentee_token: str) -> str:
    async def started() -> str | None:
        edges = (await p.graphql(RELATIONSHIPS, {"p": None}, bearer=mentee_token))[
            "data"
        ]["relationships"]["edges"]
        return edges[0]["node"]["id"] if edges else None

    return await until(started, "the relationship to start")


async def develop(
    p: Platform, rel: str, mentor_token: str, mentee_token: str, sessions: int = 2
) -> str:
    """Contract signed by both, ``sessions`` held, one milestone achieved."""
    version = ok(
        await p.graphql(
            PROPOSE,
            {
                "i": {
                    "relationshipId": rel,
                    "everyDays": 14,
                    "minutes": 60,
                    "hoursPerMonth": 4,
                    "objectives": ["Lead the APAC expansion plan"],
                }
            },
            bearer=mentee_token,
        ),
        "proposeContract",
        "RelationshipSuccess",
    )["relationship"]["contract"]["version"]
    for who in (mentee_token, mentor_token):
        ok(
            await p.graphql(
                SIGN, {"i": {"relationshipId": rel, "version": version}}, bearer=who
            ),
            "signContract",
            "RelationshipSuccess",
        )
    start = (datetime.now(UTC) - timedelta(days=sessions + 1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    for n in range(sessions):
        session = ok(
            await p.graphql(
                SCHEDULE,
                {
                    "i": {
                        "relationshipId": rel,
                        "startsAt": (start + timedelta(days=n)).isoformat(),
                        "outsideAvailability": True,
                    }
                },
                bearer=mentor_token,
            ),
            "scheduleSession",
            "SessionSuccess",
        )["session"]["id"]
        held = ok(
            await p.graphql(HELD, {"i": {"sessionId": session}}, bearer=mentor_token),
            "markSessionHeld",
            "SessionSuccess",
        )
        assert held["session"]["state"] == "HELD"
    milestone = ok(
        await p.graphql(
            MILESTONE,
            {
                "i": {
                    "relationshipId": rel,
                    "objectiveIndex": 0,
                    "label": "Plan approved",
                    "dueOn": (date.today() + timedelta(days=30)).isoformat(),
                    "criteria": ["Board approves the APAC plan"],
                }
            },
            bearer=mentee_token,
        ),
        "setMilestone",
        "MilestoneSuccess",
    )["milestone"]["id"]
    achieved = ok(
        await p.graphql(
            ACHIEVE,
            {
                "i": {
                    "milestoneId": milestone,
                    "evidence": "Board minutes, item 7",
                }
            },
            bearer=mentor_token,
        ),
        "achieveMilestone",
        "MilestoneSuccess",
    )
    assert achieved["milestone"]["state"] == "ACHIEVED"
    return milestone
