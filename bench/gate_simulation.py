"""Monte-Carlo check of the regression gate: false-alarm rate and power.

A noisy model: every test has a true pass probability (a mix of stable and flaky
tests). Base and head are sampled independently with `repeats` runs per test.
Prints the share of seeded runs where the gate fails when nothing changed (should be
<= alpha) and when the head's true pass rate is lower by `drop` (power).

    .venv/bin/python bench/gate_simulation.py [runs]
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from promptctl.evals.compare import compare
from promptctl.promptfile.model import GateConfig

TRUE_RATES = (0.97, 0.9, 0.7, 0.5)


def sample_side(rates: list[float], rng: random.Random, repeats: int) -> dict[str, Any]:
    cases = [
        {
            "key": f"p::t::{i}::{r}",
            "prompt": "p",
            "target": "t",
            "test": f"test-{i}",
            "repeat": r,
            "status": "pass" if rng.random() < p else "fail",
            "cost_usd": 0.001,
        }
        for i, p in enumerate(rates)
        for r in range(repeats)
    ]
    return {"schema": "promptctl/results@1", "cases": cases}


def simulate(
    runs: int, *, tests: int = 200, repeats: int = 3, drop: float = 0.15
) -> tuple[float, float]:
    gate = GateConfig(bootstrap_resamples=0)
    false_alarms = detections = 0
    for seed in range(runs):
        rng = random.Random(seed)
        rates = [rng.choice(TRUE_RATES) for _ in range(tests)]
        lowered = [max(0.0, p - drop) for p in rates]
        same = compare(sample_side(rates, rng, repeats), sample_side(rates, rng, repeats), gate)
        worse = compare(sample_side(rates, rng, repeats), sample_side(lowered, rng, repeats), gate)
        false_alarms += same.verdict == "fail"
        detections += worse.verdict == "fail"
    return false_alarms / runs, detections / runs


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    start = time.perf_counter()
    false_alarm, power = simulate(runs)
    took = time.perf_counter() - start
    print(f"runs={runs} tests=200 repeats=3 alpha=0.05")
    print(f"false-alarm rate (no change): {false_alarm:.3f}")
    print(f"detection rate (15-point drop): {power:.3f}")
    print(f"time: {took:.1f} s")


if __name__ == "__main__":
    main()
