"""Every list and batch read of insights sends as many SQL statements for 50 items as
for 1 (issue 19: constant SQL per request).

The organisation grows from 1 to 50 pairs (mentee and mentor registered, admitted to
one cohort, paired, a relationship with a session, a milestone, a feedback, an intake
and an outcome each); each read is counted at both sizes with the engine's own
statement events. No broker: facts go through the consumer's own handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.envelope import Envelope
from chassis.events import utcnow
from tests.insights.test_admin_scope import client_for
from tests.insights.test_rebuild import app, apply_live  # noqa: F401
from tests.profiles.conftest import token
from tests.support.statements import assert_constant, counted

Read = Callable[[], Awaitable[httpx.Response]]
COHORT = "cohort-1"


def pair(tenant: str, n: int) -> list[Envelope]:
    """Everything one pair of the organisation did, as facts."""
    now = utcnow()
    start = now - timedelta(days=60)
    mentee, mentor, rel = f"mentee-{n}", f"mentor-{n}", f"rel-{n}"
    facts: list[tuple[str, dict, object]] = [
        *(
            (
                "PersonRegistered",
                {
                    "person_id": p,
                    "level": 5,
                    "business_unit": f"bu-{n % 3}",
                    "function": "finance",
                    "geography": "FR",
                    "time_zone": "Europe/Paris",
                    "roles": [role],
                },
                start - timedelta(days=30),
            )
            for p, role in ((mentee, "mentee"), (mentor, "mentor"))
        ),
        *(
            (
                "ParticipantAdmitted",
                {"cohort_id": COHORT, "person_id": p, "role": role},
                start - timedelta(days=10),
            )
            for p, role in ((mentee, "mentee"), (mentor, "mentor"))
        ),
        (
            "IntakeSubmitted",
            {
                "person_id": mentee,
                "goals": [{"competency_id": "c1", "current": 2, "target": 4}],
                "hours_per_month": 4,
            },
            start - timedelta(days=5),
        ),
        (
            "PairingConfirmed",
            {
                "pairing_id": f"pair-{n}",
                "mentor_id": mentor,
                "mentee_id": mentee,
                "cohort_id": COHORT,
                "programme_type": "standard",
            },
            start - timedelta(days=1),
        ),
        (
            "RelationshipStarted",
            {
                "relationship_id": rel,
                "pairing_id": f"pair-{n}",
                "mentor_id": mentor,
                "mentee_id": mentee,
                "cohort_id": COHORT,
                "starts_on": start.date().isoformat(),
                "planned_end_on": (start + timedelta(days=180)).date().isoformat(),
            },
            start,
        ),
        (
            "SessionHeld",
            {"relationship_id": rel, "session_id": f"s-{n}"},
            start + timedelta(days=14),
        ),
        (
            "MilestoneSet",
            {
                "milestone_id": f"ms-{n}",
                "relationship_id": rel,
                "mentee_id": mentee,
                "due_on": (start + timedelta(days=30)).date().isoformat(),
            },
            start + timedelta(days=2),
        ),
        (
            "MilestoneAchieved",
            {
                "milestone_id": f"ms-{n}",
                "relationship_id": rel,
                "mentee_id": mentee,
                "achieved_on": (start + timedelta(days=20)).date().isoformat(),
                "on_time": True,
            },
            start + timedelta(days=20),
        ),
        (
            "FeedbackGiven",
            {
                "feedback_id": f"fb-{n}",
                "relationship_id": rel,
                "from_role": "mentee",
                "rating": 4,
            },
            start + timedelta(days=15),
        ),
        (
            "CareerOutcomeRecorded",
            {
                "person_id": mentee,
                "kind": "promotion",
                "effective_on": (now - timedelta(days=3)).date().isoformat(),
            },
            now - timedelta(days=3),
        ),
    ]
    return [
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/test",
            type=kind,
            subject=str(data.get("person_id") or data.get("relationship_id") or "x"),
            time=at,  # type: ignore[arg-type]
            data=data,
            tenant=tenant,
        )
        for kind, data, at in facts
    ]


def timeless(answer: Any) -> Any:
    """``answer`` without its ``as_of`` ("now", when not asked, differs per read)."""
    if isinstance(answer, dict):
        return {k: timeless(v) for k, v in answer.items() if k != "as_of"}
    if isinstance(answer, list):
        return [timeless(v) for v in answer]
    return answer


async def test_every_list_and_batch_read_is_constant_in_statements(app):  # noqa: F811
    tenant = f"sc-{uuid.uuid4().hex[:8]}"
    engine: AsyncEngine = app.state.runtime.engine
    coordinator = token(tenant, "coordinator")
    sponsor = token(tenant, "sponsor", sub="sponsor-1")
    created = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="CohortCreated",
        subject=COHORT,
        time=utcnow() - timedelta(days=120),
        data={"cohort_id": COHORT, "name": "One", "capacity": 100},
        tenant=tenant,
    )
    await apply_live(app, [created])
    size = 0
    today = utcnow().date()
    quarter_ago = (today - timedelta(days=90)).isoformat()

    async def grow(to: int) -> None:
        nonlocal size
        await apply_live(app, [e for n in range(size, to) for e in pair(tenant, n)])
        size = to

    def ids(prefix: str) -> list[str]:
        return [f"{prefix}-{n}" for n in range(size)]

    async with client_for(app) as client:
        reads: dict[str, Read] = {
            "GET /relationships/health": lambda: client.get(
                "/relationships/health", headers=coordinator
            ),
            "POST /relationships/health/batch": lambda: client.post(
                "/relationships/health/batch",
                json={"ids": ids("rel")},
                headers=coordinator,
            ),
            "POST /scorecards/mentees/batch": lambda: client.post(
                "/scorecards/mentees/batch",
                json={"ids": ids("mentee")},
                headers=coordinator,
            ),
            "GET /scorecards/mentees/{id}": lambda: client.get(
                "/scorecards/mentees/mentee-0", headers=coordinator
            ),
            "POST /scorecards/mentees/batch (as of)": lambda: client.post(
                "/scorecards/mentees/batch",
                json={"ids": ids("mentee"), "as_of": today.isoformat()},
                headers=coordinator,
            ),
            "GET /scorecards/cohorts/{id} (members)": lambda: client.get(
                f"/scorecards/cohorts/{COHORT}", headers=sponsor
            ),
            "GET /scorecards/cohorts/{id} (members, as of)": lambda: client.get(
                f"/scorecards/cohorts/{COHORT}",
                params={"as_of": today.isoformat()},
                headers=sponsor,
            ),
            "GET /scorecards/programme": lambda: client.get(
                "/scorecards/programme", headers=sponsor
            ),
            "GET /equity": lambda: client.get("/equity", headers=coordinator),
            "GET /patterns": lambda: client.get("/patterns", headers=coordinator),
            "GET /operations": lambda: client.get("/operations", headers=coordinator),
            "GET /relationships/health/history": lambda: client.get(
                "/relationships/health/history",
                params={"from": quarter_ago, "to": today.isoformat()},
                headers=coordinator,
            ),
        }
        measured: dict[int, dict[str, list[str]]] = {}
        answers: dict[int, dict[str, dict]] = {}
        for length in (1, 50):
            await grow(length)
            measured[length], answers[length] = {}, {}
            for name, read in reads.items():
                # caches warm, as for any later request; nothing listens to the
                # engine, so its reads run on the driver (``chassis.db.read``)
                unwatched = await read()
                async with counted(engine) as statements:
                    resp = await read()
                assert resp.status_code == 200, (name, resp.text)
                if "scorecards/mentees" in name:  # the same answer either way
                    assert timeless(unwatched.json()) == timeless(resp.json()), name
                measured[length][name] = list(statements)
                answers[length][name] = resp.json()

    # The lists really grew.
    big = answers[50]
    assert len(big["GET /relationships/health"]["items"]) == 50
    assert len(big["POST /relationships/health/batch"]["items"]) == 50
    assert all("card" in i for i in big["POST /scorecards/mentees/batch"]["items"])
    assert len(big["POST /scorecards/mentees/batch"]["items"]) == 50
    assert len(big["GET /scorecards/cohorts/{id} (members)"]["members"]) == 50
    assert big["GET /scorecards/programme"]["mentees"] == 50
    assert big["GET /relationships/health/history"]["points"][-1]["total"] == 50
    print(
        "statements per read (1 → 50):",
        {n: f"{len(measured[1][n])}→{len(measured[50][n])}" for n in reads},
    )
    for name in reads:
        assert_constant(name, measured[1][name], measured[50][name])
    # A mentee's card now is read from the kept parts: the revocation view, then
    # the tenant's parts in one statement; no fact is read.
    kept = measured[50]["GET /scorecards/mentees/{id}"]
    assert len(kept) == 2, kept
    assert "FROM scorecard_parts" in kept[1], kept
    assert not [s for s in kept if " FROM facts " in f"{s} "], kept
