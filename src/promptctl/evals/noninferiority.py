"""Is a candidate target no worse than the primary by more than a margin? Paired tests.

Each test is a pair: its pass rate on the primary and on the candidate, as the gate pairs
tests across two runs. The difference of interest is
`delta = pass rate(candidate) - pass rate(primary)`; the candidate is **non-inferior** at
margin `m` when a one-sided (1 - alpha) lower confidence bound of delta is above `-m`,
**inferior** when the matching upper bound is below `-m`, else the evidence is
**inconclusive** and the number of tests that would settle it is estimated.

- One run per test (pass/fail pairs): Tango's score interval for the difference of
  paired proportions (Tango 1998, "Equivalence test and confidence interval for the
  difference in proportions for the paired-sample design", Statist. Med. 17:891-908),
  which at delta = 0 is McNemar's test, the gate's test; it behaves at 0 or 1 discordant
  pairs, where the Wald interval collapses.
- Repeats (pass rates between 0 and 1 per test): the paired t bound on the mean
  per-test difference.
- Sample size, when inconclusive: the fewest tests whose bound would clear `-m` if the
  observed proportions (or mean and spread) held; None when the observed difference is
  already at or below `-m`, so no number of tests would show non-inferiority.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

__all__ = ["NonInferiority", "Verdict", "noninferiority", "tango_bounds"]

Verdict = Literal["non-inferior", "inferior", "inconclusive"]


@dataclass(frozen=True)
class NonInferiority:
    verdict: Verdict
    delta: float  # observed mean difference, candidate - primary
    lower: float  # one-sided (1 - alpha) bounds of delta
    upper: float
    pairs: int
    tests_needed: int | None  # when inconclusive: tests that would settle it (None: none would)
    method: str


def _tango_z(n12: int, n21: int, n: int, d: float) -> float:
    """Tango's score statistic for H0: delta = d; n12 candidate-only, n21 primary-only passes."""
    a = 2 * n
    b = -n12 - n21 + (2 * n - n12 + n21) * d
    c = -n21 * d * (1 - d)
    p21 = (-b + math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)  # restricted MLE
    var = n * (2 * p21 + d * (1 - d))
    num = n12 - n21 - n * d
    if var <= 0:
        return math.copysign(math.inf, num) if num else 0.0
    return num / math.sqrt(var)


def tango_bounds(n12: int, n21: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """One-sided (1 - alpha) lower and upper bounds of delta by inverting the score test."""
    z = NormalDist().inv_cdf(1 - alpha)

    def solve(target: float) -> float:
        lo, hi = -1.0, 1.0  # the statistic falls as d rises
        for _ in range(80):
            mid = (lo + hi) / 2
            if _tango_z(n12, n21, n, mid) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    return solve(z), solve(-z)


def _t(p: float, df: int) -> float:
    from promptctl.ledger.forecast import t_quantile

    return t_quantile(p, df)


def noninferiority(
    pairs: Sequence[tuple[float, float]], margin: float, alpha: float = 0.05
) -> NonInferiority:
    """`pairs` = (primary pass rate, candidate pass rate) per test, each in [0, 1]."""
    n = len(pairs)
    if n == 0:
        return NonInferiority("inconclusive", 0.0, -1.0, 1.0, 0, None, "no paired tests")
    diffs = [cand - prim for prim, cand in pairs]
    delta = sum(diffs) / n
    binary = all(v in (0.0, 1.0) for pair in pairs for v in pair)
    if binary:
        n12 = sum(d > 0 for d in diffs)
        n21 = sum(d < 0 for d in diffs)
        lower, upper = tango_bounds(n12, n21, n, alpha)
        method = "Tango score bound (paired pass/fail)"
        needed = _needed_binary(n12, n21, n, margin, alpha)
    else:
        sd = math.sqrt(sum((d - delta) ** 2 for d in diffs) / (n - 1)) if n > 1 else math.inf
        half = _t(1 - alpha, n - 1) * sd / math.sqrt(n) if n > 1 else math.inf
        lower, upper = max(-1.0, delta - half), min(1.0, delta + half)
        method = "paired t bound (pass rates over repeats)"
        needed = _needed_t(delta, sd, margin, alpha)
    if lower > -margin:
        return NonInferiority("non-inferior", delta, lower, upper, n, None, method)
    if upper < -margin:
        return NonInferiority("inferior", delta, lower, upper, n, None, method)
    return NonInferiority("inconclusive", delta, lower, upper, n, needed, method)


def _needed_binary(n12: int, n21: int, n: int, margin: float, alpha: float) -> int | None:
    """Fewest tests whose bound clears -margin if the observed proportions hold."""
    if (n12 - n21) / n + margin <= 0:
        return None

    def clears(m: int) -> bool:
        lower, _ = tango_bounds(round(n12 * m / n), round(n21 * m / n), m, alpha)
        return lower > -margin

    hi = n
    while not clears(hi):
        hi *= 2
        if hi > 10_000_000:
            return None
    lo = n
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if clears(mid) else (mid + 1, hi)
    return lo


def _needed_t(delta: float, sd: float, margin: float, alpha: float) -> int | None:
    """Tests for the t bound to clear -margin if the observed mean and spread hold."""
    gap = delta + margin
    if gap <= 0 or math.isinf(sd):
        return None
    z = NormalDist().inv_cdf(1 - alpha)
    return max(2, math.ceil((z * sd / gap) ** 2))
