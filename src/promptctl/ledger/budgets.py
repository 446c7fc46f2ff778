"""`budgets:` in promptctl.yaml: spending limits per period, checked by `costs --check`.

Shape (USD; periods are calendar periods in UTC: `daily` since 00:00 today, `weekly`
since Monday 00:00, `monthly` since the 1st 00:00)::

    budgets:
      total:    {daily: 5.0, monthly: 100}
      prompt:   {support/triage: {monthly: 20}}
      tag:      {support: {daily: 2}}
      provider: {openai: {monthly: 50}}
      model:    {openai/gpt-4o: {weekly: 10}}
      source:   {eval: {daily: 1}}

Only known costs count toward a budget; calls of unknown cost (successful, uncached, no
price) are named next to it. Failed calls cost nothing and are not unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from promptctl.errors import ConfigError
from promptctl.ledger.report import LedgerRow, unknown_cost

__all__ = [
    "PERIODS",
    "SCOPES",
    "Budget",
    "BudgetStatus",
    "Scoped",
    "check_budgets",
    "earliest_start",
    "in_scope",
    "parse_budgets",
    "period_start",
]

PERIODS = ("daily", "weekly", "monthly")
SCOPES = ("total", "prompt", "tag", "provider", "model", "source")


@dataclass(frozen=True)
class Budget:
    scope: str  # one of SCOPES
    key: str | None  # None for `total`
    period: str  # one of PERIODS
    limit_usd: float

    @property
    def label(self) -> str:
        return f"{self.scope} {self.key} {self.period}" if self.key else f"total {self.period}"


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    spent_usd: float
    unknown_cost_calls: int
    since: datetime

    @property
    def exceeded(self) -> bool:
        return self.spent_usd > self.budget.limit_usd


def parse_budgets(raw: Mapping[str, Any]) -> list[Budget]:
    """Validate the `budgets:` mapping; a wrong shape is a ConfigError naming the key."""
    budgets = []
    for scope, value in raw.items():
        if scope not in SCOPES:
            raise ConfigError(f"budgets.{scope}: unknown scope; use one of {', '.join(SCOPES)}")
        if not isinstance(value, Mapping):
            raise ConfigError(f"budgets.{scope} must be a mapping")
        items = [(None, value)] if scope == "total" else list(value.items())
        for key, periods in items:
            where = f"budgets.{scope}" + (f".{key}" if key else "")
            if not isinstance(periods, Mapping):
                raise ConfigError(f"{where} must map periods (daily, weekly, monthly) to USD")
            for period, limit in periods.items():
                if period not in PERIODS:
                    raise ConfigError(f"{where}.{period}: unknown period; use {', '.join(PERIODS)}")
                if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
                    raise ConfigError(f"{where}.{period} must be a non-negative number of USD")
                budgets.append(Budget(scope, None if key is None else str(key), period, limit))
    return budgets


def period_start(period: str, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def check_budgets(
    rows: Iterable[LedgerRow], budgets: Iterable[Budget], *, now: datetime | None = None
) -> list[BudgetStatus]:
    """Spending per budget over its current period; `rows` must reach back a month."""
    now = now or datetime.now(UTC)
    rows = list(rows)
    out = []
    for budget in budgets:
        since = period_start(budget.period, now)
        start = since.timestamp()
        spent, unknown = 0.0, 0
        for row in rows:
            if row.ts < start or not in_scope(row, budget):
                continue
            if unknown_cost(row):
                unknown += 1
            else:
                spent += row.cost_usd or 0.0
        out.append(BudgetStatus(budget, spent, unknown, since))
    return out


def earliest_start(budgets: Iterable[Budget], now: datetime) -> float | None:
    starts = [period_start(b.period, now).timestamp() for b in budgets]
    return min(starts) if starts else None


class Scoped(Protocol):
    """What a budget scope looks at: a ledger row, or a day's sum of rows (forecast)."""

    @property
    def prompt_id(self) -> str | None: ...
    @property
    def provider(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def in_scope(row: Scoped, budget: Budget) -> bool:
    if budget.scope == "total":
        return True
    if budget.scope == "tag":
        return budget.key in row.tags
    value = {
        "prompt": row.prompt_id,
        "provider": row.provider,
        "model": row.target,
        "source": row.source,
    }[budget.scope]
    return value == budget.key
