"""Fairness: per-group score distributions (small groups suppressed), and the
re-weighting that lifts a lagging group without breaking a hard rule."""

from __future__ import annotations

import numpy as np
import pytest

from services.matching.domain.candidates import Goal
from services.matching.domain.config import FairnessSettings, MatchingConfig
from services.matching.domain.encoding import encode
from services.matching.domain.fairness import (
    distribution,
    group_labels,
    level_band,
    rebalance,
)
from services.matching.domain.optimiser import UNMATCHED, loads, solve
from services.matching.domain.round import run_round
from tests.matching.test_scoring import mentee, mentor


def test_distribution_reports_each_group_and_suppresses_small_ones():
    labels = ["A"] * 6 + ["B"] * 2 + [None]
    scores = np.array([[0.1 * (i + 1)] for i in range(9)])
    mentor_of = np.array([0, 0, 0, 0, 0, UNMATCHED, 0, 0, 0])
    a, b = distribution(labels, scores, mentor_of, min_group_size=5)
    assert (a.group, a.size, a.matched, a.suppressed) == ("A", 6, 5, False)
    assert a.match_rate == pytest.approx(5 / 6)
    assert a.mean == pytest.approx((0.1 + 0.2 + 0.3 + 0.4 + 0.5) / 6)  # unmatched: 0
    assert a.p50 == pytest.approx(0.25)
    # Two people are not a group one may report on.
    assert (b.group, b.size, b.suppressed, b.mean) == ("B", 2, True, None)
    assert b.as_dict() == {"group": "B", "size": 2, "suppressed": True}
    matched_only = distribution(
        labels, scores, mentor_of, min_group_size=5, unmatched_counts_as_zero=False
    )
    assert matched_only[0].mean == pytest.approx(0.3)


def test_demographic_groups_come_only_from_consenting_people():
    consented = mentee("e1", demographics={"gender": "woman"})
    silent = mentee("e2")
    enc = encode([consented, silent, mentee("e3", level=11)], [mentor()])
    assert group_labels(enc, "demographics.gender") == ["woman", None, None]
    assert group_labels(enc, "level_band") == ["4-6", "4-6", "10-12"]
    assert level_band(1) == "1-3" and level_band(12) == "10-12"
    with pytest.raises(ValueError):
        group_labels(enc, "salary")


def planted(seed: int = 7):
    """Group B fits every mentor a little less well than group A, and there are too
    few seats for everyone: the best total leaves B far behind."""
    rng = np.random.default_rng(seed)
    n_a, n_b, m = 30, 30, 20
    scores = np.vstack(
        [rng.uniform(0.55, 0.95, (n_a, m)), rng.uniform(0.35, 0.75, (n_b, m))]
    )
    feasible = rng.random((n_a + n_b, m)) < 0.8
    capacity = rng.integers(1, 3, m)  # about 30 seats for 60 mentees
    labels = ["A"] * n_a + ["B"] * n_b
    return scores, feasible, capacity, labels


def test_reweighting_lifts_the_lagging_group_above_the_bar():
    scores, feasible, capacity, labels = planted()
    settings = FairnessSettings(min_ratio=0.8, max_iterations=12)

    def solver(weights):
        return solve(scores, feasible, capacity, "quality", weights=weights)

    plain = solver(scores)
    before = {g.group: g.mean for g in distribution(labels, scores, plain.mentor_of)}
    assert before["B"] < 0.8 * before["A"]  # the planted unfairness

    solution, outcome = rebalance(scores, labels, settings, solver)
    after = {g.group: g.mean for g in outcome.report}
    assert outcome.satisfied
    assert after["B"] >= 0.8 * after["A"]
    assert len(outcome.iterations) > 1
    assert outcome.iterations[outcome.chosen_iteration].boosts["B"] > 1.0
    # The price in total score is reported, and it is a price: never a gain.
    assert solution.total <= plain.total + 1e-9
    assert outcome.iterations[0].total_score == pytest.approx(plain.total)
    # Hard rules hold whatever the boost: feasible pairs only, within capacity.
    matched = np.flatnonzero(solution.mentor_of != UNMATCHED)
    assert feasible[matched, solution.mentor_of[matched]].all()
    assert (loads(solution.mentor_of, len(capacity)) <= capacity).all()
    assert outcome.as_dict()["satisfied"] is True


def test_unreachable_fairness_is_reported_not_faked():
    scores, feasible, capacity, labels = planted()
    feasible[30:, :] = False  # nobody may mentor group B at all
    settings = FairnessSettings(min_ratio=0.8, max_iterations=3)
    _, outcome = rebalance(
        scores,
        labels,
        settings,
        lambda w: solve(scores, feasible, capacity, "quality", weights=w),
    )
    assert not outcome.satisfied
    assert {g.group: g.match_rate for g in outcome.report}["B"] == 0.0


def test_a_round_with_fairness_settings_reports_every_iteration():
    # Five mentees from a big unit, five from a small one; the small unit's people
    # want what the one strong mentor has less of.
    mentees = [
        mentee(f"a{i}", business_unit="Big", goals=(Goal("strategy", 1, 5),))
        for i in range(5)
    ] + [
        mentee(f"b{i}", business_unit="Small", goals=(Goal("finance", 3, 4),))
        for i in range(5)
    ]
    mentors = [
        mentor(f"r{k}", strengths={"strategy": 5, "finance": 3 + k % 2}, capacity=1)
        for k in range(6)
    ]
    config = MatchingConfig(
        fairness=FairnessSettings(group_by="business_unit", min_ratio=0.9)
    )
    result = run_round(mentees, mentors, config)
    assert result.fairness is not None
    assert [g.group for g in result.fairness.report] == ["Big", "Small"]
    summary = result.fairness.as_dict()
    assert summary["group_by"] == "business_unit"
    # Two groups of five sit at k: what is published shows both or neither (one
    # withheld alone would be total minus the other), and never names a withheld one.
    shown = [g["group"] for g in summary["groups"]]
    assert shown in ([], ["Big", "Small"])
    assert summary["suppressed_groups"] == 2 - len(shown)
    assert summary["iterations"][0]["iteration"] == 0
    assert all(set(it["means"]) == set(shown) for it in summary["iterations"])
    # The round keeps the iteration whose worst group fares best, better than the
    # unweighted optimum, where the small unit gets almost nothing.
    tried = result.fairness.iterations
    chosen = tried[result.fairness.chosen_iteration]
    assert chosen.worst_ratio == max(it.worst_ratio for it in tried)
    assert chosen.worst_ratio > tried[0].worst_ratio
    assert len(result.pairs) == 6
