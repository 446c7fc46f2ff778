"""`promptctl calls`: recent ledger rows (what happened to one call), filtered."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

if TYPE_CHECKING:
    from promptctl.ledger.calls import CallRow

__all__ = ["register"]

_COLUMNS = (
    "time",
    "prompt",
    "version",
    "target",
    "answered by",
    "in",
    "out",
    "cost",
    "latency",
    "outcome",
)


def _cells(row: CallRow) -> list[str]:
    from datetime import UTC, datetime

    from promptctl.report.money import format_usd

    outcome = row.outcome + (f" ({row.error_kind})" if row.error_kind else "")
    if row.fallback_from:
        outcome += f" after {row.fallback_from}"
    if row.operation != "chat":
        outcome = f"{row.operation}: {outcome}"  # an embeddings request, not an answer
    cost = "-" if row.outcome == "error" else format_usd(row.cost_usd)
    # an answer always has input tokens: none at all means the server reported no usage
    counted = row.input_tokens or row.output_tokens or row.outcome == "error"
    return [
        datetime.fromtimestamp(row.ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
        row.prompt_id or "-",
        row.prompt_version or "-",
        row.target,
        row.model_reported or "-",
        f"{row.input_tokens:,}" if counted else "?",
        f"{row.output_tokens:,}" if counted else "?",
        cost,
        "-" if row.latency_ms is None or row.outcome == "error" else f"{row.latency_ms:,.0f} ms",
        outcome,
    ]


def register(app: typer.Typer) -> None:
    @app.command("calls")
    def calls(
        since: Annotated[
            str | None, typer.Option("--since", help="7d, 24h, 30m, 2w or a date (UTC).")
        ] = None,
        prompt: Annotated[str | None, typer.Option("--prompt", help="Only this prompt id.")] = None,
        model: Annotated[
            str | None, typer.Option("--model", help="Only this provider/model (as asked).")
        ] = None,
        provider: Annotated[
            str | None, typer.Option("--provider", help="Only this provider.")
        ] = None,
        tag: Annotated[
            str | None, typer.Option("--tag", help="Only prompts with this tag.")
        ] = None,
        source: Annotated[
            str | None, typer.Option("--source", help="eval | judge | runtime.")
        ] = None,
        outcome: Annotated[
            str | None, typer.Option("--outcome", help="ok | cached | error.")
        ] = None,
        operation: Annotated[str | None, typer.Option("--operation", help="chat | embed.")] = None,
        limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N rows.")] = 50,
        fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
        ledger: Annotated[
            str | None,
            typer.Option(
                "--ledger",
                help="Ledger file or postgresql:// URL [default: .promptctl/ledger.sqlite].",
            ),
        ] = None,
        project: ProjectOption = None,
    ) -> None:
        """Recent calls from the ledger, newest first: prompt, target, tokens, cost, outcome."""
        from promptctl.ledger.calls import CallFilter, read_calls
        from promptctl.ledger.report import parse_since

        check_choice(fmt, ("table", "json", "csv"))
        if outcome is not None:
            check_choice(outcome, ("ok", "cached", "error"), "--outcome")
        if operation is not None:
            check_choice(operation, ("chat", "embed"), "--operation")
        if limit < 1:
            from promptctl.errors import UsageError

            raise UsageError(f"--limit must be at least 1, got {limit}")
        from promptctl.ledger.postgres import ledger_location

        path = ledger_location(ledger, lambda: resolve_project(project))
        where = CallFilter(
            since=parse_since(since) if since else None,
            prompt=prompt,
            model=model,
            provider=provider,
            tag=tag,
            source=source,
            outcome=outcome,
            operation=operation,
            limit=limit,
        )
        rows = read_calls(path, where)
        if fmt == "json":
            doc = {"schema": "promptctl/calls@1", "calls": [r.as_dict() for r in rows]}
            typer.echo(json.dumps(doc, indent=2))
        elif fmt == "csv":
            _print_csv(rows)
        else:
            _print_table(rows)


def _print_csv(rows: list[CallRow]) -> None:
    import csv
    import io
    from dataclasses import fields

    from promptctl.ledger.calls import CallRow
    from promptctl.report.costs import csv_value

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f.name for f in fields(CallRow)]
    writer.writerow(names)
    for row in rows:
        data = row.as_dict()
        data["tags"] = "|".join(data["tags"])
        # a model's name is the provider's text, a tag the application's: neither may be
        # a formula in a spreadsheet (as `costs --format csv`)
        writer.writerow([csv_value(data[k]) for k in names])
    typer.echo(out.getvalue(), nl=False)


def _print_table(rows: list[CallRow]) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not rows:
        out.print("no calls match")
        return
    table = Table(title=f"{len(rows)} most recent call(s), newest first", title_justify="left")
    for col in _COLUMNS:
        table.add_column(
            col, justify="right" if col in ("in", "out", "cost", "latency") else "left"
        )
    for row in rows:
        table.add_row(*(escape(c) for c in _cells(row)))  # ledger text is data, not markup
    out.print(table)
