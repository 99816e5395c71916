"""Relationship health and mentor impact from planted facts, checked by hand."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from services.insights.domain.health import (
    assess,
    fold,
    impact,
    mentor_activity,
    quarter_bounds,
)
from services.insights.domain.health_history import counts_over

AS_OF = datetime(2027, 3, 1, 12, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00")


def started(rid: str, on: str, mentor: str = "m-1", mentee: str = "e-1") -> list:
    return [
        (
            "RelationshipStarted",
            {
                "relationship_id": rid,
                "pairing_id": f"p-{rid}",
                "mentor_id": mentor,
                "mentee_id": mentee,
                "cohort_id": "c-1",
                "starts_on": on,
                "planned_end_on": "2027-12-31",
            },
            at(on),
        )
    ]


def contract(rid: str, every_days: int, on: str) -> list:
    cadence = {"every_days": every_days, "minutes": 60}
    return [
        (
            "ContractDrafted",
            {"relationship_id": rid, "version": 1, "cadence": cadence},
            at(on),
        ),
        ("ContractInForce", {"relationship_id": rid, "version": 1}, at(on)),
    ]


def held(rid: str, *days: str) -> list:
    return [
        (
            "SessionHeld",
            {
                "relationship_id": rid,
                "session_id": f"{rid}-{d}",
                "held_at": at(d).isoformat(),
            },
            at(d),
        )
        for d in days
    ]


def cancelled(rid: str, *days: str) -> list:
    return [
        (
            "SessionCancelled",
            {"relationship_id": rid, "session_id": f"{rid}-x{d}"},
            at(d),
        )
        for d in days
    ]


def rated(rid: str, *ratings: tuple[str, int], role: str = "mentee") -> list:
    return [
        (
            "FeedbackGiven",
            {"relationship_id": rid, "rating": r, "from_role": role},
            at(d),
        )
        for d, r in ratings
    ]


def check_in(rid: str, on: str) -> list:
    return [("CheckInRecorded", {"relationship_id": rid, "held_on": on}, at(on))]


REGULAR = (
    started("r-ok", "2026-12-01")
    + contract("r-ok", 14, "2026-12-01")
    + held(
        "r-ok",
        "2026-12-10",
        "2026-12-24",
        "2027-01-07",
        "2027-01-21",
        "2027-02-04",
        "2027-02-18",
    )
    + check_in("r-ok", "2027-02-01")
)
STALLED = (
    started("r-stalled", "2026-12-01")
    + contract("r-stalled", 14, "2026-12-01")
    + held("r-stalled", "2027-01-18")
    + cancelled("r-stalled", "2027-01-29", "2027-02-12")
)


def test_a_stalled_pair_is_at_risk_for_the_gap_and_the_cancellations():
    health = assess(fold(STALLED)["r-stalled"], AS_OF)
    # 18 Jan → 1 Mar is 42 days, more than twice the 14-day cadence.
    assert health.state == "at_risk"
    assert health.reasons == ["no_session_for_42_days", "cancellation_streak_2"]
    assert (health.days_since_session, health.cancellation_streak) == (42, 2)
    assert not health.idle


def test_idle_past_the_configured_limit_is_flagged_for_conclusion():
    health = assess(fold(STALLED)["r-stalled"], AS_OF, idle_days=40)
    assert health.idle
    assert health.reasons[-1] == "idle_for_42_days"


def test_a_fresh_pair_is_too_early_to_tell():
    health = assess(fold(started("r-new", "2027-02-20"))["r-new"], AS_OF)
    assert (health.state, health.reasons) == ("too_early", ["started_9_days_ago"])


def test_a_regular_pair_is_on_track():
    health = assess(fold(REGULAR)["r-ok"], AS_OF)
    assert (health.state, health.reasons) == ("on_track", [])
    assert health.days_since_session == 11


def test_falling_ratings_call_for_a_check_in():
    facts = REGULAR + rated(
        "r-ok",
        ("2027-01-08", 5),
        ("2027-01-22", 4),
        ("2027-02-05", 3),
        ("2027-02-19", 2),
    )
    health = assess(fold(facts)["r-ok"], AS_OF)
    assert (health.state, health.reasons) == (
        "needs_check_in",
        ["ratings_fell_from_4.5_to_2.5"],
    )


def test_an_open_escalation_is_at_risk_until_resolved():
    raised = [
        (
            "EscalationRaised",
            {"relationship_id": "r-ok", "escalation_id": "x-1"},
            at("2027-02-20"),
        )
    ]
    resolved = [
        (
            "EscalationResolved",
            {"relationship_id": "r-ok", "escalation_id": "x-1"},
            at("2027-02-25"),
        )
    ]
    assert assess(fold(REGULAR + raised)["r-ok"], AS_OF).reasons == [
        "open_escalations_1"
    ]
    assert assess(fold(REGULAR + raised + resolved)["r-ok"], AS_OF).state == "on_track"


def test_check_ins_on_one_day_are_kept_once_and_read_as_that_day():
    # A relationship's folded facts are stored in its row and read and written
    # again with each new fact: check-ins of a day already known add nothing.
    again = check_in("r-ok", "2027-02-01") * 50 + check_in("r-ok", "2027-01-10")
    facts = fold(REGULAR + again)["r-ok"]
    assert facts.check_ins == ["2027-02-01", "2027-01-10"]
    assert assess(facts, AS_OF) == assess(fold(REGULAR)["r-ok"], AS_OF)
    # As of before the later day, the earlier one is the last check-in.
    early = datetime(2027, 1, 25, tzinfo=UTC)
    assert assess(facts, early) == assess(
        fold(REGULAR[:-1] + check_in("r-ok", "2027-01-10"))["r-ok"], early
    )


def test_health_as_of_an_earlier_date_ignores_what_came_later():
    # As of 20 Jan: last session 2 days ago, but 1 of the 3 sessions a 14-day cadence
    # expects in 50 days (33 %), and no check-in since the start 50 days ago.
    health = assess(fold(STALLED)["r-stalled"], datetime(2027, 1, 20, tzinfo=UTC))
    assert health.state == "needs_check_in"
    assert health.reasons == ["cadence_adherence_33_pct", "no_check_in_for_50_days"]


def test_the_order_facts_arrive_in_does_not_change_health():
    shuffled = list(STALLED)
    random.Random(7).shuffle(shuffled)
    assert assess(fold(shuffled)["r-stalled"], AS_OF) == assess(
        fold(STALLED)["r-stalled"], AS_OF
    )


def achieved(rid: str, milestone: str, on: str) -> list:
    data = {"relationship_id": rid, "milestone_id": milestone, "achieved_on": on}
    return [("MilestoneAchieved", data, at(on))]


def test_a_contract_in_force_before_its_draft_arrives_still_sets_the_cadence():
    drafted, in_force = contract("r-stalled", 14, "2026-12-01")
    facts = [e for e in STALLED if e[0] not in ("ContractDrafted", "ContractInForce")]
    health = assess(fold([in_force, *facts, drafted])["r-stalled"], AS_OF)
    # 42 days is past twice the 14-day cadence (not past twice the default 30).
    assert health.reasons == ["no_session_for_42_days", "cancellation_streak_2"]


def test_mentor_impact_for_a_quarter_equals_the_hand_count():
    facts = [
        *REGULAR,
        *achieved("r-ok", "ms-1", "2027-02-10"),
        *achieved("r-ok", "ms-0", "2026-12-20"),  # last quarter
        *rated("r-ok", ("2027-01-08", 5), ("2027-02-05", 4)),
        *rated("r-ok", ("2027-02-05", 1), role="mentor"),  # not received by m-1
        *started("r-two", "2027-02-01", mentee="e-2"),
        *held("r-two", "2027-02-15"),
        *rated("r-two", ("2027-02-16", 3)),
        *achieved("r-two", "ms-2", "2027-03-30"),
        *started("r-other", "2027-01-01", mentor="m-2", mentee="e-3"),
        *held("r-other", "2027-01-05"),
    ]
    report = impact("m-1", "2027Q1", list(fold(facts).values()))
    assert report.mentees == ["e-1", "e-2"]
    # r-ok: 4 held in Q1, 90 days // 14 = 6 expected; r-two: 1 held, 59 // 30 = 1.
    assert (report.sessions_held, report.sessions_expected) == (5, 7)
    assert report.milestones_achieved == report.recognitions == 2
    assert (report.mean_rating, report.ratings) == (4.0, 3)


def test_quarters_have_their_calendar_bounds():
    assert [d.isoformat() for d in quarter_bounds("2027Q1")] == [
        "2027-01-01",
        "2027-03-31",
    ]
    assert [d.isoformat() for d in quarter_bounds("2026q4")] == [
        "2026-10-01",
        "2026-12-31",
    ]


def scheduled(rid: str, sid: str, starts: str, recorded: str, sequence=0) -> list:
    data = {
        "relationship_id": rid,
        "session_id": sid,
        "starts_at": at(starts).isoformat(),
        "minutes": 60,
        "scheduled_by": "m-1",
        "sequence": sequence,
    }
    kind = "SessionRescheduled" if sequence else "SessionScheduled"
    return [(kind, data, at(recorded))]


def missed(rid: str, sid: str, recorded: str) -> list:
    data = {"relationship_id": rid, "session_id": sid, "absent_ids": ["e-1"]}
    return [("SessionMissed", data, at(recorded))]


def test_misses_before_the_last_held_session_make_no_streak():
    # Sessions planned on day -7 and -6 (22 and 23 Feb) were missed, but both
    # misses were reported on day 0 (1 Mar, after the session held on day -4, 25 Feb):
    # they came before the session held, so the streak is 0 and nothing is at risk.
    facts = (
        REGULAR
        + scheduled("r-ok", "s-7", "2027-02-22", "2027-02-10")
        + scheduled("r-ok", "s-6", "2027-02-23", "2027-02-10")
        + held("r-ok", "2027-02-25")
        + missed("r-ok", "s-7", "2027-03-01")
        + missed("r-ok", "s-6", "2027-03-01")
    )
    health = assess(fold(facts)["r-ok"], AS_OF)
    assert (health.state, health.reasons) == ("on_track", [])
    assert (health.days_since_session, health.cancellation_streak) == (4, 0)
    # As of 24 Feb (before the session held) the two misses were the latest: a
    # no-show happened at its session, whenever it was reported.
    before = assess(fold(facts)["r-ok"], datetime(2027, 2, 24, 23, tzinfo=UTC))
    assert before.cancellation_streak == 2
    assert "cancellation_streak_2" in before.reasons


def test_a_streak_follows_the_planned_order_of_sessions():
    # Held 25 Feb; s-a (planned 20 Feb, moved to 27 Feb by a reschedule) and s-b
    # (planned 28 Feb) cancelled on 26 Feb: both come after the held one (2), and
    # a cancellation made ahead of time counts once it was made.
    facts = (
        REGULAR
        + scheduled("r-ok", "s-a", "2027-02-20", "2027-02-01")
        + scheduled("r-ok", "s-a", "2027-02-27", "2027-02-15", sequence=1)
        + scheduled("r-ok", "s-b", "2027-02-28", "2027-02-01")
        + held("r-ok", "2027-02-25")
        + cancelled("r-ok", "2027-02-26")  # a session of unknown schedule: its day
    )
    facts += [
        ("SessionCancelled", {"relationship_id": "r-ok", "session_id": s}, at(d))
        for s, d in (("s-a", "2027-02-26"), ("s-b", "2027-02-26"))
    ]
    health = assess(fold(facts)["r-ok"], AS_OF)
    assert health.cancellation_streak == 3
    shuffled = list(facts)
    random.Random(3).shuffle(shuffled)
    assert assess(fold(shuffled)["r-ok"], AS_OF) == health


def test_the_health_history_follows_the_planned_order_of_sessions():
    facts = (
        REGULAR
        + scheduled("r-ok", "s-7", "2027-02-22", "2027-02-10")
        + scheduled("r-ok", "s-6", "2027-02-23", "2027-02-10")
        + held("r-ok", "2027-02-25")
        + missed("r-ok", "s-7", "2027-03-01")
        + missed("r-ok", "s-6", "2027-03-01")
    )
    facts.sort(key=lambda f: f[2])
    days = [date(2027, 2, 24), date(2027, 3, 1)]
    got = counts_over(facts, days, idle_days=45)
    # 24 Feb: the two no-shows (22 and 23 Feb, reported 1 Mar) had happened, as
    # the health as of that day says (effective dates, issue 20): at risk; 1 Mar:
    # the misses came before the session held on 25 Feb: on track.
    assert [p["counts"]["at_risk"] for p in got] == [1, 0]
    assert [p["counts"]["on_track"] for p in got] == [0, 1]
    as_of = assess(fold(facts)["r-ok"], datetime(2027, 2, 24, 23, tzinfo=UTC))
    assert as_of.state == "at_risk"


# -- mentor impact: the agreed cadence over the days a relationship was active ------


def _impact_facts() -> list:
    cadence_7 = {"every_days": 7, "minutes": 60}
    return [
        # r-a: 14-day contract in force since November, a 7-day one from 29 Jan.
        *started("r-a", "2026-11-01"),
        *contract("r-a", 14, "2026-11-01"),
        (
            "ContractDrafted",
            {"relationship_id": "r-a", "version": 2, "cadence": cadence_7},
            at("2027-01-20"),
        ),
        ("ContractInForce", {"relationship_id": "r-a", "version": 2}, at("2027-01-29")),
        *held("r-a", "2027-01-10", "2027-02-01", "2027-02-08"),
        # r-b: 10-day contract from 1 Feb, paused 11-20 Feb, concluded 10 Mar.
        *started("r-b", "2027-02-01", mentee="e-2"),
        *contract("r-b", 10, "2027-02-01"),
        (
            "RelationshipPaused",
            {"relationship_id": "r-b", "until": "2027-03-01"},
            at("2027-02-11"),
        ),
        ("RelationshipResumed", {"relationship_id": "r-b"}, at("2027-02-21")),
        (
            "RelationshipConcluded",
            {"relationship_id": "r-b", "reason": "completed"},
            at("2027-03-10"),
        ),
        *held("r-b", "2027-02-05"),
    ]


def test_expected_sessions_follow_the_agreed_cadence_over_the_active_days():
    rels = list(fold(_impact_facts()).values())
    report = impact("m-1", "2027Q1", rels)
    # r-a: 1-28 Jan (28 days) at 14 days = 2, 29 Jan - 31 Mar (3 + 28 + 31 = 62
    #      days) at 7 = 8.857: 10.857 → 10.
    # r-b: 1-10 Feb (10 days) + 21 Feb - 10 Mar (8 + 10 = 18 days): 28 days at 10
    #      = 2.8 → 2 (the 10 paused days and the days after it concluded expect
    #      nothing). Total 12 (the code before read 90 // 7 + 38 // 10 = 15).
    assert (report.sessions_held, report.sessions_expected) == (4, 12)
    assert report.mentor_status == "active" and report.active_days == 90
    # Asked on 14 Feb (the current quarter): the rest of the quarter expects
    # nothing yet. r-a: 2 + 17 days (29 Jan - 14 Feb) / 7 = 4.43 → 4; r-b: 10 days
    # (1-10 Feb; 11-14 Feb paused) / 10 = 1. Total 5.
    today = impact("m-1", "2027Q1", rels, as_of=date(2027, 2, 14))
    assert today.sessions_expected == 5 and today.active_days == 45


def test_an_inactive_mentor_is_marked_and_expects_nothing_while_away():
    rels = list(fold(_impact_facts()).values())
    person = [
        (
            "PersonDeactivated",
            {"person_id": "m-1", "reason": "deprovisioned"},
            at("2027-03-01"),
        ),
        ("PersonDeactivated", {"person_id": "m-9"}, at("2027-01-01")),  # another
    ]
    away = mentor_activity("m-1", person, date(2027, 3, 31))
    assert away.status == "deactivated"
    report = impact("m-1", "2027Q1", rels, activity=away)
    # Away from 1 Mar. r-a: 2 + 31 days (29 Jan - 28 Feb) / 7 = 6.43 → 6; r-b: 10 +
    # 8 days (21-28 Feb) = 18 / 10 = 1.8 → 1. Total 7, over 59 active days.
    assert (report.sessions_expected, report.active_days) == (7, 59)
    assert report.mentor_status == "deactivated"
    # Reactivated on 15 Mar: away 1-14 Mar only, active again as of 31 Mar.
    back = [*person, ("PersonReactivated", {"person_id": "m-1"}, at("2027-03-15"))]
    assert mentor_activity("m-1", back, date(2027, 3, 31)).status == "active"
    # r-a: 6.43 + 17 days (15-31 Mar) / 7 = 8.86 → 8; r-b: 18 / 10 → 1. Total 9.
    again = impact(
        "m-1", "2027Q1", rels, activity=mentor_activity("m-1", back, date(2027, 3, 31))
    )
    assert again.sessions_expected == 9
    # A departure (HRIS) from 1 Feb: away from then on.
    left = [
        (
            "CareerOutcomeRecorded",
            {"person_id": "m-1", "kind": "departure", "effective_on": "2027-02-01"},
            at("2027-02-03"),
        )
    ]
    gone = mentor_activity("m-1", left, date(2027, 3, 31))
    assert gone.status == "departed"
    # r-a: 2 + 3 days (29-31 Jan) / 7 = 2.43 → 2; r-b nothing. Total 2.
    assert impact("m-1", "2027Q1", rels, activity=gone).sessions_expected == 2
    # An erased mentor: marked, and nothing of theirs is reported.
    erased = impact(
        "m-1",
        "2027Q1",
        rels,
        activity=mentor_activity("m-1", [], date(2027, 3, 31), erased=True),
    )
    assert erased.mentor_status == "erased"
    assert (erased.sessions_expected, erased.sessions_held, erased.mentees) == (
        0,
        0,
        [],
    )
