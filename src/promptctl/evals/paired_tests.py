"""The gate's tests on the per-test outcomes of one prompt x target (docs/gating.md).

A test ran `base_runs` times on the base and passed `base_passed`, `head_runs` times on
the head and passed `head_passed` (errored repeats count as failures). If nothing
changed, a test's repeats on both sides are exchangeable draws with one pass
probability, whatever it is; so given the test's total passes s, the head's passes are
hypergeometric, free of that probability. Every test below conditions on those totals
(the exact conditional test for stratified 2 x 2 tables: Birch 1964, "The detection of
partial association, I", JRSS B 26:313-324; Mehta, Patel & Gray 1985, JASA 80:969-973),
so a suite's flakiness cancels out exactly instead of being guessed at.

- `shift_test`: one-sided exact p of "the head passes less": the sum of the head's
  passes over tests, against the convolution of the hypergeometrics. With one run per
  test on each side it is the exact one-sided sign test (McNemar).
- `hard_flip_test`: tests that passed every base run and fail every head run. Given its
  total s = base_runs, such a split has probability 1 / C(N, base_runs) (1/20 at 3 + 3
  runs), so the count of flips among the tests with that total is Poisson-binomial:
  flips are judged against exactly the tests that could have flipped by chance.
- `margin_test`: H0 "mean drop <= margin" (a non-inferiority margin), one-sided.
- `required_tests`: paired tests needed to detect a drop with 80% power in the family.

Each exact test also returns its smallest attainable p-value given the totals it
conditions on; a test that could never reach alpha is left out of the Holm family
(Tarone 1990, "A modified Bonferroni method for discrete data", Biometrics 46:515-522).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from promptctl.evals.stats import binomial_half_cdf

__all__ = [
    "Outcome",
    "TestResult",
    "could_flip",
    "hard_flip_test",
    "is_hard_flip",
    "margin_test",
    "required_tests",
    "shift_test",
]

# Above this many bits the exact convolution (a big-integer product) would take more
# than ~0.1 s; the normal approximation of the same statistic is used instead.
EXACT_BITS = 2_000_000


@dataclass(frozen=True)
class Outcome:
    """One test's repeats on both sides (errors already counted as failures)."""

    base_passed: int
    base_runs: int
    head_passed: int
    head_runs: int

    @property
    def passes(self) -> int:
        return self.base_passed + self.head_passed

    @property
    def informative(self) -> bool:
        """Mixed outcomes: a test that always (or never) passed says nothing of a change."""
        return 0 < self.passes < self.base_runs + self.head_runs

    @property
    def drop(self) -> float:
        return self.base_passed / self.base_runs - self.head_passed / self.head_runs


@dataclass(frozen=True)
class TestResult:
    p_value: float
    p_min: float  # the smallest p-value these totals allow (Tarone's screening)

    __test__ = False  # not a pytest class


_Stratum = tuple[int, int, int]  # base_runs, head_runs, total passes


def _support(st: _Stratum) -> tuple[int, int]:
    n_b, n_h, s = st
    return max(0, s - n_b), min(s, n_h)


def _coefficients(st: _Stratum) -> list[int]:
    """C(n_h, k) C(n_b, s - k) for k over the support: the hypergeometric's numerators."""
    n_b, n_h, s = st
    lo, hi = _support(st)
    return [math.comb(n_h, k) * math.comb(n_b, s - k) for k in range(lo, hi + 1)]


def _moments(st: _Stratum) -> tuple[float, float]:
    n_b, n_h, s = st
    big_n = n_b + n_h
    mean = n_h * s / big_n
    var = n_h * n_b * s * (big_n - s) / (big_n * big_n * (big_n - 1))
    return mean, var


def shift_test(outcomes: Sequence[Outcome]) -> TestResult:
    """P(head passes <= observed | every test's total passes), one-sided, exact."""
    rows = [
        (o.base_runs, o.head_runs, o.base_passed + o.head_passed, o.head_passed) for o in outcomes
    ]
    inf = [r for r in rows if 0 < r[2] < r[0] + r[1]]
    if not inf:
        return TestResult(1.0, 1.0)
    strata: Counter[_Stratum] = Counter(r[:3] for r in inf)
    log_min = sum(
        m * math.log(_coefficients(st)[0] / math.comb(st[0] + st[1], st[2]))
        for st, m in strata.items()
    )
    observed = sum(r[3] - max(0, r[2] - r[0]) for r in inf)  # head passes above their least
    coin = strata.pop((1, 1, 1), 0)  # one run a side, one pass: a fair coin (the sign test)
    width = _width(strata)
    length = sum(m * (_support(st)[1] - _support(st)[0]) for st, m in strata.items())
    if width * (length + 1) > EXACT_BITS:
        p = _normal_tail([r[:3] for r in inf], observed)
    elif not strata:
        p = binomial_half_cdf(observed, coin)
    else:
        p = _exact_tail(strata, width, observed, coin)
    return TestResult(min(1.0, p), math.exp(log_min))


def _width(strata: Counter[_Stratum]) -> int:
    """Bits per coefficient: every coefficient of the product is below the product of
    the denominators (they sum to it), so digits never carry into each other."""
    denominator = 1
    for st, m in strata.items():
        denominator *= math.comb(st[0] + st[1], st[2]) ** m
    return (denominator.bit_length() + 8) // 8 * 8


def _exact_tail(strata: Counter[_Stratum], width: int, observed: int, coin: int) -> float:
    """Convolution as one big-integer product (Kronecker substitution), then the tail.

    Each stratum's numerators become the base-2**width digits of one integer; the product
    of the integers has the convolution's numerators as digits. `coin` fair-coin strata
    are added through the binomial CDF.
    """
    product = 1
    denominator = 1
    for st, m in strata.items():
        packed = sum(c << (width * j) for j, c in enumerate(_coefficients(st)))
        product *= packed**m
        denominator *= math.comb(st[0] + st[1], st[2]) ** m
    if coin == 0:
        if observed < 0:
            return 0.0
        low = product & ((1 << (width * (observed + 1))) - 1)
        return (
            low % ((1 << width) - 1)
        ) / denominator  # digit sum: 2**width == 1 (mod 2**width - 1)
    nbytes = width // 8
    raw = product.to_bytes((product.bit_length() + 7) // 8 + nbytes, "little")
    digits = len(raw) // nbytes
    total = 0.0
    for j in range(min(observed, digits - 1) + 1):
        coef = int.from_bytes(raw[j * nbytes : (j + 1) * nbytes], "little")
        if coef:
            total += coef / denominator * binomial_half_cdf(observed - j, coin)
    return total


def _normal_tail(strata: Sequence[_Stratum], observed: int) -> float:
    """Mantel-Haenszel's normal approximation with continuity correction (huge suites)."""
    mean = var = 0.0
    for st in strata:
        mu, v = _moments(st)
        mean += mu - _support(st)[0]
        var += v
    return NormalDist().cdf((observed + 0.5 - mean) / math.sqrt(var))


def could_flip(o: Outcome) -> bool:
    """Repeated on both sides (>= 2 runs each) with as many passes as base runs: the only
    tests whose runs can split "every base run passes, every head run fails" by chance."""
    return o.base_runs >= 2 and o.head_runs >= 2 and o.passes == o.base_runs


def is_hard_flip(o: Outcome) -> bool:
    return could_flip(o) and o.head_passed == 0


def hard_flip_test(outcomes: Sequence[Outcome]) -> TestResult:
    """Tests that always passed (>= 2 runs) and now always fail (>= 2 runs), against chance.

    The candidates (`could_flip`) are judged against the chance of that split given their
    totals. One run a side is left to `shift_test` (a single-run flip is no evidence on
    its own).
    """
    candidates = [o for o in outcomes if could_flip(o)]
    flips = sum(1 for o in candidates if o.head_passed == 0)
    chances = [1 / math.comb(o.base_runs + o.head_runs, o.base_runs) for o in candidates]
    p_min = math.prod(chances) if chances else 1.0
    return TestResult(_at_least(flips, chances), p_min)


def _at_least(k: int, chances: Sequence[float]) -> float:
    """P(at least k of independent events happen), with `chances` their probabilities."""
    if k <= 0:
        return 1.0
    dist = [1.0] + [0.0] * k  # dist[k] accumulates "k or more"
    for q in chances:
        dist[k] = dist[k] + dist[k - 1] * q
        for j in range(k - 1, 0, -1):
            dist[j] = dist[j] * (1 - q) + dist[j - 1] * q
        dist[0] *= 1 - q
    return min(1.0, dist[k])


def margin_test(outcomes: Sequence[Outcome], margin: float) -> float:
    """One-sided p of H0 "the mean per-test drop is at most `margin`".

    A score-type z statistic: the mean per-test drop against the margin, its variance
    estimated around the margin (the null) rather than the sample mean, with half a
    lattice step of continuity correction (the mean drop is a multiple of 1 / (tests *
    runs)). Per-test drops are bounded in [-1, 1], so the normal approximation is close
    already at a few dozen tests; without the correction a drop exactly at the margin
    failed ~5.3% of 9,000 seeded 200x3 runs, with it ~4.7% (docs/gating.md). The
    caller combines it with `shift_test` (a drop beyond a margin is also a drop), which
    guards tiny groups where a standard error means little.
    """
    drops = [o.drop for o in outcomes]
    m = len(drops)
    if m < 2:
        return 1.0
    mean = sum(drops) / m
    spread = math.sqrt(sum((d - margin) ** 2 for d in drops) / m)
    if spread == 0:
        return 1.0  # every test dropped by exactly the margin
    # the mean drop moves in steps of 1 / (m * runs): half a step of continuity correction
    runs = max(math.lcm(o.base_runs, o.head_runs) for o in outcomes)
    excess = mean - margin - 1 / (2 * m * runs)
    return NormalDist().cdf(-excess / (spread / math.sqrt(m)))


def required_tests(
    outcomes: Sequence[Outcome],
    effect: float,
    alpha: float,
    *,
    family: int = 1,
    repeats: int = 1,
    power: float = 0.8,
) -> int:
    """Paired tests needed for `shift_test` to detect a pass-rate drop of `effect`.

    Normal approximation of the conditional statistic: a drop of `effect` moves the head's
    passes down by `repeats * effect / 2` per test on average (against their conditional
    mean); its variance is the observed per-test null variance at `repeats` runs (scaled
    from the group's own runs) plus what a stable test that starts to fail adds. Tested
    at alpha / family (Holm's first step). Floored by the exact test's reach: a test that
    drops one of its runs halves the p-value at best, so log2(family / alpha) of them are
    needed, each seen with probability 1 - (1 - effect)**repeats.
    """
    if not 0 < effect <= 1:
        raise ValueError(f"effect must be in (0, 1], got {effect}")
    n = max(1, repeats)
    own = [_moments((o.base_runs, o.head_runs, o.passes))[1] for o in outcomes if o.informative]
    runs = [min(o.base_runs, o.head_runs) for o in outcomes] or [n]
    scale = n / max(1.0, sum(runs) / len(runs))
    v_obs = sum(own) / len(outcomes) * scale if outcomes else 0.0
    v_alt = sum(
        math.comb(n, k) * (1 - effect) ** k * effect ** (n - k) * _moments((n, n, n + k))[1]
        for k in range(n)
    )
    level = min(0.5, alpha / max(1, family))
    z = NormalDist().inv_cdf(1 - level) + NormalDist().inv_cdf(power)
    shift = n * effect / 2
    normal = math.ceil(z * z * (v_obs + v_alt) / (shift * shift))
    floor = math.ceil(math.log2(1 / level) / (1 - (1 - effect) ** n))
    return max(normal, floor)
