import pytest

from fakes.results_factory import make_case
from promptctl.evals.results import summary_rows


def test_summary_row_per_contract() -> None:
    cases = [
        make_case("p", "a", 0, "pass", latency=100.0),
        make_case("p", "a", 1, "pass", latency=300.0),
        make_case("p", "b", 0, "fail", latency=200.0),
        make_case("p", "c", 0, "error", latency=None, cost=None),
        make_case("p", "d", 0, "skipped"),
        make_case("p", "e", 0, "pass", latency=5.0, cached=True),
        make_case("q", "a", 0, "pass"),
    ]
    p_row, q_row = summary_rows(cases)
    assert (p_row["prompt"], q_row["prompt"]) == ("p", "q")
    assert (p_row["cases"], p_row["passed"], p_row["failed"]) == (6, 3, 1)
    assert (p_row["errors"], p_row["skipped"]) == (1, 1)
    assert p_row["pass_rate"] == 0.75
    lo, hi = p_row["pass_rate_ci95"]
    assert lo < 0.75 < hi
    assert p_row["mean_score"] == 0.75
    assert p_row["cost_usd"] == pytest.approx(0.004)  # a, a, b, e; error and skipped have none
    assert p_row["input_tokens"] == 600
    # latency: live calls only (the cached 5 ms is left out): 100, 200, 300;
    # nearest rank: p50 = ceil(1.5) = 2nd value, p95 = ceil(2.85) = 3rd value
    assert p_row["latency_p50_ms"] == 200.0
    assert p_row["latency_p95_ms"] == 300.0


def test_no_judged_cases_gives_nulls() -> None:
    (row,) = summary_rows([make_case("p", "a", 0, "error", latency=None, cost=None)])
    assert row["pass_rate"] is None and row["pass_rate_ci95"] is None
    # an errored call with no known cost is not an unknown-cost answer: the sum is 0
    assert row["cost_usd"] == 0.0 and row["cost_unknown_cases"] == 0
    assert row["latency_p95_ms"] is None
