"""Seeded Monte-Carlo of the whole gate (`compare` on results documents), row by row.

The rows (tests/fakes/gate_sim.py, shared with bench/gate_simulation.py) cover one, two
and three repeats, a mostly stable mix with a few coin-flip tests, a noisy mix, hard
flips concentrated in a few tests, errors that track failure, 20-group families and the
margin's boundary. Seeded, so deterministic; each rate is judged with its exact
Clopper-Pearson 95% interval, so a row passes only when its data are consistent with the
target (a false-alarm rate of 24%, as the gate had at `repeat: 1`, fails at any seed
count here), and the pooled rows must clear the target outright.
"""

from __future__ import annotations

import math

import pytest

from fakes.gate_sim import ROWS, Row, Tally, caught, clopper_pearson, run

ALPHA = 0.05
POWER = 0.80
_TALLIES: dict[str, Tally] = {}


def _tally(row: Row) -> Tally:
    if row.scenario.name not in _TALLIES:
        _TALLIES[row.scenario.name] = run(row.scenario, row.seeds)
    return _TALLIES[row.scenario.name]


TESTED = [r for r in ROWS if r.seeds]


@pytest.mark.parametrize("row", TESTED, ids=[r.scenario.name for r in TESTED])
def test_row(row: Row) -> None:
    tally = _tally(row)
    low, high = clopper_pearson(tally.fails, tally.runs)
    print(f"{row.scenario.name}: {tally.fails}/{tally.runs} fail [{low:.3f}, {high:.3f}]")
    if row.kind == "alarm":
        assert low <= ALPHA, f"false alarms {tally.fail_rate:.3f}, 95% CI [{low:.3f}, {high:.3f}]"
    else:
        assert high >= POWER, f"power {tally.fail_rate:.3f}, 95% CI [{low:.3f}, {high:.3f}]"


def test_pooled_rates_clear_the_targets_outright() -> None:
    """Over all rows of a kind the interval is narrow: its far end must be on target."""
    alarms = [_tally(r) for r in TESTED if r.kind == "alarm"]
    powers = [_tally(r) for r in TESTED if r.kind == "power"]
    fails = sum(t.fails for t in alarms)
    runs = sum(t.runs for t in alarms)
    assert clopper_pearson(fails, runs)[1] <= ALPHA, (fails, runs)
    detected = sum(t.fails for t in powers)
    tried = sum(t.runs for t in powers)
    assert clopper_pearson(detected, tried)[0] >= POWER, (detected, tried)


@pytest.mark.parametrize("row", TESTED, ids=[r.scenario.name for r in TESTED])
def test_each_row_has_the_seeds_to_catch_a_regression(row: Row) -> None:
    """A row with few seeds could pass whatever the gate did: each must fail, with
    probability >= 0.9, once the false-alarm rate has risen to 20% (the gate once had 24%;
    30% for the 21-seed family rows, 20 ms a seed) or the power has fallen to 60%."""
    # alarm rows count the runs that (falsely) failed, power rows those that detected
    worse = 0.60 if row.kind == "power" else 0.20 if row.seeds >= 45 else 0.30
    assert caught(row.kind, row.seeds, worse) >= 0.9, (row.seeds, worse)


def test_caught_is_the_exact_binomial_tail() -> None:
    def binom(k: int, n: int, p: float) -> float:
        return math.comb(n, k) * p**k * (1 - p) ** (n - k)

    # 60 seeds: the lower end first exceeds 0.05 at 8 false alarms ...
    assert clopper_pearson(7, 60)[0] <= 0.05 < clopper_pearson(8, 60)[0]
    tail = sum(binom(k, 60, 0.2) for k in range(8, 61))
    assert caught("alarm", 60, 0.20) == pytest.approx(tail, rel=1e-9)
    assert caught("alarm", 60, 0.02) < 0.01  # a healthy gate almost never fails the row
    # ... and the upper end reaches 0.8 only from 42 detections
    assert clopper_pearson(41, 60)[1] < 0.8 <= clopper_pearson(42, 60)[1]
    tail = sum(binom(k, 60, 0.6) for k in range(42))
    assert caught("power", 60, 0.60) == pytest.approx(tail, rel=1e-9)


def test_clopper_pearson_matches_known_values() -> None:
    # R: binom.test(5, 100)$conf.int = 0.01643  0.11283; binom.test(0, 50) upper 0.07112
    low, high = clopper_pearson(5, 100)
    assert low == pytest.approx(0.01643, abs=1e-5) and high == pytest.approx(0.11283, abs=1e-5)
    assert clopper_pearson(0, 50) == pytest.approx((0.0, 0.07112), abs=1e-5)
