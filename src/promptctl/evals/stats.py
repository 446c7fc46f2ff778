"""Small, dependency-free statistics for the regression gate.

Everything here is exact or seeded, so the same inputs always give the same verdict:

- `sign_test` / `mcnemar_exact`: the exact binomial sign test (two- or one-sided) on discordant
  pairs (McNemar 1947, "Note on the sampling error of the difference between correlated
  proportions or percentages", Psychometrika 12:153-157; exact form per Fisher/Mosteller).
- `holm`: Holm-Bonferroni step-down adjusted p-values (Holm 1979, "A simple sequentially
  rejective multiple test procedure", Scand. J. Statist. 6:65-70).
- `paired_bootstrap_mean_diff`: percentile bootstrap of the mean of paired differences
  (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13).
- `wilson_interval`: the Wilson score interval for a binomial proportion (Wilson 1927,
  "Probable inference, the law of succession, and statistical inference", JASA 22:209-212);
  Brown, Cai & DasGupta (2001, "Interval Estimation for a Binomial Proportion", Statist.
  Sci. 16:101-133) recommend it over the normal interval for small n and rates near 0 or 1.
- `percentile`: nearest-rank percentiles (always an observed value).
- `binomial_half_cdf`: the Binomial(n, 1/2) CDF behind the sign test, in linear time.

The gate's own tests on per-test outcomes (conditional, one-sided) are in `paired_tests`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "Z95",
    "binomial_half_cdf",
    "holm",
    "mcnemar_exact",
    "paired_bootstrap_mean_diff",
    "percentile",
    "sign_flip_p",
    "sign_test",
    "wilson_interval",
]

Z95 = 1.959963984540054  # two-sided 95% standard normal quantile
_LN2 = math.log(2)


def binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), in time linear in n at worst.

    Exact integer arithmetic up to n = 1000; above, the terms are summed in log space from
    the largest one (at k, via lgamma) outwards until they no longer change the sum, so
    n = 100,000 takes a few thousand steps.
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if 2 * k > n:  # sum the shorter tail
        return 1.0 - binomial_half_cdf(n - k - 1, n)
    if n <= 1000:
        return sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * _LN2
    total = term = 1.0
    for i in range(k, 0, -1):  # C(n, i-1) = C(n, i) * i / (n - i + 1)
        term *= i / (n - i + 1)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, math.exp(log_top + math.log(total)))


def sign_test(
    successes: int, n: int, *, alternative: Literal["two-sided", "less", "greater"] = "two-sided"
) -> float:
    """Exact p-value of `successes` out of `n` under Binomial(n, 1/2).

    "less": P(X <= successes); "greater": P(X >= successes); "two-sided" doubles the
    smaller tail (the distribution is symmetric), capped at 1. n == 0 gives 1.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 1.0
    if alternative == "less":
        return binomial_half_cdf(successes, n)
    if alternative == "greater":
        return binomial_half_cdf(n - successes, n)
    return min(1.0, 2 * binomial_half_cdf(min(successes, n - successes), n))


def sign_flip_p(differences: Sequence[float], *, exact_up_to: int = 16) -> float:
    """One-sided p-value of "the differences lean positive": P(sum of s_i * d_i >= sum d_i)
    over independent random signs s_i, the permutation test of paired measurements whose
    two sides are exchangeable under H0 (nothing changed). Exact up to `exact_up_to`
    non-zero differences (2**n sums); beyond, the normal approximation of that sum (mean
    0, variance sum d_i**2). No non-zero difference gives 1."""
    d = [x for x in differences if x != 0]
    if not d:
        return 1.0
    observed = sum(d)
    if len(d) > exact_up_to:
        scale = math.sqrt(sum(x * x for x in d))
        return 1.0 - _normal_cdf(observed / scale)
    sums = [0.0]
    for x in d:
        sums = [s + x for s in sums] + [s - x for s in sums]
    tolerance = 1e-9 * sum(abs(x) for x in d)  # float sums of the same signs may differ
    return sum(1 for s in sums if s >= observed - tolerance) / len(sums)


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def mcnemar_exact(worse: int, better: int) -> float:
    """Exact McNemar test: only discordant pairs carry information about a change."""
    return sign_test(worse, worse + better)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in input order; reject where adjusted <= alpha.

    Controls the family-wise error rate at alpha for any dependence between the tests,
    and is uniformly more powerful than plain Bonferroni.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_bootstrap_mean_diff(
    base: Sequence[float],
    head: Sequence[float],
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of `head - base` over pairs and its percentile bootstrap interval.

    Pairs are resampled together, so per-test difficulty cancels out. Seeded: the same
    data always gives the same interval.
    """
    if len(base) != len(head):
        raise ValueError("paired samples must have the same length")
    n = len(base)
    if n == 0:
        raise ValueError("need at least one pair")
    diffs = [h - b for b, h in zip(base, head, strict=True)]
    mean = sum(diffs) / n
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    lo = means[min(len(means) - 1, math.floor(tail * len(means)))]
    hi = means[min(len(means) - 1, math.ceil((1 - tail) * len(means)) - 1)]
    return mean, lo, hi


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/trials, clamped to [0, 1].

    Zero trials raise ValueError: there is no interval to give, and a caller that shows
    one as null (a summary row) must decide that itself rather than get a silent None.
    """
    if trials <= 0:
        raise ValueError("trials must be positive")
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `pct`% of values <= it.

    Always an observed value (no interpolation), so a reported p95 latency is one a call
    really took; None when there are no values.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
