"""The optimiser: optimal against brute force, never over capacity, never a forbidden
or reporting-line pair; pins, modes, progress, circles and self-service suggestions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.candidates import Goal, PairRef
from services.matching.domain.config import MatchingConfig
from services.matching.domain.optimiser import UNMATCHED, loads, solve
from services.matching.domain.round import run_round
from services.matching.domain.rules import CapacityExceeded, PairNotAllowed
from services.matching.domain.suggestions import exposure_plan, exposure_quota
from tests.matching.test_scoring import mentee, mentor


def brute_force(scores, feasible, capacity):
    """Every assignment of mentees to a feasible mentor or none, within capacity:
    the best total, and the best (number matched, total) for coverage."""
    n, m = scores.shape
    best_total = 0.0
    best_cover = (0, 0.0)
    left = list(capacity)

    def walk(i, total, matched):
        nonlocal best_total, best_cover
        if i == n:
            best_total = max(best_total, total)
            best_cover = max(best_cover, (matched, total))
            return
        walk(i + 1, total, matched)
        for j in range(m):
            if feasible[i, j] and left[j] > 0:
                left[j] -= 1
                walk(i + 1, total + scores[i, j], matched + 1)
                left[j] += 1

    walk(0, 0.0, 0)
    return best_total, best_cover


@st.composite
def instances(draw):
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    # Few distinct values, so ties (the hard case for exactness) are common.
    values = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])
    scores = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m))).reshape(
        n, m
    )
    scores += np.array(
        draw(st.lists(st.floats(0, 1e-3), min_size=n * m, max_size=n * m))
    ).reshape(n, m) * draw(st.sampled_from([0, 1]))
    feasible = np.array(
        draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
    ).reshape(n, m)
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)))
    return scores, feasible, capacity


@settings(max_examples=150, deadline=None)
@given(instances())
def test_quality_mode_total_equals_the_brute_force_optimum(instance):
    scores, feasible, capacity = instance
    solution = solve(scores, feasible, capacity, "quality")
    best_total, _ = brute_force(scores, feasible, capacity)
    assert solution.total == pytest.approx(best_total, abs=1e-9)
    _check_valid(solution.mentor_of, feasible, capacity)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_coverage_mode_matches_the_most_people_then_the_best_total(instance):
    scores, feasible, capacity = instance
    solution = solve(scores, feasible, capacity, "coverage")
    _, (most, best_among_most) = brute_force(scores, feasible, capacity)
    assert solution.matched == most
    assert solution.total == pytest.approx(best_among_most, abs=1e-9)
    _check_valid(solution.mentor_of, feasible, capacity)


def _check_valid(mentor_of, feasible, capacity):
    matched = np.flatnonzero(mentor_of != UNMATCHED)
    assert feasible[matched, mentor_of[matched]].all()
    assert (loads(mentor_of, len(capacity)) <= capacity).all()


def test_the_two_modes_answer_different_questions():
    # Ana fits mentor A superbly; Ben fits only A, weakly; Ana fits B weakly.
    scores = np.array([[1.0, 0.1], [0.1, 0.0]])
    feasible = np.array([[True, True], [True, False]])
    capacity = np.array([1, 1])
    quality = solve(scores, feasible, capacity, "quality")
    coverage = solve(scores, feasible, capacity, "coverage")
    assert quality.mentor_of.tolist() == [0, UNMATCHED] and quality.total == 1.0
    assert coverage.mentor_of.tolist() == [1, 0] and coverage.matched == 2


# -- whole rounds on real profiles: the hard rules hold for every input -------------


@st.composite
def rounds(draw):
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    mentor_ids = [f"r{j}" for j in range(m)]
    mentee_ids = [f"e{i}" for i in range(n)]
    comps = ["strategy", "digital", "finance"]
    mentors = [
        mentor(
            pid,
            level=draw(st.integers(5, 12)),
            business_unit=draw(st.sampled_from(["A", "B"])),
            time_zone=draw(st.sampled_from(["Europe/London", "Asia/Tokyo"])),
            strengths=draw(st.dictionaries(st.sampled_from(comps), st.integers(1, 5))),
            capacity=draw(st.integers(1, 3)),
            active_mentees=draw(st.sampled_from([0, 0, 0, 1])),
            # A mentor may report to a mentee (the reporting line, downwards).
            manager_id=draw(st.sampled_from([None, None, *mentee_ids])),
        )
        for pid in mentor_ids
    ]
    mentees = [
        mentee(
            pid,
            level=draw(st.integers(1, 8)),
            business_unit=draw(st.sampled_from(["A", "B"])),
            goals=tuple(
                Goal(c, 1, draw(st.integers(2, 5)))
                for c in draw(st.sets(st.sampled_from(comps), min_size=1))
            ),
            # ... or a mentee to a mentor (upwards), directly or further up the chain.
            manager_id=draw(st.sampled_from([None, None, *mentor_ids])),
            reporting_chain=tuple(
                draw(st.sets(st.sampled_from(mentor_ids), max_size=1))
            ),
        )
        for pid in mentee_ids
    ]
    forbidden = draw(
        st.lists(st.tuples(st.sampled_from(mentee_ids), st.sampled_from(mentor_ids)))
    )
    mode = draw(st.sampled_from(["quality", "coverage"]))
    programme = draw(st.sampled_from(["standard", "group"]))
    config = MatchingConfig(programme_type=programme, mode=mode)
    return mentees, mentors, forbidden, config


@settings(max_examples=80, deadline=None)
@given(rounds())
def test_a_round_never_breaks_a_hard_rule_and_is_optimal(cohort):
    mentees, mentors, forbidden, config = cohort
    result = run_round(mentees, mentors, config, forbidden=forbidden)
    by_id = {p.person_id: p for p in (*mentees, *mentors)}
    forbidden_set = {PairRef(*p) for p in forbidden}
    seats: dict[str, int] = {}
    for pair in result.pairs:
        e, r = by_id[pair.mentee_id], by_id[pair.mentor_id]
        seats[r.person_id] = seats.get(r.person_id, 0) + 1
        assert PairRef(e.person_id, r.person_id) not in forbidden_set
        assert r.person_id != e.manager_id and r.person_id not in e.reporting_chain
        assert r.manager_id != e.person_id
        assert r.level > e.level  # the standard seniority rule
        why = result.explain(pair.mentee_id, pair.mentor_id)
        assert abs(why.score - pair.score) <= 1e-9
        assert abs(sum(p.contribution for p in why.parts) - pair.score) <= 1e-9
    for r in mentors:
        assert seats.get(r.person_id, 0) <= r.capacity - r.active_mentees
    # Optimal on the round's own score matrix and rules.
    enc = result.encoded
    best_total, (most, best_among_most) = brute_force(
        result.scores, result.feasibility.mask, enc.capacity
    )
    if config.mode == "quality":
        assert result.total_score == pytest.approx(best_total, abs=1e-9)
    else:
        assert len(result.pairs) == most
        assert result.total_score == pytest.approx(best_among_most, abs=1e-9)


def test_pinned_pairs_are_kept_and_use_a_seat():
    ada, bob = mentee("ada", level=3), mentee("bob", level=3)
    star = mentor("star", strengths={"strategy": 5}, capacity=1)
    other = mentor("other", strengths={"strategy": 3}, capacity=1)
    free = run_round([ada, bob], [star, other])
    assert len(free.pairs) == 2
    pinned = run_round([ada, bob], [star, other], pinned=[PairRef("bob", "other")])
    pairs = {(p.mentee_id, p.mentor_id, p.pinned) for p in pinned.pairs}
    assert ("bob", "other", True) in pairs and ("ada", "star", False) in pairs
    # A pin may not break a hard rule or a mentor's capacity.
    boss = mentor("boss", capacity=1)
    with pytest.raises(PairNotAllowed, match="reporting line"):
        run_round([mentee("ada", manager_id="boss")], [boss], pinned=[("ada", "boss")])
    with pytest.raises(CapacityExceeded):
        run_round([ada, bob], [star], pinned=[("ada", "star"), ("bob", "star")])


def test_mentors_without_a_seat_are_never_proposed():
    ada = mentee(goals=(Goal("strategy", 1, 5),))
    full = mentor("full", strengths={"strategy": 5}, capacity=2, active_mentees=2)
    away = mentor("away", strengths={"strategy": 5}, active=False)
    spare = mentor("spare", strengths={"strategy": 3})
    result = run_round([ada], [full, away, spare])
    assert [p.mentor_id for p in result.pairs] == ["spare"]
    assert "the mentor has no seat left" in result.why_not("ada", "full")


def test_progress_is_reported_phase_by_phase():
    seen = []
    mentees = [mentee(f"e{i}", level=2) for i in range(5)]
    run_round(mentees, [mentor("r", capacity=5)], progress=lambda *a: seen.append(a))
    phases = [phase for phase, _, _ in seen]
    assert phases[0] == "encode" and phases[-1] == "done"
    assert {"score", "rules", "optimise"} <= set(phases)
    assert ("score", 5, 5) in seen


def test_group_circles_gather_mentees_with_shared_goals():
    mentees = [
        mentee(f"e{i}", level=3, goals=(Goal("strategy", 1, 4), Goal(f"c{i}", 1, 3)))
        for i in range(3)
    ]
    lead = mentor("lead", strengths={"strategy": 5}, capacity=3, formats=("group",))
    config = MatchingConfig.for_programme("group")
    result = run_round(
        mentees, [lead], config, competency_names={"strategy": "Strategy"}
    )
    (circle,) = result.circles
    assert circle.mentee_ids == ("e0", "e1", "e2")
    assert circle.shared_goals == (("Strategy", 3),)
    assert circle.affinity == pytest.approx(1 / 3)


# -- self-service suggestions --------------------------------------------------------


def test_suggestions_respect_seats_dismissals_and_rules():
    ada = mentee("ada", manager_id="boss", goals=(Goal("strategy", 1, 5),))
    mentors = [
        mentor("boss", strengths={"strategy": 5}),  # Ada's own manager
        mentor("full", strengths={"strategy": 5}, active_mentees=2),  # no seat left
        mentor("gone", strengths={"strategy": 5}),  # Ada dismissed them
        mentor("good", strengths={"strategy": 4}),
        mentor("fair", strengths={"strategy": 3}),
    ]
    result = run_round([ada], mentors)
    board = result.suggestions(top_n=5, dismissed={"ada": ["gone"]})
    shown = board.for_mentee("ada")
    assert [s.mentor_id for s in shown] == ["good", "fair"]
    assert [s.rank for s in shown] == [1, 2]
    assert shown[0].explanation.score == pytest.approx(shown[0].score)


def test_popular_mentors_are_not_shown_to_everyone():
    # Everyone's best is the star; the odd ones also lack the star's APAC market.
    mentees = [
        mentee(f"e{i}", experiences_lacking=("APAC" if i % 2 else "EMEA",))
        for i in range(12)
    ]
    star = mentor("star", strengths={"strategy": 5}, markets=("APAC",), capacity=1)
    others = [mentor(f"m{k}", strengths={"strategy": 3}, capacity=2) for k in range(4)]
    result = run_round(mentees, [star, *others])
    assert all(result.scores[i].argmax() == 0 for i in range(12))
    board = result.suggestions(top_n=2, exposure_per_seat=3)
    # One seat, three viewers at most; everyone still gets two suggestions.
    assert board.exposure()[0] == 3
    assert all(len(items) == 2 for items in board.lists)
    # Who sees the star: those the star suits best.
    viewers = {
        result.encoded.mentees[i].person_id
        for i, items in enumerate(board.lists)
        if 0 in items
    }
    assert viewers <= {f"e{i}" for i in range(1, 12, 2)}
    assert [s.mentor_id for s in board.for_mentee("e0")] == ["m0", "m1"]


def test_exposure_grows_with_the_cohort_but_stays_proportional_to_seats():
    # 3 per seat would give 9 names for 30 mentees x 2: raised evenly to 20 a seat.
    assert exposure_quota(np.array([1, 2, 0]), 30, 2, 3).tolist() == [20, 40, 0]
    assert exposure_quota(np.array([1, 2]), 3, 2, 3).tolist() == [3, 6]


@settings(max_examples=100, deadline=None)
@given(instances(), st.integers(1, 3), st.integers(1, 2))
def test_suggestion_lists_are_capped_and_stable(instance, top_n, depth):
    scores, allowed, quota = instance
    n, m = scores.shape
    lists = exposure_plan(scores, allowed, quota, top_n, depth)
    assert lists == exposure_plan(scores, allowed, quota, top_n, depth=100)
    viewers = [[i for i in range(n) if j in lists[i]] for j in range(m)]
    for i, items in enumerate(lists):
        assert len(items) <= top_n and len(set(items)) == len(items)
        assert all(allowed[i, j] and quota[j] > 0 for j in items)
    assert all(len(viewers[j]) <= quota[j] for j in range(m))

    # Strict preferences with the plan's tie-breaks: mentees by (score, lower
    # column), mentors by (score, lower mentee index).
    def mentee_rank(i, j):
        return (-scores[i, j], j)

    def mentor_rank(j, i):
        return (-scores[i, j], i)

    for i in range(n):
        for j in range(m):
            if not allowed[i, j] or quota[j] <= 0 or j in lists[i]:
                continue
            mentee_wants = len(lists[i]) < top_n or mentee_rank(i, j) < max(
                mentee_rank(i, k) for k in lists[i]
            )
            mentor_wants = len(viewers[j]) < quota[j] or mentor_rank(j, i) < max(
                mentor_rank(j, k) for k in viewers[j]
            )
            assert not (mentee_wants and mentor_wants), (i, j)
