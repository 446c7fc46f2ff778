"""Seeded Monte-Carlo of the regression gate on results documents (tests and bench).

Every test has a true pass probability per side; base and head are drawn independently
with `repeats` runs per test, fed to `compare`, and the verdicts are counted. Mixes:

- stable: 85% of tests always pass (p=1), 10% never pass (p=0), 5% are coin flips (0.5)
- noisy: every test's p drawn from {0.97, 0.9, 0.7, 0.5}
- flaky10 / flaky5: 200 stable tests (p=1) plus 10% / 5% coin flips (p=0.5)
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promptctl.evals.compare import compare
from promptctl.evals.comparison import Verdict
from promptctl.promptfile.model import GateConfig

__all__ = ["Scenario", "Tally", "caught", "clopper_pearson", "run", "true_rates"]

NOISY = (0.97, 0.9, 0.7, 0.5)

# head's true rates from the base's, per group (rng for random choices)
Change = Callable[[list[float], random.Random], list[float]]


def true_rates(mix: str, tests: int, rng: random.Random) -> list[float]:
    if mix == "noisy":
        return [rng.choice(NOISY) for _ in range(tests)]
    if mix == "stable":
        zeros, flaky = round(tests * 0.10), round(tests * 0.05)
        rates = [0.0] * zeros + [0.5] * flaky + [1.0] * (tests - zeros - flaky)
        rng.shuffle(rates)
        return rates
    if mix.startswith("flaky"):  # "flaky10": `tests` stable tests plus 10% coin flips
        share = int(mix.removeprefix("flaky")) / 100
        return [1.0] * tests + [0.5] * round(tests * share)
    raise ValueError(mix)


@dataclass(frozen=True)
class Scenario:
    name: str
    mix: str
    tests: int
    repeats: int
    groups: int = 1
    change: Change | None = None  # None: A/A, nothing changed
    gate: GateConfig = field(default_factory=lambda: GateConfig(bootstrap_resamples=0))
    error_if_fail: float = 0.0  # a failing run errors instead with this probability
    head_errors: int = 0  # this many always-passing tests error on every head run


@dataclass(frozen=True)
class Tally:
    runs: int
    fails: int
    inconclusive: int

    @property
    def fail_rate(self) -> float:
        return self.fails / self.runs


def _side(
    groups: list[list[float]],
    repeats: int,
    rng: random.Random,
    *,
    error_if_fail: float,
    erroring: set[tuple[int, int]],
) -> dict[str, Any]:
    cases = []
    random_ = rng.random
    for g, rates in enumerate(groups):
        prompt = f"p{g}"
        for i, p in enumerate(rates):
            test, always_errors = f"t{i}", (g, i) in erroring
            for r in range(repeats):  # the same draws, in the same order, as ever
                passed = random_() < p
                status = "pass" if passed else "fail"
                if always_errors or (not passed and random_() < error_if_fail):
                    status = "error"
                cases.append(
                    {
                        "prompt": prompt,
                        "target": "openai/gpt-4o-mini",
                        "test": test,
                        "repeat": r,
                        "status": status,
                        "cost_usd": 0.001,
                    }
                )
    return {"schema": "promptctl/results@1", "cases": cases}


def one_run(s: Scenario, seed: int) -> Verdict:
    rng = random.Random(seed)
    base = [true_rates(s.mix, s.tests, rng) for _ in range(s.groups)]
    head = [s.change(r, rng) if s.change else r for r in base]
    erroring: set[tuple[int, int]] = set()
    if s.head_errors:
        always = [i for i, p in enumerate(base[0]) if p == 1.0]
        erroring = {(0, i) for i in rng.sample(always, s.head_errors)}
    b = _side(base, s.repeats, rng, error_if_fail=s.error_if_fail, erroring=set())
    h = _side(head, s.repeats, rng, error_if_fail=s.error_if_fail, erroring=erroring)
    return compare(b, h, s.gate).verdict


def run(s: Scenario, seeds: int, first_seed: int = 0) -> Tally:
    verdicts = [one_run(s, seed) for seed in range(first_seed, first_seed + seeds)]
    return Tally(seeds, verdicts.count("fail"), verdicts.count("inconclusive"))


def lower(points: float) -> Change:
    """Every test's true rate `points` lower (never below 0): a diffuse drop."""
    return lambda rates, _rng: [max(0.0, p - points) for p in rates]


def hard_flips(k: int) -> Change:
    """`k` always-passing tests now always fail."""

    def change(rates: list[float], rng: random.Random) -> list[float]:
        out = list(rates)
        for i in rng.sample([i for i, p in enumerate(rates) if p == 1.0], k):
            out[i] = 0.0
        return out

    return change


@functools.cache  # the rows share their seed counts: `caught` asks for the same intervals
def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for k successes in n (Clopper & Pearson 1934)."""
    tail = (1 - confidence) / 2

    def cdf(x: int, p: float) -> float:  # P(X <= x), X ~ Binomial(n, p)
        return sum(_pmf(i, n, p) for i in range(x + 1))

    def solve(f: Callable[[float], float]) -> float:  # f decreasing in p: root in [0, 1]
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(lambda p: tail - (1 - cdf(k - 1, p)))
    high = 1.0 if k == n else solve(lambda p: cdf(k, p) - tail)
    return low, high


def caught(kind: str, seeds: int, rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The probability that a row of `seeds` runs fails its check when the true fail rate
    is `rate`: exact, the binomial probability of every count whose Clopper-Pearson
    interval fails it ("alarm": the lower end above alpha; "power": the upper end below
    `power`). The interval's ends grow with the count, so the counts failing a row are
    one tail, found by bisection."""
    lo, hi = 0, seeds + 1  # first count whose lower end > alpha / upper end >= power
    while lo < hi:
        k = (lo + hi) // 2
        low, high = clopper_pearson(k, seeds)
        if (low > alpha) if kind == "alarm" else (high >= power):
            hi = k
        else:
            lo = k + 1
    tail = range(lo, seeds + 1) if kind == "alarm" else range(lo)
    return sum(_pmf(k, seeds, rate) for k in tail)


def _pmf(i: int, n: int, p: float) -> float:
    import math

    if p <= 0:
        return 1.0 if i == 0 else 0.0
    if p >= 1:
        return 1.0 if i == n else 0.0
    log = (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
    )
    return math.exp(log)


MARGIN = GateConfig(bootstrap_resamples=0, max_pass_rate_drop=0.05)


@dataclass(frozen=True)
class Row:
    """A scenario and what it must show: "alarm" rows fail at most alpha, "power" rows
    at least 0.8. `seeds` is the test suite's share (0: bench only); the bench scales it.

    The suite's seeds are the fewest that still catch a regression (the exact binomial
    power, checked by tests/evals/test_gate_simulation.py): with 45 seeds an "alarm" row
    fails with probability >= 0.91 when the false-alarm rate has risen to 20% (the gate
    once had 24%: >= 0.97); with 60 a "power" row fails with probability >= 0.93 when the
    power has fallen to 60% (56 is the fewest with >= 0.9); cheap rows run 100 (a 15%
    false-alarm rate is caught with >= 0.90) and give the pooled test its width. The two
    20-group 50x3 rows cost 20 ms a seed: 21 seeds catch a family-wise rate of 30%
    (>= 0.91)."""

    scenario: Scenario
    kind: str  # "alarm" | "power"
    seeds: int


def _aa(mix: str, tests: int, repeats: int, seeds: int, **kw: Any) -> Row:
    name = f"A/A {mix} {tests}x{repeats}"
    if kw.get("groups"):
        name = f"A/A {mix}, {kw['groups']} groups of {tests}x{repeats} (family-wise)"
    if kw.get("error_if_fail"):
        name += f", {kw['error_if_fail']:.0%} of failing runs error"
    return Row(Scenario(name, mix, tests, repeats, **kw), "alarm", seeds)


ROWS: tuple[Row, ...] = (
    *(
        _aa(mix, t, r, seeds)
        for mix in ("noisy", "stable")
        for t, r, seeds in (
            (20, 1, 100),
            (50, 1, 100),
            (200, 1, 45),
            (50, 2, 100),
            (50, 3, 100),
            (200, 3, 45),
        )
    ),
    _aa("flaky5", 200, 3, 45),  # the 200 stable + 10 coin-flip tests
    _aa("flaky10", 200, 3, 45),
    _aa("noisy", 50, 3, 100, error_if_fail=0.3),
    _aa("noisy", 20, 1, 45, groups=20),
    _aa("stable", 20, 1, 45, groups=20),
    _aa("noisy", 50, 3, 21, groups=20),
    _aa("stable", 50, 3, 21, groups=20),
    Row(
        Scenario(
            "margin 5%: true drop 5 points (boundary), noisy 50x3",
            "noisy",
            50,
            3,
            change=lower(0.05),
            gate=MARGIN,
        ),
        "alarm",
        100,
    ),
    Row(
        Scenario(
            "margin 5%: true drop 5 points (boundary), noisy 200x3",
            "noisy",
            200,
            3,
            change=lower(0.05),
            gate=MARGIN,
        ),
        "alarm",
        0,  # bench only: at the exact boundary the rate is alpha up to the normal approximation
    ),
    Row(
        Scenario(
            "margin 5%: true drop 4 points, noisy 200x3",
            "noisy",
            200,
            3,
            change=lower(0.04),
            gate=MARGIN,
        ),
        "alarm",
        45,
    ),
    Row(
        Scenario("diffuse 10-point drop, noisy 200x3", "noisy", 200, 3, change=lower(0.10)),
        "power",
        60,
    ),
    Row(
        Scenario("diffuse 10-point drop, stable 200x3", "stable", 200, 3, change=lower(0.10)),
        "power",
        60,
    ),
    Row(Scenario("15-point drop, noisy 50x3", "noisy", 50, 3, change=lower(0.15)), "power", 100),
    Row(Scenario("15-point drop, stable 50x3", "stable", 50, 3, change=lower(0.15)), "power", 60),
    Row(
        Scenario(
            "3 hard flips, 200 stable + 10% flaky, x3", "flaky10", 200, 3, change=hard_flips(3)
        ),
        "power",
        60,
    ),
    Row(
        Scenario("3 hard flips, 200 stable + 5% flaky, x3", "flaky5", 200, 3, change=hard_flips(3)),
        "power",
        60,
    ),
    Row(
        Scenario(
            "8 of 40 stable tests error on every head run, x3", "flaky0", 40, 3, head_errors=8
        ),
        "power",
        60,
    ),
    Row(
        Scenario("8 of 40 stable tests error on the head run, x1", "flaky0", 40, 1, head_errors=8),
        "power",
        60,
    ),
    Row(
        Scenario(
            "margin 5%: true drop 15 points, noisy 200x3",
            "noisy",
            200,
            3,
            change=lower(0.15),
            gate=MARGIN,
        ),
        "power",
        60,
    ),
)
