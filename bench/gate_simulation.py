"""Monte-Carlo check of the regression gate: false alarms and power, row by row.

The rows are the test suite's (tests/fakes/gate_sim.py: mixes, sizes, 20-group families,
errors, margins, hard flips), run here with more seeds; each rate comes with its exact
Clopper-Pearson 95% interval. Then the timing of the exact tests. Prints a markdown table
(the one in docs/gating.md).

    .venv/bin/python bench/gate_simulation.py [seeds]   # default 1000 (family rows: / 5)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.gate_sim import ROWS, Row, Scenario, clopper_pearson, lower, run
from promptctl.evals.paired_tests import Outcome, shift_test
from promptctl.evals.stats import sign_test


def _seeds(row: Row, seeds: int) -> int:
    return max(row.seeds, seeds // 5 if row.scenario.groups > 1 else seeds)  # 0: bench only


def _best(fn: object, repeat: int = 5) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def calibration(seeds: int) -> None:
    """Is `inconclusive` right? Per design: the share of A/A runs called inconclusive next
    to the power against min_detectable_drop (10 points). A design with power >= 0.8
    should not be called inconclusive; one with much less should."""
    print()
    print("| design | power vs a 10-point drop | inconclusive when nothing changed |")
    print("|---|---|---|")
    for mix in ("noisy", "stable"):
        for tests, repeats in ((20, 1), (50, 1), (200, 1), (50, 3), (100, 3), (200, 3)):
            same = run(Scenario("aa", mix, tests, repeats), seeds)
            drop = run(Scenario("drop", mix, tests, repeats, change=lower(0.10)), seeds)
            print(
                f"| {mix} {tests}x{repeats} | {drop.fail_rate:.2f} "
                f"| {same.inconclusive / same.runs:.2f} |",
                flush=True,
            )


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print("| scenario | target | seeds | fail rate | 95% CI | inconclusive |")
    print("|---|---|---|---|---|---|")
    for row in ROWS:
        tally = run(row.scenario, _seeds(row, seeds))
        low, high = clopper_pearson(tally.fails, tally.runs)
        target = "<= 0.05" if row.kind == "alarm" else ">= 0.80"
        print(
            f"| {row.scenario.name} | {target} | {tally.runs} | {tally.fail_rate:.3f} "
            f"| {low:.3f}-{high:.3f} | {tally.inconclusive / tally.runs:.2f} |",
            flush=True,
        )
    calibration(max(100, seeds // 5))
    rng = random.Random(0)
    coins = [
        Outcome(1, 1, 0, 1) if rng.random() < 0.51 else Outcome(0, 1, 1, 1) for _ in range(100_000)
    ]
    worse = sum(1 for o in coins if o.base_passed)
    typical = [Outcome(rng.randint(0, 3), 3, rng.randint(0, 3), 3) for _ in range(200)]
    print()
    print("| timing | best of 5 |")
    print("|---|---|")
    t = _best(lambda: sign_test(worse, 100_000, alternative="greater"))
    print(f"| sign_test, n = 100,000 discordant tests | {t * 1000:.2f} ms |")
    t = _best(lambda: shift_test(coins))
    print(f"| shift_test, 100,000 tests x 1 run | {t * 1000:.1f} ms |")
    t = _best(lambda: shift_test(typical))
    print(f"| shift_test, 200 mixed tests x 3 runs (exact convolution) | {t * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
