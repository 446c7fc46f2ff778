"""`promptctl costs --forecast` and `--check-forecast`: glue between the ledger and print."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli._common import console

if TYPE_CHECKING:
    from promptctl.ledger.forecast import BudgetForecast, Driver, Forecast
    from promptctl.promptfile.model import Project

__all__ = ["check_forecast", "show_forecast"]


def _rows_since(path: Path | str, today: date, window: int) -> list[Any]:
    from promptctl.ledger.forecast import read_day_spend

    # the period start of a weekly/monthly budget, the trend window, the drivers' 14 days
    first = min(today.replace(day=1), today - timedelta(days=max(window, 14)))
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return read_day_spend(path, since=start.timestamp())


def _usd(value: float | None) -> str:
    from promptctl.report.money import format_usd

    return format_usd(value, unknown="-")


def _interval(f: Forecast) -> str:
    if f.low_usd is None or f.high_usd is None:
        return "(too little history)"
    return f"{_usd(f.low_usd)} - {_usd(f.high_usd)}"


def budget_line(b: BudgetForecast) -> str:
    f = b.forecast
    state = "forecast breach" if b.breach else "forecast ok"
    text = (
        f"budget {state}: {b.budget.label}: forecast {_usd(f.total_usd)} "
        f"(95% {_interval(f)}) of {_usd(b.budget.limit_usd)} by {f.period_end - timedelta(days=1)}"
    )
    if b.exceeded_on is not None:
        text += f"; at this trend exceeded on {b.exceeded_on}"
    return text


def show_forecast(
    project: Project, path: Path | str, by: str, window: int, fmt: str, today: date
) -> None:
    from promptctl.errors import UsageError
    from promptctl.ledger.budgets import parse_budgets
    from promptctl.ledger.forecast import (
        budget_forecasts,
        drivers,
        forecast,
        forecast_groups,
        spend_keys,
    )
    from promptctl.ledger.report import GROUP_BY

    if by not in GROUP_BY:
        raise UsageError(f"cannot group by {by!r}; choose one of {', '.join(GROUP_BY)}")
    rows = _rows_since(path, today, window)
    groups = forecast_groups(rows, today, lambda r: spend_keys(r, by), window=window)
    total = forecast(rows, today, window=window)
    budgets = budget_forecasts(rows, parse_budgets(project.budgets), today, window=window)
    moved = drivers(rows, today)
    if fmt == "json":
        doc = {
            "schema": "promptctl/forecast@1",
            "today": str(today),
            "window_days": window,
            "by": by,
            "total": _fc_dict(total),
            "groups": [_fc_dict(g) for g in groups],
            "budgets": [
                {
                    "budget": b.budget.label,
                    "limit_usd": b.budget.limit_usd,
                    "breach": b.breach,
                    "exceeded_on": str(b.exceeded_on) if b.exceeded_on else None,
                    "forecast": _fc_dict(b.forecast),
                }
                for b in budgets
            ],
            "drivers": [{**asdict(d), "change_usd": d.change_usd} for d in moved],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    _print(groups, total, budgets, moved, by, window, today)


def _fc_dict(f: Forecast) -> dict[str, Any]:
    data = asdict(f)
    data.pop("daily_usd")
    data["period_start"], data["period_end"] = str(f.period_start), str(f.period_end)
    data["total_usd"] = f.total_usd
    return data


def _print(
    groups: list[Forecast],
    total: Forecast,
    budgets: list[BudgetForecast],
    moved: list[Driver],
    by: str,
    window: int,
    today: date,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    end = total.period_end - timedelta(days=1)
    table = Table(
        title=f"month-end forecast by {by} ({today} -> {end}; trend of the last {window} days)",
        title_justify="left",
    )
    for col in (by, "so far", "rest of month", "forecast", "95% interval", "trend/day"):
        table.add_column(col, justify="left" if col == by else "right")
    for f in [*groups, total]:
        trend = f.trend_usd_per_day
        table.add_row(
            escape(f.key) if f is not total else "TOTAL",
            _usd(f.actual_usd),
            _usd(f.projected_usd),
            _usd(f.total_usd),
            _interval(f),
            "-" if trend is None else ("+" if trend >= 0 else "") + _usd(trend),
            end_section=f is groups[-1] if groups else False,
        )
    out.print(table)
    for b in budgets:
        out.print(budget_line(b), markup=False)
    if not moved:
        out.print("no change in spend week over week", markup=False)
        return
    drivers = Table(title="drivers of change: last 7 days vs the 7 before", title_justify="left")
    for col in ("prompt", "model", "before", "after", "change", "calls", "longer", "dearer"):
        drivers.add_column(col, justify="left" if col in ("prompt", "model") else "right")
    for d in moved:
        drivers.add_row(
            escape(d.prompt),
            escape(d.model),
            _usd(d.before_usd),
            _usd(d.after_usd),
            _signed(d.change_usd),
            _signed(d.calls_effect) + f" ({d.calls_before}->{d.calls_after})",
            _signed(d.length_effect),
            _signed(d.price_effect),
        )
    out.print(drivers)


def _signed(value: float) -> str:
    if abs(value) < 1e-9:  # float noise of a factor that did not change
        return "$0.00"
    return ("+" if value > 0 else "") + _usd(value)


def check_forecast(project: Project, path: Path | str, window: int, today: date) -> bool:
    """Print each budget's forecast line; True when one is forecast to be exceeded."""
    from promptctl.ledger.budgets import parse_budgets
    from promptctl.ledger.forecast import budget_forecasts

    rows = _rows_since(path, today, window)
    results = budget_forecasts(rows, parse_budgets(project.budgets), today, window=window)
    for b in sorted(results, key=lambda b: not b.breach):
        typer.echo(budget_line(b))
    return any(b.breach for b in results)
