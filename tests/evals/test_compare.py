import json

import pytest

from fakes.results_factory import doc_from_outcomes, make_case, make_doc
from promptctl.evals.compare import compare
from promptctl.evals.comparison import Comparison, comparison_from_dict, comparison_to_dict
from promptctl.promptfile.model import GateConfig

GATE = GateConfig(bootstrap_resamples=200)


def _statuses(comparison: Comparison) -> dict[str, str]:
    return {t.test: t.status for g in comparison.groups for t in g.tests}


def test_per_test_classification() -> None:
    base = doc_from_outcomes(
        {"p": {"a": "PP", "b": "PP", "c": "FF", "d": "FF", "e": "PF", "g": "PP"}}
    )
    head = doc_from_outcomes(
        {"p": {"a": "PP", "b": "FF", "c": "PP", "d": "FF", "e": "PP", "f": "P"}}
    )
    result = compare(base, head, GATE)
    assert _statuses(result) == {
        "a": "passing",
        "b": "regressed",
        "c": "fixed",
        "d": "still_failing",
        "e": "flaky",
        "g": "removed",
        "f": "new",
    }
    flaky = next(t for t in result.groups[0].tests if t.test == "e")
    assert (flaky.base_rate, flaky.head_rate) == (0.5, 1.0)
    regressed = next(t for t in result.groups[0].tests if t.test == "b")
    assert regressed.reasons == ("equals: expected 'billing', got 'other'",)
    assert regressed.head_output == "other" and regressed.base_output == "billing"
    # a flaky test in the group: an all-pass -> all-fail flip may be chance, so no hard fail
    assert result.verdict != "fail"


def test_hard_regression_with_stable_repeats_fails() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "PPP" for i in range(5)}})
    head = doc_from_outcomes({"p": {"t0": "FFF", **{f"t{i}": "PPP" for i in range(1, 5)}}})
    result = compare(base, head, GATE)
    assert result.verdict == "fail"
    assert "always passed and now always fail: t0" in result.reasons[0]
    off = compare(base, head, GateConfig(fail_on_new_failures=False))
    assert off.verdict != "fail"


def test_single_shot_regression_subject_to_tolerance() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "P" for i in range(10)}})
    head = doc_from_outcomes({"p": {"t0": "F", **{f"t{i}": "P" for i in range(1, 10)}}})
    assert compare(base, head, GATE).verdict == "fail"
    tolerant = compare(base, head, GateConfig(max_pass_rate_drop=0.2))
    assert tolerant.verdict == "inconclusive"  # 1/10 = 10% <= 20%, and 10 tests are too few


def _worse_better(worse: int, better: int, same: int) -> tuple[dict[str, str], dict[str, str]]:
    base: dict[str, str] = {}
    head: dict[str, str] = {}
    for i in range(worse):
        base[f"w{i}"], head[f"w{i}"] = "PPP", "PPF"
    for i in range(better):
        base[f"b{i}"], head[f"b{i}"] = "PPF", "PPP"
    for i in range(same):
        base[f"s{i}"], head[f"s{i}"] = "PPP", "PPP"
    return base, head


def test_significant_drop_fails_and_holm_corrects_for_two_groups() -> None:
    # 10 worse, 2 better: sign test p = 2 * (1 + 12 + 66) / 4096 = 0.0386 < 0.05
    b, h = _worse_better(10, 2, 5)
    one = compare(doc_from_outcomes({"p": b}), doc_from_outcomes({"p": h}), GATE)
    assert one.verdict == "fail"
    assert one.groups[0].p_value == pytest.approx(158 / 4096)
    # the same evidence twice: Holm doubles the smallest p-value -> 0.077 > 0.05, no fail
    two = compare(doc_from_outcomes({"p": b, "q": b}), doc_from_outcomes({"p": h, "q": h}), GATE)
    assert [g.p_adjusted for g in two.groups] == pytest.approx([316 / 4096] * 2)
    assert all(g.verdict != "fail" for g in two.groups)


def test_inconclusive_says_how_many_tests_are_needed() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "P" for i in range(5)}})
    result = compare(base, base, GATE)
    assert result.verdict == "inconclusive"
    # no discordant pairs: psi = drop = 0.10 -> 77 tests (see test_stats)
    assert "needs >= 77 tests" in result.reasons[0]
    stable = doc_from_outcomes({"p": {f"t{i}": "PP" for i in range(5)}})
    assert compare(stable, stable, GATE).verdict == "pass"  # repeats agree: flips would show


def test_too_many_errors_is_error_verdict() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "PP" for i in range(5)}})
    head = doc_from_outcomes({"p": {"t0": "EE", "t1": "EE", "t2": "PP", "t3": "PP", "t4": "PP"}})
    result = compare(base, head, GATE)
    assert result.verdict == "error"
    assert "4 of 10 cases errored on the head" in result.reasons[0]
    assert _statuses(result)["t0"] == "errored"
    assert compare(base, head, GateConfig(max_error_rate=0.5)).verdict == "pass"


def test_cost_gate() -> None:
    outcomes = {"p": {f"t{i}": "PP" for i in range(5)}}
    base = doc_from_outcomes(outcomes, cost=0.001)
    pricier = compare(base, doc_from_outcomes(outcomes, cost=0.0012), GATE)
    assert pricier.verdict == "fail"
    assert pricier.groups[0].cost_change_pct == pytest.approx(20.0)
    assert "cost per case up 20.0% (> 10%)" in pricier.reasons[0]
    assert compare(base, doc_from_outcomes(outcomes, cost=0.00105), GATE).verdict == "pass"
    lenient = GateConfig(max_cost_increase_pct=None)
    assert compare(base, doc_from_outcomes(outcomes, cost=0.01), lenient).verdict == "pass"


def test_latency_gate_off_by_default() -> None:
    outcomes = {"p": {f"t{i}": "PP" for i in range(5)}}
    base = doc_from_outcomes(outcomes, latency=100.0)
    head = doc_from_outcomes(outcomes, latency=400.0)
    assert compare(base, head, GATE).verdict == "pass"
    on = compare(base, head, GateConfig(max_p95_latency_increase_pct=50))
    assert on.verdict == "fail"
    assert on.groups[0].latency_p95_change_pct == pytest.approx(300.0)


def test_flaky_does_not_fail_unless_configured() -> None:
    base = doc_from_outcomes({"p": {"t0": "PPPP", **{f"t{i}": "PP" for i in range(1, 4)}}})
    head = doc_from_outcomes({"p": {"t0": "PFPF", **{f"t{i}": "PP" for i in range(1, 4)}}})
    assert compare(base, head, GATE).verdict != "fail"
    strict = compare(base, head, GateConfig(flaky_fails=True))
    assert strict.verdict == "fail"
    assert "flaky" in strict.reasons[0]


def test_group_stats_both_sides() -> None:
    base = make_doc([make_case("p", "t", 0, "pass", latency=100.0, cost=0.002)])
    head = make_doc(
        [
            make_case("p", "t", 0, "pass", latency=200.0, cost=0.001),
            make_case("p", "u", 0, "fail", latency=300.0, cost=0.001),
        ]
    )
    group = compare(base, head, GATE).groups[0]
    assert group.base is not None and group.head is not None
    assert (group.base.pass_rate, group.head.pass_rate) == (1.0, 0.5)
    assert group.head.total_cost == pytest.approx(0.002)
    assert group.head.latency_p50_ms == 200.0  # nearest rank of 200, 300: ceil(1) = 1st
    assert group.cost_change_pct == pytest.approx(-50.0)


def test_json_round_trip() -> None:
    b, h = _worse_better(10, 2, 5)
    result = compare(doc_from_outcomes({"p": b}), doc_from_outcomes({"p": h}), GATE)
    assert result.groups[0].score_change_ci95 is not None
    data = json.loads(json.dumps(comparison_to_dict(result)))
    assert data["schema"] == "promptctl/comparison@1"
    assert comparison_from_dict(data) == result


def test_no_common_tests_is_inconclusive() -> None:
    base = doc_from_outcomes({"p": {"old": "PP"}})
    head = doc_from_outcomes({"p": {"new": "PF"}})
    result = compare(base, head, GATE)
    assert result.verdict == "inconclusive"
    assert result.reasons == ("p (openai/gpt-4o-mini): no test has results on both sides",)


def test_a_new_test_failing_every_run_fails_the_gate() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "PPP" for i in range(5)}})
    head = doc_from_outcomes({"p": {**{f"t{i}": "PPP" for i in range(5)}, "n": "FFF"}})
    result = compare(base, head, GATE)
    assert result.verdict == "fail"
    assert result.reasons == ("p (openai/gpt-4o-mini): 1 new test(s) fail on every run: n",)
    assert compare(base, head, GateConfig(fail_on_new_failures=False)).verdict != "fail"
    # a new test that passes sometimes does not move the verdict
    sometimes = doc_from_outcomes({"p": {**{f"t{i}": "PPP" for i in range(5)}, "n": "FPF"}})
    assert compare(base, sometimes, GATE).verdict != "fail"


def test_one_flaky_test_does_not_hide_a_hard_regression() -> None:
    stable = {f"t{i}": "PPP" for i in range(1, 100)}
    base = doc_from_outcomes({"p": {"t0": "PPP", "flaky": "PFP", **stable}})
    head = doc_from_outcomes({"p": {"t0": "FFF", "flaky": "FPP", **stable}})
    result = compare(base, head, GATE)
    assert result.verdict == "fail"
    assert "always passed and now always fail: t0" in " ".join(result.reasons)


def test_cost_change_is_measured_on_common_tests() -> None:
    base = make_doc([make_case("p", f"t{i}", r, "pass") for i in range(3) for r in (0, 1)])
    head = make_doc(
        [
            *(make_case("p", f"t{i}", r, "pass") for i in range(3) for r in (0, 1)),
            *(make_case("p", "long-input", r, "pass", cost=0.05) for r in (0, 1)),
        ]
    )
    group = compare(base, head, GATE).groups[0]
    assert group.head is not None and group.head.cost_per_case == pytest.approx(
        (6 * 0.001 + 2 * 0.05) / 8
    )
    assert group.cost_change_pct == pytest.approx(0.0)  # the new test does not count
    assert group.verdict == "pass"
