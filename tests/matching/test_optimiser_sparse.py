"""The optimiser's sparse solver: a candidate graph too small to hold the optimum is
grown until its duals prove optimality on the whole problem (or the dense solver
takes over), in both orientations and both modes; the kernels' duals are sound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.matching.domain import optimiser, transport
from services.matching.domain.optimiser import UNMATCHED, loads, solve
from tests.matching.test_optimiser import brute_force, instances


@pytest.fixture(params=["mentee rows", "seat rows"])
def tiny_graph(request, monkeypatch):
    """One candidate per mentee and two per mentor: the first graph rarely holds
    the optimum, so the proof fails and the graph grows."""
    monkeypatch.setattr(optimiser, "PER_MENTEE", 1)
    monkeypatch.setattr(optimiser, "PER_SEAT", 0)
    monkeypatch.setattr(optimiser, "MARGIN", 0.0)
    monkeypatch.setattr(optimiser, "CERTIFY_ROUNDS", 50)
    rows_from = 0.0 if request.param == "seat rows" else 1e9
    monkeypatch.setattr(optimiser, "SEAT_ROWS_FROM", rows_from)
    dense = optimiser._dense

    def no_dense(*args):
        raise AssertionError("the sparse solver should have proved its answer")

    monkeypatch.setattr(optimiser, "_dense", no_dense)
    return dense


def _valid(solution, feasible, capacity):
    who = np.flatnonzero(solution.mentor_of != UNMATCHED)
    assert feasible[who, solution.mentor_of[who]].all()
    assert (loads(solution.mentor_of, capacity.size) <= capacity).all()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(instance=instances())
def test_a_grown_graph_is_still_optimal_in_both_modes(tiny_graph, instance):
    scores, feasible, capacity = instance
    best_total, (most, best_cover_total) = brute_force(scores, feasible, capacity)
    quality = solve(scores, feasible, capacity, "quality")
    _valid(quality, feasible, capacity)
    assert quality.total == pytest.approx(best_total, abs=1e-9)
    coverage = solve(scores, feasible, capacity, "coverage")
    _valid(coverage, feasible, capacity)
    assert coverage.matched == most
    assert coverage.total == pytest.approx(best_cover_total, abs=1e-6)


def _cohort(n, m, seed, feasible_share=0.8, ties=False):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, m))
    if ties:
        scores = np.round(scores * 4) / 4
    feasible = rng.random((n, m)) < feasible_share
    capacity = rng.integers(1, 6, m)
    return scores, feasible, capacity


@pytest.mark.parametrize(
    ("n", "m", "ties"),
    [(300, 60, False), (180, 60, False), (200, 40, True), (40, 60, False)],
)
def test_the_sparse_optimum_equals_the_dense_solvers(tiny_graph, n, m, ties):
    """Larger cohorts (more mentees than seats, as many, fewer; many ties) against
    SciPy's dense assignment on the seat matrix, in both modes."""
    scores, feasible, capacity = _cohort(n, m, seed=n + m, ties=ties)
    dense = tiny_graph
    for mode, bonus in (("quality", 0.0), ("coverage", 10.0 * n)):
        found = solve(scores, feasible, capacity, mode)
        _valid(found, feasible, capacity)
        seats = np.minimum(capacity, feasible.sum(axis=0))
        use = seats > 0
        mentee, owner = dense(scores[:, use], feasible[:, use], seats[use], bonus)
        expected = float(scores[:, use][mentee, owner].sum())
        assert found.total == pytest.approx(expected, abs=1e-9)
        if mode == "coverage":
            assert found.matched == mentee.size


def test_when_the_proof_keeps_failing_the_dense_solver_answers(monkeypatch):
    monkeypatch.setattr(optimiser, "PER_MENTEE", 1)
    monkeypatch.setattr(optimiser, "PER_SEAT", 0)
    monkeypatch.setattr(optimiser, "CERTIFY_ROUNDS", 1)
    calls = []
    dense = optimiser._dense

    def counted(*args):
        calls.append(1)
        return dense(*args)

    monkeypatch.setattr(optimiser, "_dense", counted)
    scores, feasible, capacity = _cohort(120, 30, seed=7)
    found = solve(scores, feasible, capacity)
    assert calls, "one solve on a one-candidate graph should not prove the optimum"
    monkeypatch.setattr(optimiser, "CERTIFY_ROUNDS", 50)
    calls.clear()
    assert solve(scores, feasible, capacity).total == pytest.approx(found.total)
    assert not calls


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_the_kernels_duals_prove_their_assignment(n, m, seed):
    """On any edge set: reduced costs >= 0, chosen edges tight, a column with room
    has price 0, every row's dual <= 0 (staying out costs nothing)."""
    rng = np.random.default_rng(seed)
    has = rng.random((n, m)) < 0.6
    rows, cols = np.nonzero(has)
    costs = -rng.random(rows.size)
    count = np.bincount(rows, minlength=n)
    hi = np.cumsum(count)
    cap = rng.integers(0, 3, m).astype(np.int64)
    col_of, u, v = transport.assign(hi - count, hi, cols, costs, cap)
    assert (u <= 1e-12).all()
    assert v[m] == 0.0
    assert (np.bincount(col_of[col_of >= 0], minlength=m) <= cap).all()
    reduced = costs - u[rows] - v[cols]
    assert (reduced >= -1e-12).all()
    chosen = col_of[rows] == cols
    assert np.allclose(reduced[chosen], 0.0, atol=1e-12)
    assert np.allclose(u[col_of == -1], 0.0, atol=1e-12)
    room = np.bincount(col_of[col_of >= 0], minlength=m) < cap
    assert (v[:m][room] == 0.0).all()
