"""The scorecard's pure computation on the synthetic organisation's planted scenarios."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, time

import pytest

from services.insights.application import exports
from services.insights.domain import scorecard
from services.insights.domain.scorecard_parts import Kept
from tests.insights.synthetic import generate, pick

ORG = generate(seed=7)


def as_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=UTC)


def card(envelopes, scope: str, ident: str | None, day: str) -> dict:
    moment = as_of(day)
    org = scorecard.fold(e for e in envelopes if e.time <= moment)
    if scope == "programme":
        return scorecard.programme_card(org, moment)
    make = {
        "mentee": scorecard.mentee_card,
        "relationship": scorecard.relationship_card,
        "cohort": scorecard.cohort_card,
    }[scope]
    return make(org, ident, moment)


@pytest.mark.parametrize("key", list(ORG.expected), ids=str)
def test_planted_figures_equal_the_hand_computed_ones(key):
    scope, ident, day = key
    got = card(ORG.envelopes, scope, ident, day)
    for path, want in ORG.expected[key].items():
        assert pick(got, path) == want, path


def test_a_small_group_gets_no_comparison_when_too_few_peers_exist():
    got = card(ORG.envelopes, "cohort", "cohort-circle", "2025-12-31")
    assert got["impact"]["comparison"] is None
    assert "2 comparable non-participants" in got["impact"]["comparison_note"]


def test_the_seed_fixes_the_organisation_and_moves_no_planted_figure():
    again, other = generate(seed=7), generate(seed=8)
    assert [e.id for e in again.envelopes] == [e.id for e in ORG.envelopes]
    assert [e.id for e in other.envelopes] != [e.id for e in ORG.envelopes]
    for key in ORG.expected:
        assert card(other.envelopes, *key) == card(ORG.envelopes, *key)


@pytest.mark.parametrize("seed", range(5))
def test_duplicate_and_reordered_facts_change_nothing(seed):
    shuffled = ORG.envelopes * 2
    random.Random(seed).shuffle(shuffled)
    for key in ORG.expected:
        assert card(shuffled, *key) == card(ORG.envelopes, *key)


def test_unknown_scopes_have_no_scorecard():
    org = scorecard.fold(ORG.envelopes)
    moment = as_of("2025-12-31")
    assert scorecard.mentee_card(org, "peer-5-1", moment) is None  # never a mentee
    assert scorecard.relationship_card(org, "rel-nope", moment) is None
    assert scorecard.cohort_card(org, "cohort-nope", moment) is None
    # before the cohort existed
    early = scorecard.fold(e for e in ORG.envelopes if e.time <= as_of("2025-01-01"))
    assert scorecard.cohort_card(early, "cohort-alpha", as_of("2025-01-01")) is None


def test_feedback_trend_is_the_least_squares_slope():
    assert scorecard.slope([3, 4, 5]) == 1.0
    assert scorecard.slope([4, 3, 2]) == -1.0
    assert scorecard.slope([2, 2, 5, 5]) == 1.2
    assert scorecard.slope([4]) is None


def test_csv_export_holds_every_figure_of_the_report():
    got = card(ORG.envelopes, "cohort", "cohort-alpha", "2025-12-31")
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(got))))
    assert tuple(rows[0]) == exports.COLUMNS
    own = {
        (r["perspective"], r["measure"]): r["value"] for r in rows if not r["member"]
    }
    assert own[("behaviour", "milestones.completion_rate")] == "0.4"
    assert own[("impact", "lift.promotion_rate")] == "0.3333"
    member = {
        r["measure"]: r["value"]
        for r in rows
        if r["member"] == "mentee-promoted" and r["perspective"] == "skill_growth"
    }
    assert member["goals.strategy.change"] == "2"
    assert member["goals.strategy.reached"] == "true"
    assert {r["scope"] for r in rows} == {"cohort"}


def _fact(n: int, kind: str, day: str, **data: object) -> Kept:
    return Kept(f"f-{n:03d}", kind, as_of(day).replace(hour=9), dict(data))


def test_a_milestone_due_and_not_achieved_is_missed_whether_or_not_marked():
    # Six milestones of one relationship, due 1-6 March; by 31 March four were
    # achieved (ms-3 late, on 20 March), ms-5 was marked missed and ms-6 nobody
    # marked: missed = due - achieved = 6 - 4 = 2. ms-7 is due in April (not due).
    rel = {"relationship_id": "rel-1"}
    facts = [
        _fact(
            1,
            "RelationshipStarted",
            "2027-02-01",
            **rel,
            mentee_id="me",
            mentor_id="mo",
            starts_on="2027-02-01",
        ),
    ]
    for i in range(1, 8):
        due = f"2027-03-0{i}" if i < 7 else "2027-04-15"
        facts.append(
            _fact(
                10 + i,
                "MilestoneSet",
                "2027-02-02",
                **rel,
                milestone_id=f"ms-{i}",
                due_on=due,
            )
        )
    for i, day, on_time in (
        (1, "2027-03-01", True),
        (2, "2027-03-02", True),
        (3, "2027-03-20", False),
        (4, "2027-02-28", True),
    ):
        facts.append(
            _fact(
                20 + i,
                "MilestoneAchieved",
                day,
                **rel,
                milestone_id=f"ms-{i}",
                on_time=on_time,
            )
        )
    facts.append(
        _fact(
            30,
            "MilestoneMissed",
            "2027-03-06",
            **rel,
            milestone_id="ms-5",
            due_on="2027-03-05",
        )
    )

    def milestones(day: str) -> dict:
        moment = as_of(day)
        org = scorecard.fold(f for f in facts if f.time <= moment)
        got = scorecard.relationship_card(org, "rel-1", moment)
        assert got is not None
        return dict(got["behaviour"]["milestones"])

    assert milestones("2027-03-31") == {
        "set": 7,
        "due": 6,
        "achieved": 4,
        "on_time": 3,
        "missed": 2,
        "completion_rate": round(4 / 6, 4),
        "on_time_rate": 0.75,
    }
    # As of 10 March ms-3 was not yet achieved (its late achievement came on the
    # 20th): due 6, achieved 3 (ms-1, ms-2, ms-4), missed 3 (ms-3, ms-5, ms-6).
    on_10th = milestones("2027-03-10")
    assert (on_10th["due"], on_10th["achieved"], on_10th["missed"]) == (6, 3, 3)
    # As of 3 March: ms-1..ms-3 due (ms-4 achieved early counts as due): due 4,
    # achieved 3, missed 1 (ms-3, due on the 3rd and not achieved by its end).
    on_3rd = milestones("2027-03-03")
    assert (on_3rd["due"], on_3rd["achieved"], on_3rd["missed"]) == (4, 3, 1)
    # A group adds its mentees' figures: the programme says the same.
    moment = as_of("2027-03-31")
    programme = scorecard.programme_card(scorecard.fold(facts), moment)
    assert programme["behaviour"]["milestones"]["missed"] == 2
