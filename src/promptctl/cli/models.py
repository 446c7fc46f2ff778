"""`promptctl models`: the models the project uses, their lifecycle state and price."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

if TYPE_CHECKING:
    import datetime

    from promptctl.promptfile.model import Project

__all__ = ["model_rows", "register"]


def model_rows(targets: list[str], project: Project, day: datetime.date) -> list[dict[str, Any]]:
    """One row per target: state, dates, replacement, source, price per 1M tokens."""
    from promptctl.providers.lifecycle import status
    from promptctl.providers.pricing import price_for

    rows = []
    for target in targets:
        state, row = status(target, project, day)
        price = price_for(target, project, day)
        rows.append(
            {
                "model": target,
                "state": state,
                "deprecated": str(row.deprecated) if row and row.deprecated else None,
                "shutdown": str(row.shutdown) if row and row.shutdown else None,
                "days_left": row.days_left(day) if row else None,
                "replacement": row.replacement if row else None,
                "source": row.source if row else None,
                "checked": row.checked if row else None,
                "input": price.input if price else None,
                "output": price.output if price else None,
            }
        )
    return rows


_STYLE = {"retired": "red", "retiring": "yellow", "deprecated": "yellow", "active": "green"}


def models(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if a used model is retired or retiring.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Models the prompts use (main, fallbacks, routes, judge): lifecycle state and price.

    States: retired (past its shutdown date), retiring (within `lifecycle.warn_days`),
    deprecated (announced, shutdown further away), active (a known row, nothing due),
    unknown (no row). Today is the UTC date or PROMPTCTL_TODAY=YYYY-MM-DD.
    """
    from promptctl.providers.catalog import used_targets
    from promptctl.providers.lifecycle import today

    check_choice(fmt, ("table", "json"))
    proj = resolve_project(project)
    day = today()
    rows = model_rows(used_targets(proj), proj, day)
    if fmt == "json":
        doc = {"schema": "promptctl/models@1", "today": str(day), "models": rows}
        typer.echo(json.dumps(doc, indent=2))
    else:
        _print(rows, str(day))
    if check and any(r["state"] in ("retired", "retiring") for r in rows):
        raise typer.Exit(1)


def _print(rows: list[dict[str, Any]], day: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:g}"

    table = Table(
        title=f"Models used (today {day}; prices USD per 1M tokens)", title_justify="left"
    )
    for col in ("model", "state", "shutdown", "replacement", "input", "output"):
        table.add_column(col, justify="right" if col in ("input", "output") else "left")
    for r in rows:
        style = _STYLE.get(r["state"])
        state = f"[{style}]{r['state']}[/{style}]" if style else r["state"]
        when = r["shutdown"] or "-"
        if r["days_left"] is not None and r["days_left"] >= 0 and r["state"] == "retiring":
            when += f" ({r['days_left']} d)"
        table.add_row(
            escape(r["model"]),
            state,
            when,
            escape(r["replacement"] or "-"),
            num(r["input"]),
            num(r["output"]),
        )
    out = console()
    out.print(table)
    sources = sorted({r["source"] for r in rows if r["source"]})
    if sources:
        out.print("lifecycle sources: " + ", ".join(sources), markup=False)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
