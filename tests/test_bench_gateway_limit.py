"""The gateway benchmark's physical limit: the arithmetic the closing notes quote."""

import pytest

from bench.gateway import combine, cpu_budget

pytestmark = pytest.mark.unit  # arithmetic only: no platform is started


def one_round(
    rps: float, latencies_ms: list[float], machine: float
) -> dict[str, object]:
    return {
        "latencies": [ms / 1000 for ms in latencies_ms],
        "rps": rps,
        "errors": 0,
        "services_cpu_ms_per_request": {"sessions": 7.0},
        "cpu_ms_per_request": 6.0,
        "postgres_cpu_ms_per_request": 2.0,
        "load_cpu_ms_per_request": 2.0,
        "machine_cpu_ms_per_request": machine,
    }


def test_the_floor_is_the_clients_over_the_rate_the_cpu_allows() -> None:
    # 27 ms of the machine per request, 2 of them the load's own: 25 ms served on
    # 2 cores is at most 80 requests/s, and 50 waiting clients wait 625 ms.
    budget = cpu_budget(one_round(70.0, [600.0], 27.0), clients=50, cores=2)
    assert budget["cpu_ms_per_request"] == 25.0
    assert budget["cpu_bound_rps"] == 80.0
    assert budget["floor_ms"] == 625.0
    # A mean under 300 ms for 50 clients needs 2 cores x 300 ms / 50 = 12 ms.
    assert budget["goal_cpu_ms_per_request"] == 12.0


def test_rounds_combine_into_the_median_round_and_every_request() -> None:
    rounds = [
        one_round(60.0, [100.0] * 98 + [900.0, 1000.0], 30.0),
        one_round(80.0, [200.0] * 100, 24.0),
        one_round(70.0, [300.0] * 100, 27.0),
    ]
    combined = combine(rounds)
    assert combined["rps"] == 70.0
    assert combined["rounds_rps"] == [60.0, 80.0, 70.0]
    assert combined["machine_cpu_ms_per_request"] == 27.0
    assert combined["services_cpu_ms_per_request"] == {"sessions": 7.0}
    assert combined["p50_ms"] == 200.0  # over all 300 requests, not a median of p50s
    assert combined["p99_ms"] == 300.0
    assert combined["errors"] == 0
