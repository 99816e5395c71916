"""Relationships by health state over time (``GET /relationships/health/history``).

The integration test plants four relationships over nine weeks on real PostgreSQL and
Kafka and checks every point against counts worked out by hand from the rules in
``services.insights.domain.health``; the unit test checks the point-by-point fold
against a fresh ``fold`` + ``assess`` at every point.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.insights.domain import health as domain
from services.insights.domain.health_history import STATES, counts_over, end_of, points
from tests.insights.conftest import event, publish, until_facts
from tests.profiles.conftest import token

TENANT = f"history-{uuid.uuid4().hex[:8]}"
COORDINATOR = token(TENANT, "coordinator")
RANGE = "from=2025-03-03&to=2025-05-05"


def at(month: int, day: int) -> datetime:
    return datetime(2025, month, day, 10, tzinfo=UTC)


def fact(kind: str, rid: str, data: dict, when: datetime):
    return event(
        "sessions", kind, rid, {"relationship_id": rid, **data}, at=when, tenant=TENANT
    )


def started(rid: str, mentee: str, when: datetime, cohort: str = "cohort-1"):
    data = {
        "pairing_id": f"pair-{rid}",
        "mentor_id": f"mentor-{rid}",
        "mentee_id": mentee,
        "cohort_id": cohort,
        "starts_on": when.date().isoformat(),
        "planned_end_on": "2026-03-01",
    }
    return fact("RelationshipStarted", rid, data, when)


def fortnightly(rid: str, when: datetime):
    cadence = {"every_days": 14, "minutes": 60}
    return [
        fact("ContractDrafted", rid, {"version": 1, "cadence": cadence}, when),
        fact("ContractInForce", rid, {"version": 1}, when),
    ]


def held(rid: str, when: datetime):
    data = {"session_id": f"{rid}-{when:%m%d}", "held_at": when.isoformat()}
    return fact("SessionHeld", rid, data, when)


def cancelled(rid: str, when: datetime):
    return fact("SessionCancelled", rid, {"session_id": f"{rid}-c{when:%m%d}"}, when)


def counts(**given: int) -> dict[str, int]:
    return {s: given.get(s, 0) for s in STATES}


# Worked out by hand (cadence 14 days for A and B, 30 for C and D):
# A steady: too early for 4 weeks, then on track (a check-in on 1 April).
# B stalls after one session: on track at 4 weeks (gap 21 is not > 21), needs a
#   check-in on 7 April (gap 28 > 21), at risk from 14 April (gap 35 > 28, and two
#   cancellations in a row).
# C starts on 7 April in cohort-2: too early until on track on 5 May (age 28).
# D never meets: on track at 4 weeks, needs a check-in on 7 and 14 April (0 of 1
#   expected session held), concluded on 15 April.
EXPECTED = {
    "2025-03-03": counts(too_early=3),
    "2025-03-10": counts(too_early=3),
    "2025-03-17": counts(too_early=3),
    "2025-03-24": counts(too_early=3),
    "2025-03-31": counts(on_track=3),
    "2025-04-07": counts(on_track=1, needs_check_in=2, too_early=1),
    "2025-04-14": counts(on_track=1, needs_check_in=1, at_risk=1, too_early=1),
    "2025-04-21": counts(on_track=1, at_risk=1, too_early=1, concluded=1),
    "2025-04-28": counts(on_track=1, at_risk=1, too_early=1, concluded=1),
    "2025-05-05": counts(on_track=2, at_risk=1, concluded=1),
}


@pytest.mark.kafka
async def test_counts_by_state_over_weeks_match_the_hand_worked_ones(
    insights, kafka_bootstrap
):
    app, client = insights
    a, b, c, d, e = (f"rel-{x}-{uuid.uuid4().hex[:6]}" for x in "abcde")
    erased_mentee = f"mentee-{e}"
    planted = [
        started(a, f"mentee-{a}", at(3, 3)),
        *fortnightly(a, at(3, 3)),
        *(held(a, at(m, d)) for m, d in ((3, 10), (3, 24), (4, 7), (4, 21), (5, 5))),
        fact("CheckInRecorded", a, {"held_on": "2025-04-01"}, at(4, 1)),
        started(b, f"mentee-{b}", at(3, 3)),
        *fortnightly(b, at(3, 3)),
        held(b, at(3, 10)),
        cancelled(b, at(4, 1)),
        cancelled(b, at(4, 8)),
        started(c, f"mentee-{c}", at(4, 7), cohort="cohort-2"),
        held(c, at(4, 14)),
        started(d, f"mentee-{d}", at(3, 3)),
        fact("RelationshipConcluded", d, {"reason": "completed"}, at(4, 15)),
        started(e, erased_mentee, at(3, 3)),
        held(e, at(3, 10)),
    ]
    await publish(kafka_bootstrap, planted)
    await until_facts(app, len(planted))

    before = await client.get(
        f"/relationships/health/history?{RANGE}", headers=COORDINATOR
    )
    assert before.status_code == 200, before.text
    # E (started 3 March, one session) is counted, before and after its mentee's
    # erasure.
    assert before.json()["points"][0]["counts"] == counts(too_early=4)

    await publish(
        kafka_bootstrap,
        [
            event(
                "profiles",
                "PersonErased",
                erased_mentee,
                {"person_id": erased_mentee, "erased_at": "2025-06-01T00:00:00+00:00"},
                tenant=TENANT,
            )
        ],
    )
    await until_facts(app, 0)

    body = (
        await client.get(
            f"/relationships/health/history?{RANGE}&every=week", headers=COORDINATOR
        )
    ).json()
    assert body["states"] == list(STATES)
    # E is still its mentor's relationship: counted as before, its mentee now a
    # pseudonym. Without E (its state each day, as of that day), the hand-worked A-D.
    assert body["points"] == before.json()["points"]
    without_e = {}
    for point in body["points"]:
        e_then = (
            await client.get(
                f"/relationships/{e}/health?as_of={point['date']}",
                headers=COORDINATOR,
            )
        ).json()
        assert e_then["mentee_id"].startswith("erased-")
        assert erased_mentee not in str(e_then)
        without_e[point["date"]] = {
            s: n - (s == e_then["state"]) for s, n in point["counts"].items()
        }
    assert without_e == EXPECTED
    assert [p["date"] for p in body["points"]] == sorted(EXPECTED)  # oldest first
    assert body["points"][-1]["total"] == 5

    # The same answer as one relationship's health "as of" that day.
    as_of = await client.get(
        f"/relationships/{b}/health?as_of=2025-04-07", headers=COORDINATOR
    )
    assert as_of.json()["state"] == "needs_check_in"

    cohort_2 = (
        await client.get(
            f"/relationships/health/history?{RANGE}&cohort_id=cohort-2",
            headers=token(TENANT, "sponsor", sub="sponsor-1"),
        )
    ).json()["points"]
    assert [p["total"] for p in cohort_2] == [0] * 5 + [1] * 5
    assert cohort_2[-1]["counts"] == counts(on_track=1)

    monthly = (
        await client.get(
            "/relationships/health/history?from=2025-02-01&to=2025-05-05&every=month",
            headers=token(TENANT, "admin", sub="admin-1"),
        )
    ).json()["points"]
    assert [p["date"] for p in monthly] == [
        "2025-02-05",
        "2025-03-05",
        "2025-04-05",
        "2025-05-05",
    ]
    assert monthly[0]["counts"] == counts()  # nothing had started yet
    assert monthly[-1]["counts"] == body["points"][-1]["counts"]  # A-D and E


@pytest.mark.kafka
async def test_bad_ranges_are_typed_422s_and_the_pair_may_not_look(insights):
    _app, client = insights
    url = "/relationships/health/history"
    for query, field in (
        ("from=2025-05-05&to=2025-03-03", "from"),
        ("from=2025-02-30&to=2025-03-03", "from"),
        ("from=2020-01-01&to=2025-03-03", "from"),  # far more than 60 weeks
        ("from=2025-01-01&to=2025-03-03&every=day", "every"),
        ("to=2025-03-03", "from"),
    ):
        resp = await client.get(f"{url}?{query}", headers=COORDINATOR)
        assert resp.status_code == 422, query
        problem = resp.json()
        assert problem["code"] == "ValidationError", query
        assert any(field in err["path"] for err in problem["errors"]), problem
    for role in ("mentee", "mentor"):
        resp = await client.get(
            f"{url}?{RANGE}", headers=token(TENANT, role, sub=f"{role}-1")
        )
        assert resp.status_code == 403
        assert resp.json()["code"] == "Forbidden"


def test_points_step_back_from_the_end_and_clamp_month_days():
    assert points(date(2025, 1, 1), date(2025, 3, 31), "month") == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
    ]
    assert points(date(2025, 3, 1), date(2025, 3, 20), "week") == [
        date(2025, 3, 6),
        date(2025, 3, 13),
        date(2025, 3, 20),
    ]
    assert len(points(date(2024, 4, 1), date(2025, 5, 5), "week")) == 58


def test_advancing_the_fold_equals_folding_afresh_at_every_point():
    rng = random.Random(7)
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    facts: list[tuple[str, dict, datetime]] = []
    for n in range(40):
        rid, pairing = f"r{n}", f"p{n}"
        begins = start + timedelta(days=rng.randint(0, 120))
        if n % 7 == 0:  # the pairing ends before its relationship's start arrives
            facts.append(("PairingEnded", {"pairing_id": pairing}, begins))
        data = {"relationship_id": rid, "pairing_id": pairing, "mentor_id": "m"}
        data |= {"mentee_id": f"e{n}", "cohort_id": f"c{n % 2}"}
        facts.append(("RelationshipStarted", data, begins))
        when = begins
        for s in range(rng.randint(0, 8)):
            when += timedelta(days=rng.randint(3, 40))
            kind = rng.choice(["SessionHeld", "SessionHeld", "SessionCancelled"])
            facts.append((kind, {"relationship_id": rid, "session_id": f"{s}"}, when))
        if n % 5 == 0:
            ended = when + timedelta(days=10)
            facts.append(("RelationshipConcluded", {"relationship_id": rid}, ended))
    facts.sort(key=lambda f: f[2])
    days = points(date(2025, 1, 1), date(2025, 12, 31), "week")

    for cohort in (None, "c1"):
        advanced = counts_over(facts, days, idle_days=45, cohort_id=cohort)
        for day, point in zip(days, advanced, strict=True):
            cut = end_of(day)
            known = domain.fold([f for f in facts if f[2] <= cut])
            expected = counts()
            for f in known.values():
                if f.mentor_id and domain.day_of(f.started_at) <= day:
                    if cohort is None or f.cohort_id == cohort:
                        expected[domain.assess(f, cut).state] += 1
            assert point["counts"] == expected, day
