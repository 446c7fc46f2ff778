"""`promptctl costs`: what the ledger says was spent, grouped, with budgets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

if TYPE_CHECKING:
    from promptctl.ledger.report import Bucket, CostReport

__all__ = ["register"]


def _saved(b: Bucket) -> str:
    """Known savings; "unknown" rather than `$0.00` when only unknown savings exist."""
    from promptctl.report.money import format_usd

    return "unknown" if b.unknown_savings_calls and not b.saved_usd else format_usd(b.saved_usd)


def _print_table(report: CostReport) -> None:
    from rich.table import Table

    from promptctl.report.money import format_usd

    out = console()
    total = report.total
    table = Table(title=f"cost by {report.by}")
    table.add_column(report.by)
    columns = (
        "calls",
        "errors",
        "cost",
        "unknown",
        "per call",
        "in tok",
        "cached",
        "cache wr",
        "out tok",
    )
    for col in (*columns, "saved"):
        table.add_column(col, justify="right")
    for b in [*report.groups, total]:
        table.add_row(
            b.key if b is not total else "TOTAL",
            str(b.calls),
            str(b.errors) if b.errors else "",
            format_usd(b.cost_usd) if b.cost_known else "unknown",
            str(b.unknown_cost_calls) if b.unknown_cost_calls else "",
            format_usd(b.cost_per_call, unknown="-"),
            f"{b.input_tokens:,}",
            f"{b.cached_input_tokens:,}",
            f"{b.cache_write_tokens:,}"
            + (f" (1h {b.cache_write_1h_tokens:,})" if b.cache_write_1h_tokens else ""),
            f"{b.output_tokens:,}",
            _saved(b),
            end_section=b is report.groups[-1] if report.groups else False,
        )
    out.print(table)
    if total.unknown_cost_calls:
        out.print(
            f"{total.unknown_cost_calls} call(s) of unknown cost are not in the totals; "
            + "; ".join(unknown_cost_reasons(report)),
            markup=False,
            highlight=False,
        )
    if total.unknown_savings_calls:
        out.print(f"cache savings unknown for {total.unknown_savings_calls} call(s)")


def unknown_cost_reasons(report: CostReport) -> list[str]:
    """What is really missing for the unknown costs: a price, readable usage, an answer."""
    reasons = []
    if report.unpriced_models:
        models = report.unpriced_models
        them = "it" if len(models) == 1 else "them"
        reasons.append(
            f"no price for {', '.join(models)}: add {them} under `pricing:` in promptctl.yaml"
        )
    if report.unreadable_usage_models:
        reasons.append(
            f"unreadable token usage from {', '.join(report.unreadable_usage_models)} "
            "(absent or invalid counts in the response; the price is not the problem)"
        )
    if report.cancelled_calls:
        reasons.append(
            f"{report.cancelled_calls} call(s) cancelled in flight (interrupted: "
            "the provider may have billed them)"
        )
    return reasons


def _now() -> datetime:
    """The clock, or the end of PROMPTCTL_TODAY (the day the forecast also uses) when set."""
    import os
    from datetime import UTC, time

    from promptctl.providers.lifecycle import TODAY_ENV, today

    if os.environ.get(TODAY_ENV):
        return datetime.combine(today(), time.max, UTC)
    return datetime.now(UTC)


def register(app: typer.Typer) -> None:
    @app.command("costs")
    def costs(
        ledger: Annotated[
            str | None,
            typer.Option(
                "--ledger",
                help="Ledger file or postgresql:// URL (also PROMPTCTL_LEDGER) "
                "[default: .promptctl/ledger.sqlite].",
            ),
        ] = None,
        by: Annotated[
            str, typer.Option("--by", help="prompt | model | provider | tag | day | source")
        ] = "prompt",
        since: Annotated[
            str | None, typer.Option("--since", help="7d, 24h, 30m, 2w or a date (UTC).")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
        check: Annotated[
            bool, typer.Option("--check", help="Exit 1 if a `budgets:` limit is exceeded.")
        ] = False,
        forecast: Annotated[
            bool,
            typer.Option("--forecast", help="Project month-end spend per group; budgets; drivers."),
        ] = False,
        check_forecast: Annotated[
            bool,
            typer.Option(
                "--check-forecast", help="With --check: also exit 1 on a forecast breach."
            ),
        ] = False,
        window: Annotated[
            int, typer.Option("--window", help="Days of history the forecast trend uses.", min=3)
        ] = 28,
        project: ProjectOption = None,
        config: Annotated[
            Path | None,
            typer.Option("--config", help="promptctl.yaml to read (instead of --project)."),
        ] = None,
    ) -> None:
        """Spending from the call ledger: totals, top spenders, cost per call, cache savings."""
        from promptctl.ledger.budgets import check_budgets, earliest_start, parse_budgets
        from promptctl.ledger.report import build_report, parse_since, read_rows
        from promptctl.promptfile.project import load_project
        from promptctl.report.costs import budget_line

        proj = load_project(config) if config is not None else resolve_project(project)
        from promptctl.ledger.postgres import ledger_location

        path = ledger_location(ledger, lambda: proj)
        if check_forecast and not check:
            from promptctl.errors import UsageError

            raise UsageError(
                "--check-forecast needs --check", hint="promptctl costs --check --check-forecast"
            )
        if forecast and not check:
            from promptctl.cli._forecast import show_forecast
            from promptctl.providers.lifecycle import today

            check_choice(fmt, ("table", "json"))
            show_forecast(proj, path, by, window, fmt, today())
            return
        if check:
            budgets = parse_budgets(proj.budgets)
            if not budgets:
                typer.echo("no budgets configured in promptctl.yaml (`budgets:`); nothing to check")
                return
            now = _now()
            statuses = check_budgets(
                read_rows(path, since=earliest_start(budgets, now)), budgets, now=now
            )
            for status in sorted(statuses, key=lambda s: not s.exceeded):
                typer.echo(budget_line(status))
            breach = False
            if check_forecast:
                from promptctl.cli._forecast import check_forecast as forecast_check
                from promptctl.providers.lifecycle import today

                breach = forecast_check(proj, path, window, today())
            if any(s.exceeded for s in statuses) or breach:
                raise typer.Exit(1)
            return
        check_choice(fmt, ("table", "json", "csv"))
        start = parse_since(since) if since else None
        report = build_report(read_rows(path, since=start), by=by, since=start, prices=proj.pricing)
        if fmt == "table":
            _print_table(report)
        else:
            from promptctl.report.costs import report_csv, report_json
            from promptctl.report.safe_text import write_data

            write_data(report_json(report) if fmt == "json" else report_csv(report))
