"""Forecast maths on synthetic ledgers with a known trend, and the drivers' decomposition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from promptctl.ledger.budgets import Budget
from promptctl.ledger.forecast import (
    budget_forecasts,
    drivers,
    forecast,
    linear_projection,
    spend_from_rows,
    t_quantile,
)
from promptctl.ledger.report import LedgerRow

TODAY = date(2026, 3, 15)


def row(
    day: date,
    cost: float | None,
    *,
    prompt: str = "a",
    target: str = "openai/m",
    tokens: int = 100,
    outcome: str = "ok",
) -> LedgerRow:
    ts = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    return LedgerRow(
        ts,
        "runtime",
        prompt,
        "1.0.0",
        (),
        target.split("/")[0],
        target,
        outcome,
        tokens,
        0,
        0,
        0,
        0,
        cost,
        None,
        10.0,
    )


def linear_ledger() -> list[LedgerRow]:
    """Feb 15 .. Mar 14 (28 days): day i costs 1.0 + 0.1 i, exactly."""
    start = TODAY - timedelta(days=28)
    return [row(start + timedelta(days=i), 1.0 + 0.1 * i) for i in range(28)]


def test_exact_line_is_projected_exactly() -> None:
    f = forecast(spend_from_rows(linear_ledger()), TODAY)
    assert (f.period_start, f.period_end) == (date(2026, 3, 1), date(2026, 4, 1))
    # Mar 1..14 are days 14..27: 14 + 0.1 * (14 + ... + 27) = 42.7
    assert f.actual_usd == pytest.approx(42.7)
    # Mar 15..31 are days 28..44: 17 + 0.1 * (28 + ... + 44) = 78.2
    assert f.projected_usd == pytest.approx(78.2)
    assert f.total_usd == pytest.approx(120.9)
    assert f.trend_usd_per_day == pytest.approx(0.1)
    assert f.low_usd == pytest.approx(120.9) and f.high_usd == pytest.approx(120.9)
    assert f.history_days == 28


def test_the_interval_is_the_ols_prediction_interval_of_the_sum() -> None:
    history = [5.0 + (0.5 if i % 2 else -0.5) for i in range(10)]  # flat, noisy
    p = linear_projection(history, 3)
    n, h = 10, 3
    mean_x = 4.5
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - 5.0) for x, y in enumerate(history)) / sxx
    intercept = 5.0 - slope * mean_x
    resid = sum((y - intercept - slope * x) ** 2 for x, y in enumerate(history))
    spread = sum(x - mean_x for x in range(n, n + h))
    var = resid / (n - 2) * (h + h * h / n + spread**2 / sxx)
    half = t_quantile(0.975, n - 2) * var**0.5
    assert p.total == pytest.approx(sum(intercept + slope * x for x in range(n, n + h)))
    assert p.high == pytest.approx(p.total + half) and p.low == pytest.approx(p.total - half)
    assert 2.5 < half < 4.0  # about +-3 USD on a ~15 USD sum


def test_t_quantiles_match_tables() -> None:
    assert t_quantile(0.975, 26) == pytest.approx(2.0555, abs=2e-3)
    assert t_quantile(0.975, 5) == pytest.approx(2.5706, abs=5e-3)
    assert t_quantile(0.95, 100) == pytest.approx(1.6602, abs=1e-3)


def test_little_history_projects_the_mean_without_an_interval() -> None:
    rows = [row(TODAY - timedelta(days=2), 2.0), row(TODAY - timedelta(days=1), 4.0)]
    f = forecast(spend_from_rows(rows), TODAY)
    assert f.history_days == 2 and f.projected_usd == pytest.approx(3.0 * 17)
    assert f.low_usd is None and f.trend_usd_per_day is None


def test_a_falling_trend_never_projects_negative_spend() -> None:
    start = TODAY - timedelta(days=10)
    rows = [row(start + timedelta(days=i), 10.0 - i) for i in range(10)]  # 10 .. 1
    f = forecast(spend_from_rows(rows), TODAY)
    assert f.projected_usd == pytest.approx(0.0)
    assert f.low_usd is not None and f.low_usd >= f.actual_usd


def test_budget_breach_and_the_day_it_happens() -> None:
    limit = Budget("total", None, "monthly", 100.0)
    generous = Budget("total", None, "monthly", 150.0)
    other_prompt = Budget("prompt", "b", "monthly", 1.0)
    tight, loose, none = budget_forecasts(
        spend_from_rows(linear_ledger()), [limit, generous, other_prompt], TODAY
    )
    # 42.7 so far; 3.8 + 3.9 + ... passes the remaining 57.3 on the 14th day (Mar 28)
    assert tight.breach and tight.exceeded_on == date(2026, 3, 28)
    assert not loose.breach and loose.exceeded_on is None
    assert not none.breach and none.forecast.total_usd == 0.0


def test_drivers_split_the_change_into_calls_length_and_price() -> None:
    rows = []
    for _ in range(10):  # the week before: 10 calls x 100 tokens at $0.00001
        rows.append(row(TODAY - timedelta(days=10), 0.001, tokens=100))
    for _ in range(20):  # last week: 20 calls x 150 tokens at $0.00002
        rows.append(row(TODAY - timedelta(days=2), 0.003, tokens=150))
    rows.append(row(TODAY - timedelta(days=3), None, prompt="b", outcome="error"))
    rows.append(row(TODAY - timedelta(days=3), 0.5, prompt="new"))
    rows.append(row(TODAY, 9.0, prompt="today-is-not-complete"))
    top = drivers(spend_from_rows(rows), TODAY)
    assert [(d.prompt, round(d.change_usd, 6)) for d in top] == [("new", 0.5), ("a", 0.05)]
    new, a = top
    assert (new.calls_effect, new.length_effect, new.price_effect) == (0.5, 0.0, 0.0)
    assert a.calls_effect == pytest.approx(0.01)  # twice the calls at the old size and price
    assert a.length_effect == pytest.approx(0.01)  # 50 more tokens per call
    assert a.price_effect == pytest.approx(0.03)  # each token twice as dear
    assert (a.calls_before, a.calls_after) == (10, 20)
