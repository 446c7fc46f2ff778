"""Small, dependency-free statistics for the regression gate.

Everything here is exact or seeded, so the same inputs always give the same verdict:

- `sign_test` / `mcnemar_exact`: the exact two-sided binomial sign test on discordant
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
- `mcnemar_sample_size`: pairs needed for McNemar's test to detect a given difference
  (Connor 1987, "Sample size for testing differences in proportions for the paired-sample
  design", Biometrics 43:207-211), floored by the exact test's smallest possible p-value.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist

__all__ = [
    "Z95",
    "holm",
    "mcnemar_exact",
    "mcnemar_sample_size",
    "paired_bootstrap_mean_diff",
    "percentile",
    "sign_test",
    "wilson_interval",
]

Z95 = 1.959963984540054  # two-sided 95% standard normal quantile


def sign_test(successes: int, n: int) -> float:
    """Exact two-sided p-value of `successes` out of `n` under Binomial(n, 1/2).

    Doubles the smaller tail (the distribution is symmetric), capped at 1; n == 0 gives 1.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 1.0
    k = min(successes, n - successes)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / (1 << n))  # int / int: exact even for huge n


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


def mcnemar_sample_size(
    drop: float,
    alpha: float,
    *,
    power: float = 0.8,
    discordant: float | None = None,
) -> int:
    """Paired units needed to detect a pass-rate `drop` with McNemar's test at `alpha`.

    `discordant` is the expected share of pairs whose outcome differs (estimated from the
    data); it is at least `drop`, the best case where every change is a regression.
    Connor's normal approximation is floored by the exact test's own limit: with k
    discordant pairs the smallest two-sided p-value is 2 / 2**k, so at least
    ceil(log2(2 / alpha)) regressions must be observable, i.e. that many / drop pairs.
    """
    if not 0 < drop <= 1:
        raise ValueError(f"drop must be in (0, 1], got {drop}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    psi = min(1.0, max(drop, discordant if discordant is not None else drop))
    z_a = NormalDist().inv_cdf(1 - alpha / 2)
    z_b = NormalDist().inv_cdf(power)
    connor = (z_a * math.sqrt(psi) + z_b * math.sqrt(max(0.0, psi - drop * drop))) ** 2
    n_connor = math.ceil(connor / (drop * drop))
    k_min = math.ceil(math.log2(2 / alpha))
    return max(n_connor, math.ceil(k_min / drop))


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
