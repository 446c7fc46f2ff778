"""Expected values computed by hand from the formulas (see the comments)."""

import math

import pytest

from promptctl.evals.stats import (
    binomial_half_cdf,
    holm,
    mcnemar_exact,
    paired_bootstrap_mean_diff,
    percentile,
    sign_test,
    wilson_interval,
)


def test_sign_test_exact_tails() -> None:
    assert sign_test(0, 5) == pytest.approx(2 / 32)  # 2 * C(5,0) / 2^5
    assert sign_test(1, 10) == pytest.approx(2 * (1 + 10) / 1024)
    assert sign_test(9, 10) == sign_test(1, 10)  # symmetric
    assert sign_test(5, 10) == 1.0  # capped
    assert sign_test(0, 0) == 1.0


def test_sign_test_huge_n_does_not_overflow() -> None:
    assert 0.0 <= sign_test(600, 2000) < 1e-50


def test_one_sided_sign_test() -> None:
    assert sign_test(1, 10, alternative="less") == pytest.approx(11 / 1024)  # C(10,0)+C(10,1)
    assert sign_test(9, 10, alternative="greater") == pytest.approx(11 / 1024)
    assert sign_test(9, 10, alternative="less") == pytest.approx(1 - 1 / 1024)
    assert sign_test(0, 0, alternative="less") == 1.0


@pytest.mark.parametrize("n", [1001, 2000, 5003, 20_000])
def test_binomial_half_cdf_log_space_matches_exact_integers(n: int) -> None:
    cumulative, term = [], 1  # exact integer partial sums of C(n, i), built term by term
    for i in range(n + 1):
        cumulative.append(term + (cumulative[-1] if cumulative else 0))
        term = term * (n - i) // (i + 1)
    for k in (0, 1, n // 3, n // 2 - 40, n // 2, n // 2 + 7, n - 2):
        exact = cumulative[k] / (1 << n)
        assert binomial_half_cdf(k, n) == pytest.approx(exact, rel=1e-9, abs=1e-300)
    assert binomial_half_cdf(-1, n) == 0.0 and binomial_half_cdf(n, n) == 1.0


def test_binomial_half_cdf_is_symmetric_for_large_n() -> None:
    n = 100_000
    for k in (49_000, 49_900, 50_100):
        assert binomial_half_cdf(k, n) + binomial_half_cdf(n - k - 1, n) == pytest.approx(1.0)


def test_mcnemar_uses_only_discordant_pairs() -> None:
    # 8 worse, 2 better: n=10, k=2: 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(8, 2) == pytest.approx(112 / 1024)


def test_holm_step_down() -> None:
    # sorted 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    base = [0.0, 1.0, 0.5, 1.0, 0.0, 0.75]
    head = [0.5, 1.0, 0.0, 0.5, 0.0, 0.25]
    first = paired_bootstrap_mean_diff(base, head, resamples=500, seed=7)
    again = paired_bootstrap_mean_diff(base, head, resamples=500, seed=7)
    assert first == again
    mean, lo, hi = first
    assert mean == pytest.approx(-1.0 / 6)  # diffs .5, 0, -.5, -.5, 0, -.5 sum to -1
    assert lo <= mean <= hi and lo < hi


def test_bootstrap_constant_difference_has_zero_width() -> None:
    assert paired_bootstrap_mean_diff([0.2, 0.4], [0.1, 0.3], resamples=100) == pytest.approx(
        (-0.1, -0.1, -0.1)
    )


def test_wilson_interval_matches_hand_computation() -> None:
    # 8 of 10, z = 1.96: centre (0.8 + 1.9208/10) / 1.38415 = 0.71674,
    # half-width 1.96 * sqrt(0.016 + 0.0096040) / 1.38415 = 0.22658 -> [0.4902, 0.9433]
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    # all successes: the upper bound is exactly 1, the lower n / (n + z^2)
    lo3, hi3 = wilson_interval(3, 3)
    assert hi3 == pytest.approx(1.0)
    assert lo3 == pytest.approx(3 / (3 + 1.959963984540054**2))
    zero = wilson_interval(0, 10)
    assert zero[0] == 0.0 and zero[1] > 0.2
    # no trials, no interval: an error rather than a silent None (callers decide on null)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_percentile_nearest_rank() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(values, 50) == 35.0
    assert percentile(values, 95) == 50.0
    assert percentile(values, 30) == 20.0  # ceil(1.5) = 2nd value
    assert percentile([], 50) is None
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0  # ceil(2.0) = 2nd value, no midpoint
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0  # ceil(3.8) = 4th value
    assert math.isclose(percentile([7.0], 95) or 0, 7.0)
