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


STABLE = {f"t{i}": "PPP" for i in range(40)}  # 40 tests: enough to judge a 10-point drop


def test_hard_regressions_are_judged_against_the_tests_that_could_flip() -> None:
    base = doc_from_outcomes({"p": STABLE})
    head = doc_from_outcomes({"p": {**STABLE, "t0": "FFF", "t1": "FFF", "t2": "FFF"}})
    result = compare(base, head, GATE)
    assert result.verdict == "fail"
    group = result.groups[0]
    # only the 3 flipped tests have 3 passes in 6 runs; each split 3/3 -> 0/3 has chance
    # 1/C(6,3) = 1/20 given that total, so all three: 1/8000
    assert (group.hard_flips, group.hard_candidates) == (3, 3)
    assert group.hard_p_value == pytest.approx(1 / 8000)
    assert "3 test(s) always passed and now always fail: t0, t1, t2" in result.reasons[1]
    # without the hard rule, the pass-rate test still sees the same drop
    off = compare(base, head, GateConfig(fail_on_new_failures=False, bootstrap_resamples=0))
    assert off.verdict == "fail" and off.groups[0].hard_p_adjusted is None
    assert not any("always fail" in r for r in off.reasons)


def test_a_chance_flip_in_a_noisy_group_does_not_fail() -> None:
    # 20 tests with 3 passes in 6 runs (10 went 2/3 -> 1/3, 10 went 1/3 -> 2/3), one of
    # them 3/3 -> 0/3: P(at least 1 of 20 such splits) = 1 - 0.95**20 = 0.64
    noisy_b = {f"n{i}": "PFP" if i < 10 else "FPF" for i in range(19)}
    noisy_h = {f"n{i}": "FPF" if i < 10 else "PFP" for i in range(19)}
    base = doc_from_outcomes({"p": {**STABLE, **noisy_b}})
    head = doc_from_outcomes({"p": {**STABLE, **noisy_h, "t0": "FFF"}})
    group = compare(base, head, GATE).groups[0]
    assert (group.hard_flips, group.hard_candidates) == (1, 20)
    assert group.hard_p_value == pytest.approx(1 - 0.95**20)
    assert group.verdict != "fail"


def test_a_single_hard_flip_is_significant_with_five_repeats() -> None:
    stable5 = {f"t{i}": "PPPPP" for i in range(40)}
    head = doc_from_outcomes({"p": {**stable5, "t0": "FFFFF"}})
    group = compare(doc_from_outcomes({"p": stable5}), head, GATE).groups[0]
    assert group.hard_p_value == pytest.approx(1 / 252)  # 1 / C(10, 5)
    assert group.hard_p_adjusted == pytest.approx(2 / 252)  # Holm with the pass-rate test
    assert group.verdict == "fail"


def test_single_run_flips_are_evidence_only_through_the_test() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "P" for i in range(10)}})
    head = doc_from_outcomes({"p": {"t0": "F", **{f"t{i}": "P" for i in range(1, 10)}}})
    result = compare(base, head, GATE)
    assert result.verdict == "inconclusive"  # p = 1/2: one flip is no evidence
    assert result.groups[0].hard_p_value is None  # no hard rule at one run a side
    # the observed discordance (1 of 10 tests, variance 1/4 each) adds .025 per test to
    # the .025 of a starting drop: 6.1826 * .05 / .05**2 = 123.7; at 3 runs the observed
    # part scales to .075: 6.1826 * (.075 + .072) / .15**2 = 40.4
    assert "needs >= 124 tests at 1 repeat(s), or >= 41 tests with --repeat 3" in result.reasons[0]
    many_b = {f"t{i}": "P" for i in range(100)}
    many_h = {**many_b, **{f"t{i}": "F" for i in range(8)}}
    worse = compare(doc_from_outcomes({"p": many_b}), doc_from_outcomes({"p": many_h}), GATE)
    assert worse.groups[0].p_value == pytest.approx(2**-8)  # 8 worse, 0 better: one-sided
    assert worse.verdict == "fail"


def test_the_margin_is_tested_not_compared_with_the_estimate() -> None:
    gate = GateConfig(max_pass_rate_drop=0.05, bootstrap_resamples=0)
    base = {f"t{i}": "P" for i in range(200)}
    inside = compare(
        doc_from_outcomes({"p": base}),
        doc_from_outcomes({"p": {**base, **{f"t{i}": "F" for i in range(12)}}}),
        gate,
    )
    # a 6% drop is above the 5% margin but not significantly: mean .06, spread around
    # the margin sqrt((12 * .95**2 + 188 * .05**2) / 200) = .23770, se .016808,
    # continuity correction 1 / 400: z = (.06 - .05 - .0025) / .016808 = 0.446, p = 0.328
    assert inside.groups[0].margin_p_value == pytest.approx(0.3278, abs=1e-3)
    assert inside.verdict != "fail"
    beyond = compare(
        doc_from_outcomes({"p": base}),
        doc_from_outcomes({"p": {**base, **{f"t{i}": "F" for i in range(40)}}}),
        gate,
    )
    assert beyond.verdict == "fail"
    assert "significantly more than max_pass_rate_drop 5.0%" in beyond.reasons[0]


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


def test_significant_drop_fails_and_holm_corrects_over_all_groups() -> None:
    # 10 worse (3/3 -> 2/3), 2 better (2/3 -> 3/3): each is 5 passes in 6 runs, where the
    # head holds 2 or 3 of them with chance 1/2: the one-sided sign test,
    # P(X <= 2), X ~ Bin(12, 1/2) = (1 + 12 + 66) / 4096 = 0.0193
    b, h = _worse_better(10, 2, 5)
    one = compare(doc_from_outcomes({"p": b}), doc_from_outcomes({"p": h}), GATE)
    assert one.verdict == "fail"
    assert one.groups[0].p_value == pytest.approx(79 / 4096)
    # the same evidence in three groups: Holm triples the smallest p -> 0.058 > 0.05
    three = {"p": b, "q": b, "r": b}, {"p": h, "q": h, "r": h}
    result = compare(doc_from_outcomes(three[0]), doc_from_outcomes(three[1]), GATE)
    assert [g.p_adjusted for g in result.groups] == pytest.approx([237 / 4096] * 3)
    assert all(g.verdict != "fail" for g in result.groups)


def test_groups_that_cannot_reach_alpha_do_not_dilute_the_family() -> None:
    b, h = _worse_better(10, 2, 5)
    stable = {f"s{i}": "PPP" for i in range(30)}
    result = compare(
        doc_from_outcomes({"p": b, "q": stable}), doc_from_outcomes({"p": h, "q": stable}), GATE
    )
    p, q = result.groups
    assert q.p_value == 1.0 and q.p_adjusted is None  # no mixed outcome: nothing to test
    assert p.p_adjusted == pytest.approx(79 / 4096)  # a family of one
    assert p.verdict == "fail" and q.verdict == "pass"


def test_inconclusive_says_how_many_tests_are_needed() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "P" for i in range(5)}})
    result = compare(base, base, GATE)
    assert result.verdict == "inconclusive"
    # no mixed outcome; a stable test starting to fail 10% of the time adds variance
    # 0.1 * 1/4 = 0.025 at one run, and moves the head by 0.1 / 2 per test:
    # (1.6449 + 0.8416)**2 * 0.025 / 0.05**2 = 61.8 -> 62 (floor log2(20) / 0.1 = 44);
    # at 3 runs: variance .243 * .25 + .027 * .4 + .001 * .45 = .07200, shift .15:
    # 6.1826 * .072 / .0225 = 19.8 -> 20
    assert "needs >= 62 tests at 1 repeat(s), or >= 20 tests with --repeat 3" in result.reasons[0]
    stable = doc_from_outcomes({"p": {f"t{i}": "PPP" for i in range(20)}})
    assert compare(stable, stable, GATE).verdict == "pass"
    fewer = doc_from_outcomes({"p": {f"t{i}": "PPP" for i in range(19)}})
    assert compare(fewer, fewer, GATE).verdict == "inconclusive"


def test_too_many_errors_is_error_verdict() -> None:
    base = doc_from_outcomes({"p": {f"t{i}": "PP" for i in range(5)}})
    head = doc_from_outcomes({"p": {"t0": "EE", "t1": "EE", "t2": "PP", "t3": "PP", "t4": "PP"}})
    result = compare(base, head, GATE)
    assert result.verdict == "error"
    assert "4 of 10 cases errored on the head" in result.reasons[0]
    assert _statuses(result)["t0"] == "errored"
    tolerant = compare(base, head, GateConfig(max_error_rate=0.5))
    assert tolerant.groups[0].errors_counted == 2 and tolerant.groups[0].worse == 2
    assert tolerant.verdict == "inconclusive"  # 2 of 5 tests: too few to tell


def test_errored_tests_count_as_failing_not_dropped() -> None:
    base = doc_from_outcomes({"p": STABLE})
    head = doc_from_outcomes({"p": {**STABLE, **{f"t{i}": "EEE" for i in range(8)}}})
    result = compare(base, head, GATE)  # 24 of 120 runs errored: 20%, not above the limit
    group = result.groups[0]
    assert (group.worse, group.errors_counted, group.set_aside) == (8, 8, 0)
    assert result.verdict == "fail"
    note = "p (openai/gpt-4o-mini): 8 paired test(s) had errored runs, counted as failures"
    assert note in result.reasons
    both = doc_from_outcomes({"p": {**STABLE, "t0": "EEE"}})
    aside = compare(both, both, GATE).groups[0]
    assert aside.set_aside == 1 and aside.paired_tests == 39


def test_a_model_change_is_compared_across_the_change() -> None:
    base = doc_from_outcomes({"p": STABLE}, target="openai/gpt-4o-mini", cost=0.001)
    head = doc_from_outcomes({"p": STABLE}, target="openai/gpt-4o", cost=0.01)
    result = compare(base, head, GATE)
    (group,) = result.groups
    assert group.model_change == "openai/gpt-4o-mini → openai/gpt-4o"
    assert group.paired_tests == 40
    assert group.cost_change_pct == pytest.approx(900.0)
    assert result.verdict == "fail"
    assert result.reasons == (
        "p (openai/gpt-4o): model changed: openai/gpt-4o-mini → openai/gpt-4o",
        "p (openai/gpt-4o): cost per case up 900.0% (> 10%)",
    )
    same_price = doc_from_outcomes({"p": STABLE}, target="azure/gpt-4o-mini", cost=0.001)
    renamed = compare(base, same_price, GATE)
    assert renamed.verdict == "pass"
    assert renamed.reasons == (
        "p (azure/gpt-4o-mini): model changed: openai/gpt-4o-mini → azure/gpt-4o-mini",
    )


def test_cost_gate() -> None:
    outcomes = {"p": STABLE}
    base = doc_from_outcomes(outcomes, cost=0.001)
    pricier = compare(base, doc_from_outcomes(outcomes, cost=0.0012), GATE)
    assert pricier.verdict == "fail"
    assert pricier.groups[0].cost_change_pct == pytest.approx(20.0)
    assert "cost per case up 20.0% (> 10%)" in pricier.reasons[0]
    assert compare(base, doc_from_outcomes(outcomes, cost=0.00105), GATE).verdict == "pass"
    lenient = GateConfig(max_cost_increase_pct=None)
    assert compare(base, doc_from_outcomes(outcomes, cost=0.01), lenient).verdict == "pass"


def test_latency_gate_off_by_default() -> None:
    outcomes = {"p": STABLE}
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


def test_one_flaky_test_does_not_hide_hard_regressions() -> None:
    stable = {f"t{i}": "PPP" for i in range(3, 100)}
    flips = {f"t{i}": "FFF" for i in range(3)}
    base = doc_from_outcomes(
        {"p": {"t0": "PPP", "t1": "PPP", "t2": "PPP", "flaky": "PFP", **stable}}
    )
    head = doc_from_outcomes({"p": {**flips, "flaky": "FFP", **stable}})
    result = compare(base, head, GATE)
    group = result.groups[0]
    # 4 tests could split 3/3 -> 0/3 (the flaky one has 3 passes in 6 too); 3 did:
    # P(>= 3 of 4 at 1/20) = 4 * .05**3 * .95 + .05**4
    assert (group.hard_flips, group.hard_candidates) == (3, 4)
    assert group.hard_p_value == pytest.approx(4 * 0.05**3 * 0.95 + 0.05**4)
    assert result.verdict == "fail"
    assert "always passed and now always fail: t0, t1, t2" in " ".join(result.reasons)


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
    assert group.verdict == "inconclusive"  # 3 tests; and no cost reason
    assert not any("cost" in r for r in group.reasons)


def test_old_comparison_documents_still_load() -> None:
    """Documents written before issue 9 lack the new group fields: they get defaults."""
    base = doc_from_outcomes({"p": STABLE})
    data = json.loads(json.dumps(comparison_to_dict(compare(base, base, GATE))))
    new = ("hard_flips", "hard_candidates", "hard_p_value", "hard_p_adjusted", "set_aside")
    new += ("margin_p_value", "margin_p_adjusted", "errors_counted", "base_target")
    for group in data["groups"]:
        for key in new:
            del group[key]
    (group,) = comparison_from_dict(data).groups
    assert (group.hard_flips, group.hard_p_value, group.base_target) == (0, None, None)
    assert group.model_change is None and group.paired_tests == 40
