"""The non-inferiority bounds: Tango's score statistic checked against first principles."""

from __future__ import annotations

import math

import pytest

from promptctl.evals.noninferiority import _tango_z, noninferiority, tango_bounds


def _mle_p21(n12: int, n21: int, n: int, d: float) -> float:
    """Maximise the multinomial likelihood over p21 with p12 = p21 + d, by grid + refine."""
    n11 = n - n12 - n21

    def ll(p21: float) -> float:
        p12, rest = p21 + d, 1 - 2 * p21 - d
        if min(p12, p21, rest) <= 0:
            return -math.inf
        return n12 * math.log(p12) + n21 * math.log(p21) + n11 * math.log(rest)

    lo, hi = max(0.0, -d), (1 - d) / 2
    for _ in range(200):  # ternary search: the log-likelihood is concave
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (a, hi) if ll(a) < ll(b) else (lo, b)
    return (lo + hi) / 2


@pytest.mark.parametrize(
    ("n12", "n21", "n", "d"), [(3, 7, 40, -0.1), (5, 2, 30, 0.05), (1, 4, 20, -0.2)]
)
def test_the_closed_form_restricted_mle_is_the_mle(n12: int, n21: int, n: int, d: float) -> None:
    p21 = _mle_p21(n12, n21, n, d)
    expected = (n12 - n21 - n * d) / math.sqrt(n * (2 * p21 + d * (1 - d)))
    assert _tango_z(n12, n21, n, d) == pytest.approx(expected, rel=1e-4)


def test_at_zero_difference_it_is_mcnemars_statistic() -> None:
    assert _tango_z(9, 4, 50, 0.0) == pytest.approx((9 - 4) / math.sqrt(9 + 4))


def test_bounds_bracket_the_observed_difference_and_shrink_with_n() -> None:
    lo, hi = tango_bounds(2, 6, 40)
    assert lo < (2 - 6) / 40 < hi
    lo_big, hi_big = tango_bounds(20, 60, 400)
    assert hi_big - lo_big < hi - lo


def test_verdicts() -> None:
    same = [(1.0, 1.0)] * 40
    assert noninferiority(same, 0.1).verdict == "non-inferior"
    worse = [(1.0, 1.0)] * 20 + [(1.0, 0.0)] * 20
    assert noninferiority(worse, 0.1).verdict == "inferior"
    tiny = noninferiority([(1.0, 1.0)] * 3, 0.02)
    assert tiny.verdict == "inconclusive" and tiny.tests_needed == 133
    # the bound for 133 agreeing tests clears -0.02, for 132 it does not
    assert tango_bounds(0, 0, 133)[0] > -0.02 > tango_bounds(0, 0, 132)[0]
    behind = noninferiority([(1.0, 1.0)] * 30 + [(1.0, 0.0)] * 4, 0.05)
    assert behind.verdict == "inconclusive" and behind.tests_needed is None
    assert noninferiority([], 0.1).verdict == "inconclusive"


def test_repeats_use_the_paired_t_bound() -> None:
    pairs = [(1.0, 0.5), (1.0, 1.0), (0.5, 1.0), (1.0, 1.0)] * 10
    result = noninferiority(pairs, 0.1)
    assert result.method.startswith("paired t") and result.delta == pytest.approx(0.0)
    assert result.verdict == "non-inferior" and result.lower > -0.1
