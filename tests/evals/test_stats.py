"""Expected values computed by hand from the formulas (see the comments)."""

import math

import pytest

from promptctl.evals.stats import (
    holm,
    mcnemar_exact,
    mcnemar_sample_size,
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


def test_mcnemar_uses_only_discordant_pairs() -> None:
    # 8 worse, 2 better: n=10, k=2: 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(8, 2) == pytest.approx(112 / 1024)


def test_holm_step_down() -> None:
    # sorted 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_wilson_interval_known_value() -> None:
    interval = wilson_interval(8, 10)
    assert interval is not None
    assert interval[0] == pytest.approx(0.4902, abs=1e-4)
    assert interval[1] == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) is None
    zero = wilson_interval(0, 10)
    assert zero is not None and zero[0] == 0.0 and zero[1] > 0.2


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


def test_sample_size_connor_and_exact_floor() -> None:
    # psi = 0.1: (1.95996*sqrt(.1) + 0.84162*sqrt(.1 - .01))^2 / .01 = 76.09 -> 77
    assert mcnemar_sample_size(0.1, 0.05) == 77
    # psi = 0.5: (1.95996*0.70711 + 0.84162*0.7)^2 / 0.01 = 390.3 -> 391
    assert mcnemar_sample_size(0.1, 0.05, discordant=0.5) == 391
    # a huge drop is floored by the exact test: ceil(log2(2/0.05)) = 6 regressions needed
    assert mcnemar_sample_size(1.0, 0.05) == 6
    with pytest.raises(ValueError):
        mcnemar_sample_size(0.0, 0.05)


def test_percentile_interpolates() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([], 50) is None
    assert math.isclose(percentile([7.0], 95) or 0, 7.0)
