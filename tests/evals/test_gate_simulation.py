"""Seeded Monte-Carlo: the gate's false-alarm rate and its power on a noisy model.

Each test has a true pass probability (stable and flaky tests mixed); base and head
are drawn independently, 3 repeats per test. The exact sign test fails only on a drop,
so the false-alarm rate should sit near alpha / 2 and at most alpha (the issue's bar).
The runs are seeded, so the figures are deterministic (400 runs: 0.037 and 1.000).
"""

import random
from typing import Any

from promptctl.evals.compare import compare
from promptctl.promptfile.model import GateConfig

RUNS = 400
TESTS = 200
REPEATS = 3
TRUE_RATES = (0.97, 0.9, 0.7, 0.5)


def _side(rates: list[float], rng: random.Random) -> dict[str, Any]:
    cases = [
        {
            "key": f"p::t::{i}::{r}",
            "prompt": "support/triage",
            "target": "openai/gpt-4o-mini",
            "test": f"test-{i}",
            "repeat": r,
            "status": "pass" if rng.random() < p else "fail",
            "cost_usd": 0.001,
        }
        for i, p in enumerate(rates)
        for r in range(REPEATS)
    ]
    return {"schema": "promptctl/results@1", "cases": cases}


def test_false_alarm_rate_and_power() -> None:
    gate = GateConfig(alpha=0.05, bootstrap_resamples=0)
    false_alarms = detections = 0
    for seed in range(RUNS):
        rng = random.Random(seed)
        rates = [rng.choice(TRUE_RATES) for _ in range(TESTS)]
        dropped = [max(0.0, p - 0.15) for p in rates]
        false_alarms += compare(_side(rates, rng), _side(rates, rng), gate).verdict == "fail"
        detections += compare(_side(rates, rng), _side(dropped, rng), gate).verdict == "fail"
    false_alarm_rate = false_alarms / RUNS
    power = detections / RUNS
    print(f"false-alarm rate {false_alarm_rate:.3f}, detection rate {power:.3f} ({RUNS} runs)")
    assert false_alarm_rate <= gate.alpha  # seeded, so deterministic: no margin needed
    assert power >= 0.80
