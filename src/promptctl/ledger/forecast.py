"""Spend forecasts from the ledger: month-end (or period-end) spend with an interval, and
the week-over-week drivers of change.

Method (named so it can be checked): the daily known spend of the last `window` complete
UTC days is fitted by ordinary least squares, `cost(day) = a + b * day`. The spend of
the period so far (complete days before today) is actual; today and every later day of
the period are predicted from the line, floored at 0. The interval is the OLS prediction
interval of that sum of h future days (Montgomery, Peck & Vining, *Introduction to Linear
Regression Analysis*, 5th ed., §2.5, extended to a sum):

    Var = s^2 * (h + h^2 / n + (sum_f (x_f - mean(x)))^2 / Sxx)

with Student's t quantile on n - 2 degrees of freedom (Cornish-Fisher expansion of the
normal quantile, Hill 1970, accurate to ~1e-3 for n >= 5). Fewer than 3 days of history
give no trend: the mean daily spend is projected without an interval.

Drivers split each (prompt, model)'s change in cost between the last 7 complete days and
the 7 before into three parts that add up exactly (a sequential decomposition of
cost = calls x tokens-per-call x cost-per-token): more or fewer calls, longer or shorter
prompts (tokens per call), dearer or cheaper tokens (cost per token: a price or model
change, or more output relative to input).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

from promptctl.errors import ConfigError
from promptctl.ledger.budgets import Budget, in_scope, period_start
from promptctl.ledger.report import LedgerRow, unknown_cost
from promptctl.ledger.row_types import check_rows, tags_of
from promptctl.ledger.store import connect

__all__ = [
    "BudgetForecast",
    "DaySpend",
    "Driver",
    "Forecast",
    "Projection",
    "budget_forecasts",
    "drivers",
    "forecast",
    "forecast_groups",
    "linear_projection",
    "read_day_spend",
    "spend_from_rows",
    "spend_keys",
    "t_quantile",
]


@dataclass(frozen=True)
class DaySpend:
    """One UTC day's calls of one (prompt, target, source, tags): what forecasts need.

    Summed in SQL (`read_day_spend`), so a month of a busy ledger is a few thousand of
    these, not millions of rows. `calls` and `tokens` leave failed calls out.
    """

    day: date
    prompt_id: str | None
    target: str
    provider: str
    source: str
    tags: tuple[str, ...]
    calls: int
    tokens: int  # input + output
    cost_usd: float  # known costs
    unknown_cost_calls: int = 0


def read_day_spend(path: Path | str, *, since: float) -> list[DaySpend]:
    """The ledger from `since` (epoch s), summed per UTC day and group; read-only.

    The fleet's PostgreSQL ledger (a `postgresql://` URL) is read with `read_rows` and
    summed here (`spend_from_rows`): the same sums, one query for both databases.
    """
    from promptctl.ledger.postgres import is_pg_url

    if is_pg_url(path):
        from promptctl.ledger.report import read_rows

        return spend_from_rows(read_rows(path, since=since))
    path = Path(path)
    db = connect(path, readonly=True)
    try:
        check_rows(db, str(path))
        cursor = db.execute(
            "SELECT date(ts, 'unixepoch'), prompt_id, target, provider, source, tags, "
            "SUM(outcome != 'error'), "
            "SUM(CASE WHEN outcome != 'error' THEN input_tokens + output_tokens ELSE 0 END), "
            "COALESCE(SUM(cost_usd), 0), SUM(outcome = 'ok' AND cost_usd IS NULL) "
            "FROM calls WHERE ts >= ? "
            "GROUP BY 1, prompt_id, target, provider, source, tags",
            (since,),
        )
        return [
            DaySpend(
                date.fromisoformat(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                tags_of(r[5], str(path)),
                int(r[6]),
                int(r[7]),
                float(r[8]),
                int(r[9]),
            )
            for r in cursor
        ]
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read ledger {path}: {exc}") from None
    finally:
        db.close()


def spend_from_rows(rows: Iterable[LedgerRow]) -> list[DaySpend]:
    """The same sums from rows already read (tests, small ledgers)."""
    sums: dict[tuple[Any, ...], list[float]] = {}
    for r in rows:
        key: tuple[Any, ...] = (_day(r.ts), r.prompt_id, r.target, r.provider, r.source, r.tags)
        acc = sums.setdefault(key, [0, 0, 0.0, 0])
        ok = r.outcome != "error"
        acc[0] += ok
        acc[1] += (r.input_tokens + r.output_tokens) if ok else 0
        acc[2] += r.cost_usd or 0.0
        acc[3] += unknown_cost(r)
    return [
        DaySpend(k[0], k[1], k[2], k[3], k[4], k[5], int(a[0]), int(a[1]), float(a[2]), int(a[3]))
        for k, a in sums.items()
    ]


def spend_keys(d: DaySpend, by: str) -> tuple[str, ...]:
    """The group(s) of `--by` (as `costs` groups rows: a call counts under each tag)."""
    if by == "tag":
        return d.tags or ("(untagged)",)
    if by == "day":
        return (d.day.isoformat(),)
    value = {"prompt": d.prompt_id, "model": d.target, "provider": d.provider, "source": d.source}
    return (value[by] or "(none)",)


@dataclass(frozen=True)
class Forecast:
    """Spend of one group over a period: actual so far plus the projected rest."""

    key: str
    period_start: date
    period_end: date  # exclusive
    actual_usd: float  # complete days before today
    projected_usd: float  # today .. period end, from the trend
    low_usd: float | None  # interval of the total (None: too little history)
    high_usd: float | None
    trend_usd_per_day: float | None  # the fitted slope
    history_days: int
    unknown_cost_calls: int = 0
    daily_usd: tuple[float, ...] = ()  # the projection of each day, today first

    @property
    def total_usd(self) -> float:
        return self.actual_usd + self.projected_usd


@dataclass(frozen=True)
class BudgetForecast:
    budget: Budget
    forecast: Forecast
    exceeded_on: date | None  # the first day the projected running total passes the limit

    @property
    def breach(self) -> bool:
        return self.forecast.total_usd > self.budget.limit_usd


@dataclass(frozen=True)
class Driver:
    """One (prompt, model)'s change, last 7 complete days vs the 7 before."""

    prompt: str
    model: str
    before_usd: float
    after_usd: float
    calls_effect: float  # more (or fewer) calls
    length_effect: float  # longer (or shorter) prompts and answers: tokens per call
    price_effect: float  # dearer (or cheaper) tokens: cost per token
    calls_before: int
    calls_after: int

    @property
    def change_usd(self) -> float:
        return self.after_usd - self.before_usd


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion (Hill 1970)."""
    z = NormalDist().inv_cdf(p)
    if df <= 0:
        return math.inf
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class Projection:
    days: tuple[float, ...]  # predicted spend of each future day
    low: float | None  # interval of their sum
    high: float | None
    slope: float | None

    @property
    def total(self) -> float:
        return sum(self.days)


def linear_projection(history: Sequence[float], horizon: int, level: float = 0.95) -> Projection:
    """The next `horizon` days' spend (each, and an interval of the sum) from daily history.

    Day x of the history is 0..n-1; future days are n..n+horizon-1. Each predicted day is
    floored at 0 (spend is never negative); so is the low end of the interval.
    """
    n = len(history)
    if horizon <= 0:
        return Projection((), 0.0, 0.0, None)
    if n == 0:
        return Projection((0.0,) * horizon, None, None, None)
    if n < 3:
        return Projection((sum(history) / n,) * horizon, None, None, None)
    mean_x = (n - 1) / 2
    mean_y = sum(history) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(history)) / sxx
    intercept = mean_y - slope * mean_x
    future = range(n, n + horizon)
    days = tuple(max(0.0, intercept + slope * x) for x in future)
    point = sum(days)
    resid = sum((y - (intercept + slope * x)) ** 2 for x, y in enumerate(history))
    s2 = resid / (n - 2)
    spread = sum(x - mean_x for x in future)
    var = s2 * (horizon + horizon**2 / n + spread**2 / sxx)
    half = t_quantile(0.5 + level / 2, n - 2) * math.sqrt(var)
    return Projection(days, max(0.0, point - half), point + half, slope)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _daily(rows: Iterable[DaySpend], start: date, days: int) -> list[float]:
    out = [0.0] * days
    for row in rows:
        i = (row.day - start).days
        if 0 <= i < days:
            out[i] += row.cost_usd
    return out


def _period_end(period: str, start: date) -> date:
    if period == "daily":
        return start + timedelta(days=1)
    if period == "weekly":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def forecast(
    rows: Sequence[DaySpend],
    today: date,
    *,
    key: str = "total",
    period: str = "monthly",
    window: int = 28,
    level: float = 0.95,
) -> Forecast:
    """Period-end spend of `rows` (already narrowed to one group)."""
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    start = period_start(period, now).date()
    end = _period_end(period, start)
    first = min((r.day for r in rows), default=today)
    history_start = max(today - timedelta(days=window), first)
    n = (today - history_start).days
    history = _daily(rows, history_start, n) if n > 0 else []
    horizon = (end - today).days
    p = linear_projection(history, horizon, level)
    actual = sum(_daily(rows, start, (today - start).days)) if today > start else 0.0
    return Forecast(
        key=key,
        period_start=start,
        period_end=end,
        actual_usd=actual,
        projected_usd=p.total,
        low_usd=None if p.low is None else actual + p.low,
        high_usd=None if p.high is None else actual + p.high,
        trend_usd_per_day=p.slope,
        history_days=n,
        unknown_cost_calls=sum(r.unknown_cost_calls for r in rows),
        daily_usd=p.days,
    )


def forecast_groups(
    rows: Sequence[DaySpend],
    today: date,
    key_of: Callable[[DaySpend], Sequence[str]],
    *,
    window: int = 28,
) -> list[Forecast]:
    """One month-end forecast per group, highest forecast first."""
    groups: dict[str, list[DaySpend]] = {}
    for row in rows:
        for key in key_of(row):
            groups.setdefault(key, []).append(row)
    out = [forecast(g, today, key=k, window=window) for k, g in groups.items()]
    return sorted(out, key=lambda f: (-f.total_usd, f.key))


def budget_forecasts(
    rows: Sequence[DaySpend], budgets: Iterable[Budget], today: date, *, window: int = 28
) -> list[BudgetForecast]:
    """Each budget's period-end forecast and the day the trend passes its limit, if any."""
    out = []
    for budget in budgets:
        scoped = [r for r in rows if in_scope(r, budget)]
        fc = forecast(scoped, today, key=budget.label, period=budget.period, window=window)
        out.append(BudgetForecast(budget, fc, _crossing(fc, budget, today)))
    return out


def _crossing(fc: Forecast, budget: Budget, today: date) -> date | None:
    """The first day (today or later) by whose end the projected total passes the limit."""
    if fc.actual_usd > budget.limit_usd:
        return today
    running = fc.actual_usd
    for offset, spend in enumerate(fc.daily_usd):
        running += spend
        if running > budget.limit_usd:
            return today + timedelta(days=offset)
    return None


def drivers(rows: Iterable[DaySpend], today: date, *, top: int = 5) -> list[Driver]:
    """The (prompt, model) pairs whose cost changed most, last 7 complete days vs prior 7."""
    after_start = today - timedelta(days=7)
    before_start = today - timedelta(days=14)
    sums: dict[tuple[str, str], list[list[float]]] = {}
    for row in rows:
        if not before_start <= row.day < today or not row.calls:
            continue
        side = 1 if row.day >= after_start else 0
        key = (row.prompt_id or "(none)", row.target)
        bucket = sums.setdefault(key, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])[side]
        bucket[0] += row.calls
        bucket[1] += row.tokens
        bucket[2] += row.cost_usd
    out = []
    for (prompt, model), (b, a) in sums.items():
        calls_e, length_e, price_e = _decompose(b, a)
        out.append(
            Driver(prompt, model, b[2], a[2], calls_e, length_e, price_e, int(b[0]), int(a[0]))
        )
    out.sort(key=lambda d: (-abs(d.change_usd), d.prompt, d.model))
    return [d for d in out if d.change_usd != 0][:top]


def _decompose(before: list[float], after: list[float]) -> tuple[float, float, float]:
    """cost = calls x tokens/call x cost/token, changed one factor at a time."""
    c0, t0, k0 = before
    c1, t1, k1 = after
    if c0 == 0 or c1 == 0 or t0 == 0 or t1 == 0:
        return k1 - k0, 0.0, 0.0  # appeared or vanished (or no tokens): all "calls"
    per_call0, per_call1 = t0 / c0, t1 / c1
    price0, price1 = k0 / t0, k1 / t1
    calls_e = (c1 - c0) * per_call0 * price0
    length_e = c1 * (per_call1 - per_call0) * price0
    price_e = c1 * per_call1 * (price1 - price0)
    return calls_e, length_e, price_e
