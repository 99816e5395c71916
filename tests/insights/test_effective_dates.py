"""Insights places every fact at the day it happened, not the day it was recorded
(issue 20): pauses and resumptions, a pairing's end, a person's deactivation, an
intake's assessment, a cohort admission, and the health history built from them.

Each scenario records the facts late (an import of last year's programme, a pause
logged weeks after it began) and checks the figures by hand; where the event names
no day of its own, its recording still dates it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from services.insights.domain import equity, scorecard
from services.insights.domain import scorecard_parts as parts
from services.insights.domain.health import (
    assess,
    fold,
    impact,
    mentor_activity,
)
from services.insights.domain.health_history import counts_over
from services.insights.domain.scorecard_parts import Kept
from tests.insights.test_health_domain import (
    REGULAR,
    _impact_facts,
    at,
)

pytestmark = pytest.mark.unit

IMPORTED = at("2027-03-20")  # when last quarter's history was brought over


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=UTC)


def recorded_late(facts: list, when: datetime = IMPORTED) -> list:
    return [(kind, data, when) for kind, data, _at in facts]


# -- pauses and resumptions ----------------------------------------------------------


def _paused_late(dated: bool) -> list:
    """``_impact_facts`` with r-b's pause (11 Feb) and resumption (21 Feb) logged on
    20 March, naming their days or not."""
    out = []
    for kind, data, when in _impact_facts():
        if kind == "RelationshipPaused":
            data = {**data, **({"paused_on": "2027-02-11"} if dated else {})}
            when = IMPORTED
        elif kind == "RelationshipResumed":
            data = {**data, **({"resumed_on": "2027-02-21"} if dated else {})}
            when = IMPORTED
        out.append((kind, data, when))
    return out


def test_a_pause_logged_late_counts_from_its_own_days():
    rels = list(fold(_paused_late(dated=True)).values())
    # The hand count of test_expected_sessions_follow_the_agreed_cadence_...: r-a
    # 10.857 → 10, r-b 28 active days (1-10 Feb, 21 Feb - 10 Mar) / 10 → 2.
    assert impact("m-1", "2027Q1", rels).sessions_expected == 12
    # Without their days, the pause is dated by its recording (20 Mar, after r-b
    # concluded on 10 Mar): r-b's 38 days 1 Feb - 10 Mar / 10 → 3. Total 13.
    undated = list(fold(_paused_late(dated=False)).values())
    assert impact("m-1", "2027Q1", undated).sessions_expected == 13


# -- a pairing's end -----------------------------------------------------------------


def _ended(ended_on: str | None) -> list:
    data = {
        "pairing_id": "p-r-ok",
        "mentor_id": "m-1",
        "mentee_id": "e-1",
        "reason": "concluded",
    }
    if ended_on is not None:
        data["ended_on"] = ended_on
    return [*REGULAR, ("PairingEnded", data, IMPORTED)]


def test_a_pairing_ended_on_a_past_day_is_concluded_from_that_day():
    facts = fold(_ended("2027-02-10"))["r-ok"]
    assert assess(facts, end_of("2027-02-09")).state == "on_track"
    assert assess(facts, end_of("2027-02-10")).state == "concluded"
    points = [date(2027, 2, 3), date(2027, 2, 17)]
    history = counts_over(_ended("2027-02-10"), points, idle_days=45)
    assert [p["counts"]["concluded"] for p in history] == [0, 1]
    assert [p["counts"]["on_track"] for p in history] == [1, 0]
    # The mentor's quarter expects sessions up to the end only: 1 Jan - 10 Feb,
    # 41 days at 14 → 2 (to 31 Mar it would be 90 / 14 → 6).
    report = impact("m-1", "2027Q1", [facts])
    assert report.sessions_expected == 2 and report.active_days == 41


def test_an_end_without_its_day_is_dated_by_its_recording():
    facts = fold(_ended(None))["r-ok"]
    assert assess(facts, end_of("2027-03-19")).state == "at_risk"  # no session
    assert assess(facts, end_of("2027-03-20")).state == "concluded"


# -- a person's deactivation ---------------------------------------------------------


@pytest.mark.parametrize("field", ["deactivated_on", "effective_on"])
def test_a_deactivation_dated_in_the_past_counts_the_mentor_away_from_then(field):
    person = [
        (
            "PersonDeactivated",
            {"person_id": "m-1", "reason": "left", field: "2027-03-01"},
            at("2027-03-25"),
        ),
        ("PersonReactivated", {"person_id": "m-1"}, at("2027-03-15")),  # before
    ]
    away = mentor_activity("m-1", person, date(2027, 3, 31))
    assert away.away == [(date(2027, 3, 1), date(2027, 3, 15))]
    assert away.status == "active"
    assert mentor_activity("m-1", person, date(2027, 3, 10)).status == "deactivated"
    # Undated, the same deactivation counts from its recording (25 Mar).
    undated = [
        ("PersonDeactivated", {"person_id": "m-1"}, at("2027-03-25")),
    ]
    assert mentor_activity("m-1", undated, date(2027, 3, 31)).away == [
        (date(2027, 3, 25), None)
    ]
    # Impact of the regular pair: away 1-14 Mar, so 90 - 14 = 76 active days.
    rels = list(fold(REGULAR).values())
    assert impact("m-1", "2027Q1", rels, activity=away).active_days == 76


# -- health history from facts recorded later ----------------------------------------


def test_the_health_history_of_an_imported_relationship_equals_the_live_one():
    points = [date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 20)]
    live = counts_over(REGULAR, points, idle_days=45)
    imported = counts_over(recorded_late(REGULAR), points, idle_days=45)
    assert imported == live
    # 15 Dec: started 14 days before; then on track, its sessions every 14 days.
    assert [p["counts"]["too_early"] for p in live] == [1, 0, 0]
    assert [p["counts"]["on_track"] for p in live] == [0, 1, 1]


def test_ratings_given_in_the_past_are_read_at_their_given_at():
    rid = "r-ok"
    given = [
        (
            "FeedbackGiven",
            {
                "relationship_id": rid,
                "rating": r,
                "from_role": "mentee",
                "given_at": at(d).isoformat(),
            },
            IMPORTED,
        )
        for d, r in (
            ("2027-01-08", 5),
            ("2027-01-22", 5),
            ("2027-02-05", 3),
            ("2027-02-19", 3),
        )
    ]
    facts = fold([*REGULAR, *given])[rid]
    early = assess(facts, end_of("2027-02-10"))
    assert early.state == "on_track"  # three ratings by then: too few to fall
    fell = assess(facts, end_of("2027-02-25"))
    assert fell.reasons == ["ratings_fell_from_5_to_3"]
    report = impact("m-1", "2027Q1", [facts])
    assert (report.ratings, report.mean_rating) == (4, 4.0)


# -- scorecards: intakes assessed and admissions dated in the past -------------------

COHORT = "c-past"


def _programme() -> list[Kept]:
    """A cohort, its mentee and two intakes, all recorded on 1 Dec 2026 (an import),
    the reassessment recorded before the first assessment."""
    recorded = datetime(2026, 12, 1, 9, tzinfo=UTC)

    def fact(n: int, kind: str, data: dict) -> Kept:
        return Kept(f"f-{n}", kind, recorded.replace(minute=n), data)

    return [
        fact(
            0,
            "PersonRegistered",
            {"person_id": "e-1", "level": 5, "roles": ["mentee"]},
        ),
        fact(1, "CohortCreated", {"cohort_id": COHORT, "capacity": 5}),
        fact(
            2,
            "IntakeSubmitted",
            {
                "person_id": "e-1",
                "goals": [{"competency_id": "strategy", "current": 4, "target": 4}],
                "assessed_on": "2026-11-10",
            },
        ),
        fact(
            3,
            "ParticipantAdmitted",
            {
                "cohort_id": COHORT,
                "person_id": "e-1",
                "role": "mentee",
                "admitted_on": "2026-03-02",
            },
        ),
        fact(
            4,
            "IntakeSubmitted",
            {
                "person_id": "e-1",
                "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
                "assessed_on": "2026-03-05",
            },
        ),
    ]


def test_goals_are_read_in_the_order_they_were_assessed():
    facts = _programme()
    org = scorecard.fold(facts, until=end_of("2026-12-31"))
    card = scorecard.mentee_card(org, "e-1", end_of("2026-12-31"))
    assert card is not None
    (goal,) = card["skill_growth"]["goals"]
    assert (goal["baseline"], goal["latest"], goal["change"]) == (2, 4, 2)
    assert card["skill_growth"]["goals_reached"] == 1
    # As of the summer only the first assessment had happened.
    summer = scorecard.fold(facts, until=end_of("2026-07-01"))
    card = scorecard.mentee_card(summer, "e-1", end_of("2026-07-01"))
    assert card is not None
    assert card["skill_growth"]["goals"][0]["latest"] == 2
    assert card["skill_growth"]["goals_reached"] == 0
    assert not card["skill_growth"]["reassessed"]
    # The kept parts fold the same (the read "now" assembles them).
    kept = parts.assemble(s.slice for s in parts.parts_of(facts).values())
    assert kept is not None
    assert scorecard.mentee_card(
        kept, "e-1", end_of("2026-12-31")
    ) == scorecard.mentee_card(scorecard.fold(facts), "e-1", end_of("2026-12-31"))


def test_a_cohort_admitted_in_the_past_has_a_scorecard_as_of_then():
    facts = _programme()
    org = scorecard.fold(facts, until=end_of("2026-04-01"))
    assert org.admitted[COHORT] == {"e-1": date(2026, 3, 2)}
    card = scorecard.cohort_card(org, COHORT, end_of("2026-04-01"))
    assert card is not None and card["mentees"] == 1
    assert scorecard.programme_card(org, end_of("2026-04-01"))["cohorts"] == 1
    # Before the admission, the cohort (created in December) did not exist yet.
    before = scorecard.fold(facts, until=end_of("2026-03-01"))
    assert scorecard.cohort_card(before, COHORT, end_of("2026-03-01")) is None


def test_a_part_dated_ahead_of_now_says_so_in_its_latest_moment():
    ahead = Kept(
        "f-9",
        "CareerOutcomeRecorded",
        datetime(2026, 12, 1, 9, tzinfo=UTC),
        {"person_id": "e-1", "kind": "promotion", "effective_on": "2027-01-01"},
    )
    state = parts.state_of([ahead])
    assert state.latest == "2027-01-01T00:00:00+00:00"


# -- equity: joining and matching by their own days ----------------------------------


def test_equity_dates_an_admission_and_a_confirmation_by_the_days_they_happened():
    row = equity.new_row("e-1")
    recorded = "2026-12-01T09:00:00+00:00"
    row = equity.apply(
        row,
        "e-1",
        "ParticipantAdmitted",
        {
            "cohort_id": COHORT,
            "person_id": "e-1",
            "role": "mentee",
            "admitted_on": "2026-03-02",
        },
        recorded,
    )
    pairing = {"pairing_id": "p-1", "mentor_id": "m-1", "mentee_id": "e-1"}
    row = equity.apply(
        row,
        "e-1",
        "PairingConfirmed",
        {**pairing, "cohort_id": COHORT, "starts_on": "2026-03-16"},
        recorded,
    )
    row = equity.apply(
        row, "e-1", "PairingEnded", {**pairing, "ended_on": "2026-10-30"}, recorded
    )
    assert row["cohorts"][COHORT]["admitted_at"].startswith("2026-03-02")
    assert row["pairings"]["p-1"]["confirmed_at"].startswith("2026-03-16")
    assert row["pairings"]["p-1"]["ended_at"].startswith("2026-10-30")
    # A start set ahead of the confirmation: confirmed when it was recorded.
    ahead = equity.apply(
        row,
        "e-1",
        "PairingConfirmed",
        {**pairing, "pairing_id": "p-2", "starts_on": "2027-01-04"},
        recorded,
    )
    assert ahead["pairings"]["p-2"]["confirmed_at"] == recorded
