"""The gate's cost rule (docs/gating.md): a rise of cost per case over
`max_cost_increase_pct` fails a group only when chance cannot explain it.

Answers of varying length make cost noisy: the same prompt, run twice, differs by more
than 10% in cost per case in 18-48% of runs of 3-20 tests (measured below). The rule
therefore asks, besides the size of the rise, either that every compared test rose by
more than the limit (a pricier model, a longer prompt), or that the tests' cost changes
lean upward beyond chance (an exact sign-flip test at alpha). Seeded simulations check
both sides of that claim with exact binomial (Clopper-Pearson) bounds.
"""

from __future__ import annotations

import math
import random

import pytest

from fakes.gate_sim import clopper_pearson
from fakes.results_factory import make_case, make_doc
from promptctl.evals.compare import compare
from promptctl.evals.stats import sign_flip_p
from promptctl.promptfile.model import GateConfig

GATE = GateConfig(bootstrap_resamples=0)  # max_cost_increase_pct 10, alpha 0.05
RUNS = 200


def _side(
    rng: random.Random,
    tests: int,
    repeats: int,
    *,
    out_scale: float = 1.0,
    price: float = 1.0,
    sigma: float = 0.5,
) -> dict[str, object]:
    """A side's results: each test its own input size, each answer a length drawn from a
    log-normal around 200 tokens (`sigma` 0.5: CV ~0.5, as a model at temperature 0.7
    gives; 0: the same answer every time)."""
    cases = []
    for t in range(tests):
        tokens_in = 100 + 50 * t
        for r in range(repeats):
            tokens_out = max(1, round(rng.lognormvariate(math.log(200 * out_scale), sigma)))
            cost = (tokens_in * 0.15 + tokens_out * 0.6) * 1e-6 * price
            cases.append(make_case("p", f"t{t}", r, "pass", cost=cost))
    return make_doc(cases)


def _trial(
    rng: random.Random, tests: int, repeats: int, *, sigma: float = 0.5, **head: float
) -> tuple[bool, bool]:
    """(the gate failed the group, the old rule - the rise alone - would have)."""
    base = _side(rng, tests, repeats, sigma=sigma)
    group = compare(base, _side(rng, tests, repeats, sigma=sigma, **head), GATE).groups[0]
    old = group.cost_change_pct is not None and group.cost_change_pct > 10
    return group.verdict == "fail", old


@pytest.mark.parametrize(
    ("tests", "repeats", "bound"),
    [(3, 1, 0.125), (5, 1, 0.05), (10, 1, 0.05), (20, 1, 0.05), (5, 3, 0.05), (20, 3, 0.05)],
)
def test_no_change_rarely_fails_on_cost(tests: int, repeats: int, bound: float) -> None:
    """Same prompt both sides: false alarms at most alpha (5+ tests), or at most 2**-n
    with fewer tests (then only a rise of every test counts), where the rise alone
    failed far more often."""
    rng = random.Random(f"cost-null-{tests}-{repeats}")
    trials = [_trial(rng, tests, repeats) for _ in range(RUNS)]
    fails = sum(new for new, _ in trials)
    old = sum(was for _, was in trials)
    assert clopper_pearson(fails, RUNS)[0] <= bound, (fails, RUNS)
    if repeats == 1:  # the noise is real: the old rule failed such runs often
        assert clopper_pearson(old, RUNS)[0] > 0.10, (old, RUNS)


def test_a_rise_of_every_test_fails_even_with_three_tests() -> None:
    """Answers of the same length every time (temperature 0) and a 50% pricier model:
    every test rose, which chance does not do to all of them."""
    rng = random.Random("cost-price")
    for _ in range(20):
        assert _trial(rng, 3, 1, price=1.5, sigma=0.0)[0]


def test_a_real_rise_is_caught_with_enough_tests() -> None:
    """Answers 40% longer (~28% more cost per case), or a 50% pricier model, on noisy
    answers: 40 tests at repeat 1, 20 at repeat 3."""
    for tests, repeats in ((40, 1), (20, 3)):
        for change in ({"out_scale": 1.4}, {"price": 1.5}):
            rng = random.Random(f"cost-power-{tests}-{repeats}-{change}")
            caught = sum(_trial(rng, tests, repeats, **change)[0] for _ in range(100))
            assert clopper_pearson(caught, 100)[1] >= 0.8, (tests, repeats, change, caught)


def test_a_rise_within_chance_is_inconclusive_and_says_why() -> None:
    costs_base = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    costs_head = [2.0, 2.0, 0.9, 0.9, 0.9, 0.9]  # +27% per case, carried by two tests
    base = make_doc([make_case("p", f"t{i}", 0, "pass", cost=c) for i, c in enumerate(costs_base)])
    head = make_doc([make_case("p", f"t{i}", 0, "pass", cost=c) for i, c in enumerate(costs_head)])
    group = compare(base, head, GATE).groups[0]
    assert group.verdict == "inconclusive"
    assert group.cost_tests == 6 and not group.cost_uniform
    assert group.cost_p_value == pytest.approx(sign_flip_p([1.0, 1.0, -0.1, -0.1, -0.1, -0.1]))
    (reason,) = [r for r in group.reasons if r.startswith("cost per case")]
    assert reason.startswith("cost per case up 26.7% (> 10%), but within what chance gives: 6")
    assert "p=0.25 > alpha 0.05" in reason and "--repeat 3" in reason


def test_a_consistent_rise_over_many_tests_fails_with_its_p_value() -> None:
    base = make_doc([make_case("p", f"t{i}", 0, "pass", cost=1.0) for i in range(8)])
    head_costs = [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.05]  # the last rose by 5% only
    head = make_doc([make_case("p", f"t{i}", 0, "pass", cost=c) for i, c in enumerate(head_costs)])
    group = compare(base, head, GATE).groups[0]
    assert group.verdict == "fail" and not group.cost_uniform
    reason = "cost per case up 44.4% (> 10%); p=0.0039, Holm-adjusted p=0.0039 <= alpha 0.05"
    assert any(reason in r for r in group.reasons), group.reasons


@pytest.mark.parametrize(
    ("differences", "expected"),
    [
        ([], 1.0),
        ([0.0, 0.0], 1.0),
        ([1.0], 0.5),
        ([1.0, -1.0], 0.75),
        ([1.0] * 5, 1 / 32),
        ([3.0, -1.0, -1.0], 0.5),  # +3 beats every sign pattern except those flipping it
    ],
)
def test_sign_flip_p_is_exact_for_few_differences(
    differences: list[float], expected: float
) -> None:
    assert sign_flip_p(differences) == pytest.approx(expected)


def test_sign_flip_p_normal_approximation_agrees_with_the_exact_count() -> None:
    rng = random.Random(7)
    d = [rng.gauss(0.3, 1.0) for _ in range(16)]
    exact = sign_flip_p(d, exact_up_to=16)
    approx = sign_flip_p(d, exact_up_to=0)
    assert abs(exact - approx) < 0.03, (exact, approx)


def test_the_headline_names_cost_when_only_cost_is_within_chance() -> None:
    """80 stable tests settle the pass rate; the cost rose 15% with half the tests
    cheaper, half dearer (p ~0.10): the PR's first line says what is inconclusive."""
    from promptctl.report.diff_report import verdict_line

    base = make_doc([make_case("p", f"t{i}", 0, "pass", cost=1.0) for i in range(80)])
    head_costs = [2.2] * 40 + [0.1] * 40
    head = make_doc([make_case("p", f"t{i}", 0, "pass", cost=c) for i, c in enumerate(head_costs)])
    comparison = compare(base, head, GATE)
    group = comparison.groups[0]
    assert group.verdict == "inconclusive" and group.required_tests is not None
    assert group.paired_tests >= group.required_tests  # the pass rate is settled
    assert verdict_line(comparison) == (
        "⚠️ promptctl: inconclusive in p (openai/gpt-4o-mini): cost per case rose, "
        "within what chance gives"
    )


def _group_doc(groups: int, costs: list[float]) -> dict[str, object]:
    return make_doc(
        [
            make_case(f"p{g}", f"t{i}", 0, "pass", cost=c)
            for g in range(groups)
            for i, c in enumerate(costs)
        ]
    )


def test_many_changed_prompts_share_one_cost_family() -> None:
    """20 prompts, each with a rise that one test alone would call significant
    (p=0.031 < 0.05): Holm over the 20 makes each inconclusive, not 20 failures."""
    base = _group_doc(20, [1.0] * 5)
    head = _group_doc(20, [1.5, 1.5, 1.5, 1.5, 1.05])  # +41%, the last test +5% only
    comparison = compare(base, head, GATE)
    assert {g.verdict for g in comparison.groups} == {"inconclusive"}
    group = comparison.groups[0]
    assert group.cost_p_value == pytest.approx(1 / 32)
    assert group.cost_p_adjusted == pytest.approx(min(1.0, 20 / 32))
    one = compare(_group_doc(1, [1.0] * 5), _group_doc(1, [1.5, 1.5, 1.5, 1.5, 1.05]), GATE)
    assert one.groups[0].verdict == "fail"  # alone, the same rise fails


def test_no_change_rarely_fails_a_family_of_many_prompts_on_cost() -> None:
    """20 prompts of 10 noisy tests each, nothing changed: the report fails (any group on
    cost) at most alpha of the time, where per-group tests failed ~1 - 0.95**20."""
    rng = random.Random("cost-family")
    runs = 100
    failed = 0
    for _ in range(runs):
        docs = []
        for _side_name in ("base", "head"):
            cases = []
            for g in range(20):
                side = _side(rng, 10, 1)
                cases += [dict(c, prompt=f"p{g}", key=f"p{g}::{c['key']}") for c in side["cases"]]
            docs.append(make_doc(cases))
        failed += compare(docs[0], docs[1], GATE).verdict == "fail"
    assert clopper_pearson(failed, runs)[0] <= 0.05, (failed, runs)
