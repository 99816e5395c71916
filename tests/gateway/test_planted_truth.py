"""The planted truth (issue 20): a small organisation whose past is imported from a
file through ``importProgrammeHistory``, then read back through the API, every figure
written out by hand below, with the line of the file it comes from.

The organisation: ten people (``PEOPLE``) in three business units; two cohorts.

- ``C-2025`` ran from 6 January to 30 September 2025 and ended with outcomes: two
  pairings, P1 (mentor M1, mentee A1, every 14 days) and P2 (M2 with A2, every 30
  days), both concluded on 30 September 2025; A1 was promoted on 1 August 2025 and
  A2's role grew on 15 October 2025.
- ``C-NOW`` is mid-way: it started 112 days ago. P3 (M3 with B1, every 14 days)
  thrives; P4 (M4 with B2) stalled (a no-show, a cancellation) and ended 50 days ago;
  B2 was re-paired with M1 (P5), which is at risk again (a cancellation, a no-show);
  P6 (M2 with A1, every 30 days) holds its sessions but never had a check-in.

Every date of C-2025 is absolute (2025), so the as-of figures below never move; the
dates of C-NOW count back from today (``ago(n)``), so "now" always means the same.
The definitions the figures follow are those of ``services/insights/domain``
(scorecard.py, health.py, health_history.py, equity.py) and docs/, read as they are
written: a figure the API answers differently is a defect of the API, not of this
file. Nothing here calls the code under test to compute an expectation.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from chassis.auth import Role
from tests.gateway import history_seed as seeding
from tests.gateway.history_seed import Seeded, seed_organisation
from tests.gateway.platform import Platform, new_tenant, token

pytestmark = pytest.mark.asyncio(loop_scope="module")

TODAY = datetime.now(UTC).date()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def at(days: int, hour: int = 9) -> str:
    return f"{ago(days)}T{hour:02d}:00:00Z"


def gid(type_name: str, local_id: str) -> str:
    return base64.b64encode(f"{type_name}:{local_id}".encode()).decode()


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


# -- the HRIS file: ten people --------------------------------------------------------
# name: (business unit, level, programme roles)
PEOPLE: dict[str, tuple[str, int, list[str]]] = {
    "A1": ("Finance", 5, ["mentee"]),
    "A2": ("Retail", 5, ["mentee"]),
    "B1": ("Finance", 5, ["mentee"]),
    "B2": ("Operations", 5, ["mentee"]),
    "M1": ("Finance", 8, ["mentor"]),
    "M2": ("Retail", 8, ["mentor"]),
    "M3": ("Operations", 8, ["mentor"]),
    "M4": ("Finance", 8, ["mentor"]),
    # Never took part; not at the mentees' level 5, so no scope has a comparison.
    "N1": ("Retail", 6, []),
    "N2": ("Operations", 7, []),
}


def hris_record(name: str) -> dict[str, Any]:
    unit, level, roles = PEOPLE[name]
    return {
        "employee_id": f"E-{name}",
        "given_name": name,
        "family_name": "Planted",
        "email": f"{name.lower()}@planted.example",
        "level": level,
        "business_unit": unit,
        "function": "Finance",
        "geography": "GB",
        "time_zone": "Europe/London",
        "title": "Director",
        "hire_date": "2015-03-01",
        "languages": ["en"],
        "roles": roles,
    }


# -- the programme-history file ---------------------------------------------------------


def session(key: str, pairing: str, starts_at: str, status: str = "held") -> dict:
    return {
        "key": key,
        "pairing": pairing,
        "starts_at": starts_at,
        "minutes": 60,
        "status": status,
    }


def feedback(key: str, pairing: str, on_session: str, rating: int, given_at: str):
    return {
        "key": key,
        "pairing": pairing,
        "from": "mentee",
        "about": "session",
        "session": on_session,
        "rating": rating,
        "given_at": given_at,
    }


def check_in(key: str, pairing: str, held_on: str) -> dict:
    return {
        "key": key,
        "pairing": pairing,
        "kind": "monthly",
        "held_on": held_on,
        "alignment": 4,
    }


def milestone(
    key: str, pairing: str, label: str, set_on: str, due_on: str, achieved_on=None
) -> dict:
    record = {
        "key": key,
        "pairing": pairing,
        "objective_index": 0,
        "label": label,
        "set_on": set_on,
        "due_on": due_on,
    }
    if achieved_on:
        record["achieved_on"] = achieved_on
    return record


def member(name: str, role: str, admitted_on: str) -> dict:
    return {"employee_id": f"E-{name}", "role": role, "admitted_on": admitted_on}


def pairing(key, cohort, mentor, mentee, approved, starts, every_days, **end) -> dict:
    return {
        "key": key,
        "cohort": cohort,
        "mentor": f"E-{mentor}",
        "mentee": f"E-{mentee}",
        "approved_on": approved,
        "starts_on": starts,
        **end,
        "contract": {
            "every_days": every_days,
            "minutes": 60,
            "objectives": ["Lead the budget cycle", "Name a successor"],
        },
    }


def document() -> dict[str, Any]:
    held_2025 = "T09:00:00Z"
    return {
        "format": "tandem.programme-history/1",
        "cohorts": [
            {
                "key": "C-2025",
                "name": "Leadership 2025",
                "programme_type": "standard",
                "starts_on": "2025-01-06",
                "ends_on": "2025-09-30",
                "members": [
                    member("A1", "mentee", "2025-01-06"),
                    member("A2", "mentee", "2025-01-06"),
                    member("M1", "mentor", "2025-01-06"),
                    member("M2", "mentor", "2025-01-06"),
                ],
            },
            {
                "key": "C-NOW",
                "name": "Leadership now",
                "programme_type": "standard",
                "starts_on": ago(112),
                "ends_on": (TODAY + timedelta(days=140)).isoformat(),
                "members": [
                    member("A1", "mentee", ago(112)),
                    member("B1", "mentee", ago(112)),
                    member("B2", "mentee", ago(112)),
                    *(member(m, "mentor", ago(112)) for m in ("M1", "M2", "M3", "M4")),
                ],
            },
        ],
        "pairings": [
            pairing(
                "P1",
                "C-2025",
                "M1",
                "A1",
                "2025-01-08",
                "2025-01-13",
                14,
                ended_on="2025-09-30",
                end_reason="concluded",
            ),
            pairing(
                "P2",
                "C-2025",
                "M2",
                "A2",
                "2025-01-08",
                "2025-01-13",
                30,
                ended_on="2025-09-30",
                end_reason="concluded",
            ),
            pairing("P3", "C-NOW", "M3", "B1", ago(110), ago(105), 14),
            pairing(
                "P4",
                "C-NOW",
                "M4",
                "B2",
                ago(110),
                ago(105),
                14,
                ended_on=ago(50),
                end_reason="not_working",
            ),
            pairing("P5", "C-NOW", "M1", "B2", ago(45), ago(40), 14),
            pairing("P6", "C-NOW", "M2", "A1", ago(104), ago(100), 30),
        ],
        "sessions": [
            # P1, every 14 days: Q1 six held; Q2 04-14 held, 04-28 cancelled, 05-12
            # missed, then three held; Q3 four held.
            *(
                session(f"S{n:02d}", "P1", d + held_2025, status)
                for n, (d, status) in enumerate(
                    [
                        ("2025-01-20", "held"),
                        ("2025-02-03", "held"),
                        ("2025-02-17", "held"),
                        ("2025-03-03", "held"),
                        ("2025-03-17", "held"),
                        ("2025-03-31", "held"),
                        ("2025-04-14", "held"),
                        ("2025-04-28", "cancelled"),
                        ("2025-05-12", "missed"),
                        ("2025-05-26", "held"),
                        ("2025-06-09", "held"),
                        ("2025-06-23", "held"),
                        ("2025-07-07", "held"),
                        ("2025-08-04", "held"),
                        ("2025-09-01", "held"),
                        ("2025-09-29", "held"),
                    ],
                    start=1,
                )
            ),
            # P2, every 30 days: two held, then a cancellation and a no-show (at
            # risk by the end of April), then held again.
            *(
                session(f"T{n:02d}", "P2", d + held_2025, status)
                for n, (d, status) in enumerate(
                    [
                        ("2025-01-27", "held"),
                        ("2025-02-24", "held"),
                        ("2025-03-24", "cancelled"),
                        ("2025-04-07", "missed"),
                        ("2025-05-05", "held"),
                        ("2025-06-02", "held"),
                        ("2025-07-14", "held"),
                        ("2025-09-08", "held"),
                    ],
                    start=1,
                )
            ),
            *(
                session(f"U{n:02d}", "P3", at(d))
                for n, d in enumerate([98, 84, 70, 56, 42, 28, 14, 6], start=1)
            ),
            session("V01", "P4", at(98)),
            session("V02", "P4", at(84)),
            session("V03", "P4", at(70), "missed"),
            session("V04", "P4", at(56), "cancelled"),
            session("W01", "P5", at(33)),
            session("W02", "P5", at(19), "cancelled"),
            session("W03", "P5", at(12), "missed"),
            session("X01", "P6", at(95)),
            session("X02", "P6", at(60)),
            session("X03", "P6", at(40)),
        ],
        "milestones": [
            milestone(
                "M-01",
                "P1",
                "Budget plan presented",
                "2025-01-20",
                "2025-03-31",
                "2025-03-25",
            ),
            milestone(
                "M-02",
                "P1",
                "Successor named",
                "2025-02-03",
                "2025-05-31",
                "2025-06-20",
            ),
            milestone(
                "M-03",
                "P1",
                "Budget cycle led",
                "2025-04-14",
                "2025-09-15",
                "2025-09-10",
            ),
            milestone("N-01", "P2", "Board deck drafted", "2025-01-27", "2025-04-30"),
            milestone(
                "N-02",
                "P2",
                "Board presentation",
                "2025-05-05",
                "2025-08-31",
                "2025-08-20",
            ),
            milestone("R-01", "P3", "Review plan agreed", ago(98), ago(30), ago(35)),
            milestone("Q-01", "P5", "Project charter", ago(33), ago(5)),
        ],
        "feedback": [
            feedback("F01", "P1", "S01", 3, "2025-01-21T10:00:00Z"),
            feedback("F02", "P1", "S03", 4, "2025-02-18T10:00:00Z"),
            feedback("F03", "P1", "S06", 4, "2025-04-01T10:00:00Z"),
            feedback("F04", "P1", "S07", 5, "2025-04-15T10:00:00Z"),
            feedback("F05", "P1", "S11", 5, "2025-06-10T10:00:00Z"),
            feedback("F06", "P1", "S14", 5, "2025-08-05T10:00:00Z"),
            feedback("G01", "P2", "T01", 4, "2025-01-28T10:00:00Z"),
            feedback("G02", "P2", "T02", 4, "2025-02-25T10:00:00Z"),
            feedback("G03", "P2", "T05", 2, "2025-05-06T10:00:00Z"),
            feedback("G04", "P2", "T06", 3, "2025-06-03T10:00:00Z"),
            feedback("G05", "P2", "T08", 4, "2025-09-09T10:00:00Z"),
            feedback("H01", "P3", "U01", 4, at(97, 10)),
            feedback("H02", "P3", "U02", 5, at(83, 10)),
        ],
        "check_ins": [
            *(
                check_in(f"K{n:02d}", "P1", d)
                for n, d in enumerate(
                    [
                        "2025-02-14",
                        "2025-03-28",
                        "2025-05-09",
                        "2025-06-20",
                        "2025-08-01",
                        "2025-09-12",
                    ],
                    start=1,
                )
            ),
            check_in("L01", "P2", "2025-02-20"),
            check_in("L02", "P2", "2025-05-10"),
            check_in("L03", "P2", "2025-07-20"),
            check_in("J01", "P3", ago(60)),
            check_in("J02", "P3", ago(20)),
        ],
        "outcomes": [
            {
                "key": "O-01",
                "employee_id": "E-A1",
                "kind": "promotion",
                "effective_on": "2025-08-01",
                "detail": "Finance Director",
            },
            {
                "key": "O-02",
                "employee_id": "E-A2",
                "kind": "role_change",
                "effective_on": "2025-10-15",
                "detail": "Head of Retail Strategy",
            },
            {
                "key": "O-03",
                "employee_id": "E-N1",
                "kind": "promotion",
                "effective_on": "2025-06-01",
                "detail": "Senior Manager",
            },
        ],
    }


# -- the import ---------------------------------------------------------------------


class Org:
    """The imported organisation: its people, cohorts and relationships by name."""

    def __init__(self, p: Platform, admin: str) -> None:
        self.p = p
        self.admin = admin
        self.person: dict[str, str] = {}  # name → Person global id
        self.cohort: dict[str, str] = {}  # key → Cohort global id
        self.relationship: dict[str, str] = {}  # key → Relationship global id
        self.report: list[dict[str, Any]] = []
        self.counts: list[dict[str, Any]] = []

    async def ask(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        return (await self.p.graphql(query, variables, bearer=self.admin))["data"]

    def name_of(self, person_gid: str) -> str:
        return next(n for n, g in self.person.items() if g == person_gid)

    def take(self, seeded: Seeded) -> None:
        """Its people, and what the history import's report names."""
        self.person = seeded.person
        self.report = seeded.job["records"]
        self.counts = seeded.job["counts"]
        for r in self.report:
            if r["section"] == "COHORTS" and r["entityId"]:
                self.cohort[r["key"]] = r["entityId"]
            if r["section"] == "PAIRINGS" and r["entityId"]:
                self.relationship[r["key"]] = gid("Relationship", local(r["entityId"]))


async def import_history(
    org: Org, doc: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    """Run the import to its end; its status, counts and every record."""
    return await seeding.import_history(
        org.p, org.admin, doc, dry_run=dry_run, timeout_s=180
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(platform) -> Org:
    tenant = new_tenant()
    admin = token("planted-admin", tenant, Role.ADMIN, Role.COORDINATOR)
    o = Org(platform, admin)

    async def insights_has_everything(seeded: Seeded) -> bool:
        o.take(seeded)
        return await complete(o)

    await seed_organisation(
        platform,
        admin,
        people={n: hris_record(n) for n in PEOPLE},
        hris_key="hris-planted",
        mentors=("M1", "M2", "M3", "M4"),
        max_mentees=2,
        document=document(),
        settled=insights_has_everything,
    )
    return o


WAIT = """{ programmeScorecard { behaviouralChange {
  milestones { set } feedback { count } } }
  relationshipHealths(first: 50) { edges { node {
    relationship { id } daysSinceSession cancellationStreak } } } }"""


async def complete(o: Org) -> bool:
    """Insights has taken in every fact of the file: the 7 milestones and 13
    feedback of the file are counted now (no date in them matters "now"), every one
    of the 6 relationships has a health, and the last session of the file (U08, 6
    days ago, P3) and the last cancellation (W03, P5) have arrived."""
    data = await o.ask(WAIT)
    change = data["programmeScorecard"]["behaviouralChange"]
    healths = {
        e["node"]["relationship"]["id"]: e["node"]
        for e in data["relationshipHealths"]["edges"]
        if e["node"]["relationship"]
    }
    return (
        change["milestones"]["set"] == 7
        and change["feedback"]["count"] == 13
        and len(healths) == 6
        and healths.get(o.relationship["P3"], {}).get("daysSinceSession") == 6
        and healths.get(o.relationship["P5"], {}).get("cancellationStreak") == 2
    )


# -- the import's own report ---------------------------------------------------------


async def test_every_record_of_the_file_was_created(org: Org):
    # One line per record: 2 cohorts, 3 outcomes, 6 pairings and their 6 contracts,
    # 16 + 8 + 8 + 4 + 3 + 3 = 42 sessions, 7 milestones, 13 feedback, 11 check-ins.
    assert {
        c["section"]: (c["created"], c["failed"], c["unchanged"]) for c in org.counts
    } == {
        "COHORTS": (2, 0, 0),
        "OUTCOMES": (3, 0, 0),
        "PAIRINGS": (6, 0, 0),
        "CONTRACTS": (6, 0, 0),
        "SESSIONS": (42, 0, 0),
        "MILESTONES": (7, 0, 0),
        "FEEDBACK": (13, 0, 0),
        "CHECK_INS": (11, 0, 0),
    }
    assert [r for r in org.report if r["outcome"] != "CREATED"] == []
    assert len(org.report) == 90


async def test_importing_the_same_file_again_changes_nothing(org: Org):
    job = await import_history(org, document())
    assert job["status"] == "SUCCEEDED"
    assert {r["outcome"] for r in job["records"]} == {"UNCHANGED"}
    assert len(job["records"]) == 90


# -- scorecards as of three dates -----------------------------------------------------

CARD = """
  asOf
  skillGrowth: %s
  behaviouralChange {
    milestones { set due achieved onTime missed completionRate onTimeRate }
    feedback { count mean trend }
    reflections rotations debriefs }
  businessImpact {
    participants { people promoted roleExpanded departed
      promotionRate roleExpansionRate retentionRate }
    comparison { people } lift { promotionRate } comparisonNote }
"""
GROUP_SKILLS = "skillGrowth { meanChange goals goalsReached reassessed }"
SKILLS = "skillGrowth { goals { competencyId } meanChange goalsReached reassessed }"
COHORT_CARD = (
    """query($c: ID!, $on: Date) { cohortScorecard(cohortId: $c, asOf: $on) {
  menteeCount withdrawn
  members(first: 10) { edges { node { mentee { id }
    behaviouralChange { milestones { set due achieved onTime missed
      completionRate onTimeRate } feedback { count mean trend } } } } }"""
    + CARD.replace("skillGrowth: %s", GROUP_SKILLS)
    + "} }"
)
MENTEE_CARD = (
    """query($m: ID!, $on: Date) { menteeScorecard(menteeId: $m, asOf: $on) {
  relationships { id }"""
    + CARD.replace("skillGrowth: %s", SKILLS)
    + "} }"
)
RELATIONSHIP_CARD = (
    """query($r: ID!, $on: Date) { relationshipScorecard(relationshipId: $r,
  asOf: $on) { mentee { id } mentor { id } cohort { id }"""
    + CARD.replace("skillGrowth: %s", SKILLS)
    + "} }"
)

NO_GOALS: dict[str, Any] = {
    "goals": [],
    "meanChange": None,
    "goalsReached": 0,
    "reassessed": False,
}
NO_GROUP_GOALS: dict[str, Any] = {
    "meanChange": None,
    "goals": 0,
    "goalsReached": 0,
    "reassessed": 0,
}
# Nobody who never took part is at level 5, the mentees' level (N1 is at 6, N2 at 7).
NO_COMPARISON = {
    "comparison": None,
    "lift": None,
    "comparisonNote": "0 comparable non-participants; at least 5 are needed",
}


def milestones(set_, due, achieved, on_time, missed, completion, on_time_rate):
    return {
        "set": set_,
        "due": due,
        "achieved": achieved,
        "onTime": on_time,
        "missed": missed,
        "completionRate": completion,
        "onTimeRate": on_time_rate,
    }


def ratings(count, mean, trend):
    return {"count": count, "mean": mean, "trend": trend}


def outcomes(people, promoted, role_expanded, promotion_rate, role_rate):
    return {
        "participants": {
            "people": people,
            "promoted": promoted,
            "roleExpanded": role_expanded,
            "departed": 0,
            "promotionRate": promotion_rate,
            "roleExpansionRate": role_rate,
            "retentionRate": 1.0,  # nobody departed
        },
        **NO_COMPARISON,
    }


def change(ms: dict, fb: dict) -> dict:
    return {
        "milestones": ms,
        "feedback": fb,
        "reflections": 0,  # the file has no journals
        "rotations": 0,
        "debriefs": 0,
    }


# A1 on P1 (the only relationship A1 had in 2025), as of each date:
A1_2025 = {
    # 03-31: M-01 and M-02 set (M-03 only on 04-14); M-01 achieved on 03-25 (due
    # 03-31: on time), M-02 due 05-31, not yet due. Ratings F01 3, F02 4:
    # mean 3.5, slope of (3, 4) = 1.0.
    "2025-03-31": change(milestones(2, 1, 1, 1, 0, 1.0, 1.0), ratings(2, 3.5, 1.0)),
    # 06-30: M-03 set (due 09-15, not due); M-02 achieved 06-20 after its due day
    # 05-31 (late: achieved, not on time, not missed). Due 2, achieved 2, on time 1.
    # Ratings 3, 4, 4, 5, 5 (F01-F05): mean 21/5 = 4.2, slope 5/10 = 0.5.
    "2025-06-30": change(milestones(3, 2, 2, 1, 0, 1.0, 0.5), ratings(5, 4.2, 0.5)),
    # 10-31: M-03 achieved 09-10, before its due day 09-15: all 3 due and achieved,
    # 2 on time (0.6667). Ratings 3, 4, 4, 5, 5, 5: mean 26/6 = 4.3333, slope
    # 7/17.5 = 0.4.
    "2025-10-31": change(
        milestones(3, 3, 3, 2, 0, 1.0, 0.6667), ratings(6, 4.3333, 0.4)
    ),
}
# A2 on P2:
A2_2025 = {
    # 03-31: N-01 set (due 04-30, not due); ratings G01 4, G02 4: mean 4.0, slope 0.
    "2025-03-31": change(milestones(1, 0, 0, 0, 0, None, None), ratings(2, 4.0, 0.0)),
    # 06-30: N-01 due 04-30 and never achieved: due and missed (nobody marked it);
    # N-02 set 05-05, due 08-31. Ratings 4, 4, 2, 3: mean 3.25, slope -2.5/5 = -0.5.
    "2025-06-30": change(milestones(2, 1, 0, 0, 1, 0.0, None), ratings(4, 3.25, -0.5)),
    # 10-31: N-02 achieved 08-20 (due 08-31: on time). Due 2, achieved 1, missed 1.
    # Ratings 4, 4, 2, 3, 4: mean 17/5 = 3.4, slope -1/10 = -0.1.
    "2025-10-31": change(milestones(2, 2, 1, 1, 1, 0.5, 1.0), ratings(5, 3.4, -0.1)),
}
COHORT_2025 = {
    # The sums of A1 and A2; the feedback mean over all ratings, the trend the mean
    # of the two mentees' trends.
    "2025-03-31": change(
        # set 2+1, due 1+0, achieved 1, on time 1, missed 0
        milestones(3, 1, 1, 1, 0, 1.0, 1.0),
        # 4 ratings: (7 + 8) / 4 = 3.75; trend (1.0 + 0.0) / 2 = 0.5
        ratings(4, 3.75, 0.5),
    ),
    "2025-06-30": change(
        # set 3+2, due 2+1, achieved 2+0, on time 1, missed 0+1: 2/3, 1/2
        milestones(5, 3, 2, 1, 1, 0.6667, 0.5),
        # 9 ratings: (21 + 13) / 9 = 3.7778; trend (0.5 - 0.5) / 2 = 0.0
        ratings(9, 3.7778, 0.0),
    ),
    "2025-10-31": change(
        # set 3+2, due 3+2, achieved 3+1, on time 2+1, missed 0+1: 4/5, 3/4
        milestones(5, 5, 4, 3, 1, 0.8, 0.75),
        # 11 ratings: (26 + 17) / 11 = 3.9091; trend (0.4 - 0.1) / 2 = 0.15
        ratings(11, 3.9091, 0.15),
    ),
}
# Outcomes from the mentees' start (A1 and A2: admitted 2025-01-06) to the date:
# A1's promotion is effective 2025-08-01, A2's role change 2025-10-15.
COHORT_2025_OUTCOMES = {
    "2025-03-31": outcomes(2, 0, 0, 0.0, 0.0),
    "2025-06-30": outcomes(2, 0, 0, 0.0, 0.0),
    "2025-10-31": outcomes(2, 1, 1, 0.5, 0.5),
}
DATES = ("2025-03-31", "2025-06-30", "2025-10-31")


@pytest.mark.parametrize("on", DATES)
async def test_the_ended_cohorts_scorecard_as_of(org: Org, on: str):
    card = (await org.ask(COHORT_CARD, {"c": org.cohort["C-2025"], "on": on}))[
        "cohortScorecard"
    ]
    assert card["asOf"].startswith(on)  # the end of that day
    assert card["menteeCount"] == 2  # A1 and A2, admitted on 2025-01-06
    assert card["withdrawn"] == 0
    assert card["skillGrowth"] == NO_GROUP_GOALS  # the file has no assessments
    assert card["behaviouralChange"] == COHORT_2025[on]
    assert card["businessImpact"] == COHORT_2025_OUTCOMES[on]
    lines = {
        org.name_of(e["node"]["mentee"]["id"]): e["node"]["behaviouralChange"]
        for e in card["members"]["edges"]
    }
    assert lines == {
        "A1": {k: A1_2025[on][k] for k in ("milestones", "feedback")},
        "A2": {k: A2_2025[on][k] for k in ("milestones", "feedback")},
    }


@pytest.mark.parametrize("on", DATES)
async def test_a_mentees_scorecard_as_of(org: Org, on: str):
    card = (await org.ask(MENTEE_CARD, {"m": org.person["A1"], "on": on}))[
        "menteeScorecard"
    ]
    # P6 (A1's second relationship) starts 100 days ago: not yet in 2025.
    assert card["relationships"] == [{"id": org.relationship["P1"]}]
    assert card["skillGrowth"] == NO_GOALS
    assert card["behaviouralChange"] == A1_2025[on]
    # One person from 2025-01-06; promoted on 2025-08-01 (by 10-31 only).
    promoted = 1 if on == "2025-10-31" else 0
    assert card["businessImpact"] == outcomes(1, promoted, 0, float(promoted), 0.0)


@pytest.mark.parametrize("on", DATES)
async def test_a_relationships_scorecard_as_of(org: Org, on: str):
    card = (await org.ask(RELATIONSHIP_CARD, {"r": org.relationship["P2"], "on": on}))[
        "relationshipScorecard"
    ]
    assert card["mentee"] == {"id": org.person["A2"]}
    assert card["mentor"] == {"id": org.person["M2"]}
    assert card["cohort"] == {"id": org.cohort["C-2025"]}
    assert card["behaviouralChange"] == A2_2025[on]
    # From P2's start (2025-01-13): A2's role change on 2025-10-15 (by 10-31 only).
    grew = 1 if on == "2025-10-31" else 0
    assert card["businessImpact"] == outcomes(1, 0, grew, 0.0, float(grew))


async def test_the_running_cohorts_scorecard_now(org: Org):
    card = (await org.ask(COHORT_CARD, {"c": org.cohort["C-NOW"], "on": None}))[
        "cohortScorecard"
    ]
    assert card["menteeCount"] == 3  # A1, B1, B2 (admitted 112 days ago)
    assert card["behaviouralChange"] == change(
        # R-01 (P3) achieved 35 days ago, due 30 days ago: on time. Q-01 (P5) due 5
        # days ago, not achieved: missed. A1's P6 has no milestone.
        milestones(2, 2, 1, 1, 1, 0.5, 1.0),
        # H01 4, H02 5 (P3): mean 4.5; B1's trend 1.0 is the only one.
        ratings(2, 4.5, 1.0),
    )
    # A1 counts from 2025-01-06 (first admission), so the 2025-08-01 promotion is
    # in: 1 of 3 promoted, nobody's role grew in this cohort's mentees (A2 is not
    # one of them).
    assert card["businessImpact"] == outcomes(3, 1, 0, 0.3333, 0.0)
    lines = {
        org.name_of(e["node"]["mentee"]["id"]): e["node"]["behaviouralChange"]
        for e in card["members"]["edges"]
    }
    assert lines == {
        "A1": {"milestones": milestones(0, 0, 0, 0, 0, None, None),
               "feedback": ratings(0, None, None)},
        "B1": {"milestones": milestones(1, 1, 1, 1, 0, 1.0, 1.0),
               "feedback": ratings(2, 4.5, 1.0)},
        "B2": {"milestones": milestones(1, 1, 0, 0, 1, 0.0, None),
               "feedback": ratings(0, None, None)},
    }  # fmt: skip


# -- health now and over 2025 ---------------------------------------------------------

HEALTHS = """query($c: ID) { relationshipHealths(first: 50, cohortId: $c) {
  edges { node { relationship { id } state reasons idle daysSinceSession
    cancellationStreak } } } }"""


async def test_the_health_of_every_relationship_now(org: Org):
    edges = (await org.ask(HEALTHS))["relationshipHealths"]["edges"]
    by_key = {
        next(k for k, v in org.relationship.items() if v == n["relationship"]["id"]): {
            f: n[f]
            for f in (
                "state",
                "reasons",
                "idle",
                "daysSinceSession",
                "cancellationStreak",
            )
        }
        for n in (e["node"] for e in edges)
    }
    concluded_2025 = {"state": "CONCLUDED", "reasons": ["concluded"], "idle": False}
    # P1 and P2 ended on 2025-09-30; their gap grows with today's date.
    for key in ("P1", "P2"):
        assert {f: by_key[key][f] for f in concluded_2025} == concluded_2025
    assert by_key["P1"]["cancellationStreak"] == 0  # S16 held last
    assert by_key["P2"]["cancellationStreak"] == 0  # T08 held last
    assert {k: v for k, v in by_key.items() if k not in ("P1", "P2")} == {
        # Every 14 days, started 105 days ago; last held 6 days ago (U08); held in
        # the last 90 days: U02-U08 = 7 of the 90 // 14 = 6 expected; check-in 20
        # days ago; two ratings (no trend to judge).
        "P3": {"state": "ON_TRACK", "reasons": [], "idle": False,
               "daysSinceSession": 6, "cancellationStreak": 0},
        # Ended 50 days ago; last held 84 days ago (V02), then a no-show (70) and a
        # cancellation (56) planned after it.
        "P4": {"state": "CONCLUDED", "reasons": ["concluded"], "idle": False,
               "daysSinceSession": 84, "cancellationStreak": 2},
        # Every 14 days: 33 days since W01 > 2 x 14, and a cancellation (19) and a
        # no-show (12) since: at risk for both. 33 < 45: not idle.
        "P5": {"state": "AT_RISK",
               "reasons": ["no_session_for_33_days", "cancellation_streak_2"],
               "idle": False, "daysSinceSession": 33, "cancellationStreak": 2},
        # Every 30 days: 40 days since X03 (not > 45, not > 60); held in the last 90
        # days X02, X03 = 2 of 3 (67 %); no check-in in the 100 days since its start.
        "P6": {"state": "NEEDS_CHECK_IN", "reasons": ["no_check_in_for_100_days"],
               "idle": False, "daysSinceSession": 40, "cancellationStreak": 0},
    }  # fmt: skip


HISTORY = """query($c: ID) { relationshipHealthHistory(from: "2025-01-31",
  to: "2025-10-31", every: MONTH, cohortId: $c) {
  date onTrack needsCheckIn atRisk tooEarly concluded total } }"""


def point(day, on_track=0, needs=0, at_risk=0, too_early=0, concluded=0):
    return {
        "date": day,
        "onTrack": on_track,
        "needsCheckIn": needs,
        "atRisk": at_risk,
        "tooEarly": too_early,
        "concluded": concluded,
        "total": on_track + needs + at_risk + too_early + concluded,
    }


async def test_the_ended_cohorts_health_month_by_month(org: Org):
    """P1 (every 14 days: at risk past 28 days without a session, needs a check-in
    past 21) and P2 (every 30: 60 and 45), both started 2025-01-13, judged at the
    end of each month's last day."""
    points = (await org.ask(HISTORY, {"c": org.cohort["C-2025"]}))[
        "relationshipHealthHistory"
    ]
    assert points == [
        # Both started 18 days before: too early (no at-risk signal: P1 held 01-20,
        # P2 01-27).
        point("2025-01-31", too_early=2),
        # P1: held 02-17 (11 days), 3 held in 46 days of 46 // 14 = 3 expected,
        # check-in 02-14. P2: held 02-24 (4 days), 2 held of 46 // 30 = 1, check-in
        # 02-20. Both on track.
        point("2025-02-28", on_track=2),
        # P1: held that very morning (S06). P2: 35 days since 02-24 (not > 45), one
        # cancellation (03-24), 2 held in 77 days of 77 // 30 = 2, check-in 02-20
        # (39 days). Both on track.
        point("2025-03-31", on_track=2),
        # P1: 16 days since 04-14, one cancellation (04-28), 6 held in 90 days of 6,
        # ratings 3, 4 then 4, 5 (rising), check-in 03-28 (33 days): on track.
        # P2: 65 days since 02-24 > 60 and a cancellation then a no-show: at risk.
        point("2025-04-30", on_track=1, at_risk=1),
        # P1: held 05-26 (the cancellation and no-show before it end the streak),
        # 5 of 6 held in 90 days: on track. P2: held 05-05 (26 days), but 1 held in
        # 90 days of 3 expected (33 %): needs a check-in.
        point("2025-05-31", on_track=1, needs=1),
        # P1: held 06-23, 4 of 6 (67 %), check-in 06-20: on track. P2: ratings 4, 4
        # then 2, 3 fell from 4 to 2.5, and 51 days since the 05-10 check-in: needs.
        point("2025-06-30", on_track=1, needs=1),
        # P1: 24 days since 07-07 > 21: needs. P2: ratings still fell (4, 4, 2, 3):
        # needs.
        point("2025-07-31", needs=2),
        # P1: 27 days since 08-04 > 21 (not > 28): needs. P2: 48 days since 07-14
        # > 45 (not > 60), ratings fell: needs.
        point("2025-08-31", needs=2),
        # Both ended on 2025-09-30.
        point("2025-09-30", concluded=2),
        point("2025-10-31", concluded=2),
    ]


# -- mentor impact per quarter ----------------------------------------------------------

IMPACT = """query($m: ID!, $q: String!) { mentorImpact(mentorId: $m, quarter: $q) {
  quarter sessionsHeld sessionsExpected mentorStatus activeDays milestonesAchieved
  meanRating ratings recognitions mentees { id } } }"""


def impact(quarter, held, expected, days, achieved, mean, count, mentee) -> dict:
    return {
        "quarter": quarter,
        "sessionsHeld": held,
        "sessionsExpected": expected,
        "mentorStatus": "ACTIVE",
        "activeDays": days,
        "milestonesAchieved": achieved,
        "meanRating": mean,
        "ratings": count,
        "recognitions": achieved,  # the milestones their mentees achieved
        "mentees": [{"id": mentee}],
    }


@pytest.mark.parametrize("quarter", ["2025Q1", "2025Q2", "2025Q3"])
async def test_mentor_impact_per_quarter(org: Org, quarter: str):
    """Days active: Q1 from the start (01-13) to 03-31 = 19 + 28 + 31 = 78; Q2 the
    whole 30 + 31 + 30 = 91; Q3 31 + 31 + 30 = 92 (the end day 09-30 counts).
    Expected = the days ÷ the cadence agreed (signed on the start day), rounded down.
    """
    a1, a2 = org.person["A1"], org.person["A2"]
    expected = {
        "M1": {
            # 78 / 14 = 5.57 → 5; S01-S06 held; M-01 achieved 03-25; F01 3, F02 4.
            "2025Q1": impact("2025Q1", 6, 5, 78, 1, 3.5, 2, a1),
            # 91 / 14 = 6.5 → 6; S07, S10, S11, S12 held (S08 cancelled, S09
            # missed); M-02 achieved 06-20; F03 4, F04 5, F05 5 → 14/3 = 4.67.
            "2025Q2": impact("2025Q2", 4, 6, 91, 1, 4.67, 3, a1),
            # 92 / 14 = 6.57 → 6; S13-S16 held; M-03 achieved 09-10; F06 5.
            "2025Q3": impact("2025Q3", 4, 6, 92, 1, 5.0, 1, a1),
        },
        "M2": {
            # 78 / 30 = 2.6 → 2; T01, T02 held (T03 cancelled 03-24); G01 4, G02 4.
            "2025Q1": impact("2025Q1", 2, 2, 78, 0, 4.0, 2, a2),
            # 91 / 30 = 3.03 → 3; T05, T06 held (T04 missed); N-01 never achieved;
            # G03 2, G04 3 → 2.5.
            "2025Q2": impact("2025Q2", 2, 3, 91, 0, 2.5, 2, a2),
            # 92 / 30 = 3.07 → 3; T07, T08 held; N-02 achieved 08-20; G05 4.
            "2025Q3": impact("2025Q3", 2, 3, 92, 1, 4.0, 1, a2),
        },
    }
    for mentor, quarters in expected.items():
        report = (await org.ask(IMPACT, {"m": org.person[mentor], "q": quarter}))[
            "mentorImpact"
        ]
        assert report == quarters[quarter], mentor


# -- equity -----------------------------------------------------------------------------

EQUITY = """{ equityReport(by: BUSINESS_UNIT) { dimension k suppressedGroups
  groups { group suppressed registered participants matched promoted }
  total { suppressed registered participants } } }"""


async def test_equity_of_a_ten_person_organisation_shows_no_group(org: Org):
    """Finance has A1, B1, M1, M4 (4 people), Operations B2, M3, N2 (3), Retail A2,
    M2, N1 (3): every group is below k = 5, the least a keyed threshold can be, so
    all are withheld, and so is the total, whose 4 participants (A1, A2, B1, B2)
    are below k too (docs/privacy.md). An organisation large enough for published
    equity figures, each worked out by hand as of three days, is planted in
    ``test_planted_equity.py``."""
    report = (await org.ask(EQUITY))["equityReport"]
    hidden = {
        "suppressed": True,
        "registered": None,
        "participants": None,
        "matched": None,
        "promoted": None,
    }
    assert report == {
        "dimension": "business_unit",
        "k": 5,
        "suppressedGroups": 3,
        "groups": [
            {"group": "Finance", **hidden},
            {"group": "Operations", **hidden},
            {"group": "Retail", **hidden},
        ],
        "total": {"suppressed": True, "registered": None, "participants": None},
    }
