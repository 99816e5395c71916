"""The scorecard's pure computation on the synthetic organisation's planted scenarios."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, time

import pytest

from services.insights.application import exports
from services.insights.domain import scorecard
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
