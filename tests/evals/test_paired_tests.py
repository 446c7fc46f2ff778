"""The gate's conditional tests against brute-force enumeration with exact fractions."""

import itertools
import math
import random
from fractions import Fraction
from statistics import NormalDist

import pytest

from promptctl.evals import paired_tests
from promptctl.evals.paired_tests import (
    Outcome,
    hard_flip_test,
    margin_test,
    required_tests,
    shift_test,
)
from promptctl.evals.stats import sign_test


def _brute_shift(outcomes: list[Outcome]) -> Fraction:
    """Enumerate every arrangement of each test's passes over its base and head runs."""
    dists = []
    for o in outcomes:
        runs = o.base_runs + o.head_runs
        counts: dict[int, int] = {}
        for chosen in itertools.combinations(range(runs), o.passes):
            head = sum(1 for i in chosen if i >= o.base_runs)
            counts[head] = counts.get(head, 0) + 1
        total = sum(counts.values())
        dists.append({k: Fraction(v, total) for k, v in counts.items()})
    conv = {0: Fraction(1)}
    for d in dists:
        nxt: dict[int, Fraction] = {}
        for a, pa in conv.items():
            for b, pb in d.items():
                nxt[a + b] = nxt.get(a + b, Fraction(0)) + pa * pb
        conv = nxt
    observed = sum(o.head_passed for o in outcomes)
    return sum((p for t, p in conv.items() if t <= observed), Fraction(0))


def _random_outcomes(rng: random.Random) -> list[Outcome]:
    out = []
    for _ in range(rng.randint(1, 9)):
        n_b = rng.choice([1, 1, 2, 3])
        n_h = n_b if rng.random() < 0.7 else rng.choice([1, 2, 3])
        out.append(Outcome(rng.randint(0, n_b), n_b, rng.randint(0, n_h), n_h))
    return out


def test_shift_test_equals_enumeration() -> None:
    rng = random.Random(4)
    for _ in range(150):
        outcomes = _random_outcomes(rng)
        expected = float(_brute_shift(outcomes))
        assert shift_test(outcomes).p_value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_one_run_a_side_is_the_one_sided_sign_test() -> None:
    worse = [Outcome(1, 1, 0, 1)] * 9
    better = [Outcome(0, 1, 1, 1)] * 3
    same = [Outcome(1, 1, 1, 1)] * 20
    result = shift_test(worse + better + same)
    assert result.p_value == pytest.approx(sign_test(3, 12, alternative="less"))
    assert result.p_min == pytest.approx(2**-12)


def test_normal_approximation_for_huge_suites(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(9)
    outcomes = [
        Outcome(b, 3, h, 3)
        for p in [rng.choice((0.5, 0.7, 0.9)) for _ in range(400)]
        for b, h in [
            (sum(rng.random() < p for _ in range(3)), sum(rng.random() < p for _ in range(3)))
        ]
    ]
    exact = shift_test(outcomes).p_value
    monkeypatch.setattr(paired_tests, "EXACT_BITS", 0)
    approx = shift_test(outcomes).p_value
    assert approx == pytest.approx(exact, abs=0.01)


def test_hard_flip_test_counts_only_tests_that_could_split() -> None:
    flips = [Outcome(3, 3, 0, 3)] * 2
    could = [Outcome(2, 3, 1, 3)] * 3  # 3 passes in 6: could have split 3/3 -> 0/3
    cannot = [Outcome(3, 3, 2, 3), Outcome(3, 3, 3, 3), Outcome(1, 1, 0, 1)]
    result = hard_flip_test(flips + could + cannot)
    q = Fraction(1, 20)
    # P(at least 2 of 5 at 1/20) = 1 - P(0) - P(1)
    expected = 1 - (1 - q) ** 5 - 5 * q * (1 - q) ** 4
    assert result.p_value == pytest.approx(float(expected))
    assert result.p_min == pytest.approx(float(q**5))
    assert hard_flip_test(cannot).p_min == 1.0  # nothing could flip: never in the family


def test_hard_flip_with_unequal_runs() -> None:
    # 2 base runs, 4 head runs: the split "both base pass, no head pass" given 2 passes
    # in 6 runs has chance 1 / C(6, 2) = 1/15
    result = hard_flip_test([Outcome(2, 2, 0, 4)])
    assert result.p_value == pytest.approx(1 / 15)


def test_margin_test_hand_computed() -> None:
    # drops 1/3 (6 tests) and 0 (6 tests): mean 1/6; spread around the margin .05:
    # sqrt((6 * (1/3 - .05)**2 + 6 * .05**2) / 12) = 0.20344, se 0.058729; continuity
    # correction 1 / (2 * 12 * 3) = 0.013889;
    # z = (0.16667 - 0.05 - 0.013889) / 0.058729 = 1.7500, p = 0.040056
    outcomes = [Outcome(3, 3, 2, 3)] * 6 + [Outcome(3, 3, 3, 3)] * 6
    assert margin_test(outcomes, 0.05) == pytest.approx(0.040056, abs=2e-6)
    assert margin_test(outcomes, 0.3) > 0.9
    # all dropped: spread .5 around .5; z = (.5 - 1/10) / (.5 / sqrt 5)
    all_dropped = [Outcome(1, 1, 0, 1)] * 5
    expected = NormalDist().cdf(-0.4 / (0.5 / math.sqrt(5)))
    assert margin_test(all_dropped, 0.5) == pytest.approx(expected)
    assert margin_test([Outcome(1, 1, 0, 1)], 0.5) == 1.0  # one test: no evidence


def test_required_tests_grows_with_noise_family_and_a_smaller_effect() -> None:
    stable = [Outcome(3, 3, 3, 3)] * 50
    noisy = [Outcome(2, 3, 1, 3), Outcome(1, 3, 2, 3)] * 25
    base = required_tests(stable, 0.1, 0.05, repeats=3)
    assert base == 20  # see test_compare: the starting drop's own variance
    assert required_tests(noisy, 0.1, 0.05, repeats=3) > base
    assert required_tests(stable, 0.1, 0.05, family=20, repeats=3) > base
    assert required_tests(stable, 0.05, 0.05, repeats=3) > base
    assert required_tests(stable, 0.1, 0.05, repeats=1) > base
    with pytest.raises(ValueError):
        required_tests(stable, 0.0, 0.05)


def test_p_min_is_the_all_worst_arrangement() -> None:
    outcomes = [Outcome(3, 3, 0, 3), Outcome(2, 3, 1, 3)]
    # head at its minimum in both: 1/20 * P(0 | 3 passes)... the second test has 3 passes
    # in 6 too, so its minimum is 0 head passes: also 1/20
    assert shift_test(outcomes).p_min == pytest.approx(1 / 400)
    assert math.isclose(shift_test([Outcome(3, 3, 3, 3)]).p_min, 1.0)
