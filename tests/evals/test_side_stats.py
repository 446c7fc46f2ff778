"""Cost per case and unknown prices on one side of the gate, and the cost gate's notes."""

from typing import Any

import pytest

from fakes.results_factory import make_case, make_doc
from promptctl.evals.aggregate import cost_figures
from promptctl.evals.compare import compare
from promptctl.evals.side_stats import side_stats
from promptctl.promptfile.model import GateConfig

GATE = GateConfig(bootstrap_resamples=0)
LOCAL = "local/llama3"


def test_errored_and_skipped_cases_do_not_dilute_cost_per_case() -> None:
    stats = side_stats(
        [
            make_case("p", "a", 0, "pass", cost=0.002),
            make_case("p", "b", 0, "fail", cost=0.004),
            make_case("p", "c", 0, "error", cost=0.0),  # an error records $0: no answer bought
            make_case("p", "d", 0, "skipped"),
        ]
    )
    assert stats.cost_per_case == pytest.approx(0.003)  # (0.002 + 0.004) / 2, not / 3
    assert stats.total_cost == pytest.approx(0.006)
    assert stats.cost_unknown_cases == 0


def test_cost_figures_divide_by_priced_cases_only() -> None:
    figures = cost_figures([0.001, None, 0.003])
    assert (figures.priced, figures.unknown) == (2, 1)
    assert figures.total == pytest.approx(0.004)
    assert figures.per_case == pytest.approx(0.002)
    assert cost_figures([None, None]).per_case is None


def test_cases_without_version_or_hash_are_fine() -> None:
    """Gate simulations build bare cases: no version, content_hash, usage or target."""
    stats = side_stats([{"status": "pass", "cost_usd": None}, {"status": "fail"}])
    assert stats.pass_rate == 0.5
    assert stats.cost_per_case is None and stats.cost_unknown_cases == 2


def _side(
    costs: dict[str, float | None], *, target: str = LOCAL, cached: bool = False
) -> dict[str, Any]:
    return make_doc(
        [
            make_case("p", t, r, "pass", cost=c, target=target, cached=cached)
            for t, c in costs.items()
            for r in (0, 1)
        ]
    )


def test_unpriced_side_makes_cost_unknown_and_skips_the_cost_gate() -> None:
    base = _side(dict.fromkeys(("t0", "t1", "t2", "t3")))
    head = _side(dict.fromkeys(("t0", "t1", "t2", "t3"), 0.01))  # e.g. a price override added
    (group,) = compare(base, head, GATE).groups
    assert group.base is not None and group.base.cost_per_case is None
    assert group.base.total_cost is None and group.base.cost_unknown_cases == 8
    assert group.cost_change_pct is None
    assert group.cost_note == "cost gate skipped: cost unknown on base: no price for local/llama3"
    off = GateConfig(bootstrap_resamples=0, max_cost_increase_pct=None)
    (group,) = compare(base, base, off).groups
    assert group.cost_note == (
        "cost not compared: cost unknown on base and head: no price for local/llama3"
    )


def test_partial_unknown_compares_the_tests_priced_on_both_sides() -> None:
    base = _side({"t0": 0.001, "t1": 0.001, "t2": 0.003, "t3": 0.003})
    head = _side({"t0": 0.001, "t1": 0.001, "t2": None, "t3": None})
    comparison = compare(base, head, GATE)
    (group,) = comparison.groups
    assert group.head is not None and group.head.cost_per_case == pytest.approx(0.001)
    assert group.head.cost_unknown_cases == 4
    # whole sides would say -50% (0.001 vs 0.002); on t0, t1 both cost 0.001
    assert group.cost_change_pct == pytest.approx(0.0)
    assert group.cost_note == (
        "cost per case compared over the 2 of 4 tests priced on both sides "
        "(unpriced answers: base 0, head 4)"
    )
    dearer = compare(base, _side({"t0": 0.002, "t1": 0.002, "t2": None, "t3": None}), GATE)
    assert dearer.verdict == "fail"
    assert "cost per case up 100.0% (> 10%)" in dearer.reasons[0]


def test_cached_answers_count_at_their_recorded_cost() -> None:
    live = _side({"t0": 0.002, "t1": 0.002, "t2": 0.002, "t3": 0.002})
    cached = _side({"t0": 0.002, "t1": 0.002, "t2": 0.002, "t3": 0.002}, cached=True)
    comparison = compare(live, cached, GATE)
    (group,) = comparison.groups
    assert group.head is not None and group.head.cost_per_case == pytest.approx(0.002)
    assert group.head.total_cost == pytest.approx(0.016)
    assert group.cost_change_pct == pytest.approx(0.0) and group.cost_note is None
    assert group.head.latency_p95_ms is None  # a cache hit was not timed


def test_no_common_test_means_no_cost_change() -> None:
    base = make_doc([make_case("p", "a", 0, "pass", cost=0.001)])
    head = make_doc([make_case("p", "b", 0, "pass", cost=0.009)])
    (group,) = compare(base, head, GATE).groups
    assert group.cost_change_pct is None
