"""Render a Comparison for the terminal with rich (imported lazily: `--help` stays fast)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from promptctl.evals.comparison import Comparison
from promptctl.report.diff_report import cost_cell, group_statistics, sources_line, verdict_line
from promptctl.report.money import format_usd

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_terminal", "render_terminal_text"]

_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta", "inconclusive": "yellow"}


def render_terminal_text(comparison: Comparison, *, width: int = 120) -> str:
    """The terminal report as plain text (for files and tests)."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    print_terminal(comparison, console)
    return console.export_text()


def print_terminal(c: Comparison, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(verdict_line(c), style=_STYLE[c.verdict], markup=False, highlight=False)
    for reason in c.reasons:
        console.print(f"  {reason}", markup=False, highlight=False)
    if c.verdict == "inconclusive" and not c.gate.require_conclusive:
        console.print(
            "  INCONCLUSIVE: the gate holds, but these results cannot rule out a regression.",
            style="bold yellow",
        )
    sources = sources_line(c)
    if sources:
        console.print(sources, style="dim", markup=False, highlight=False)
    for g in c.groups:
        # the group's line above its table, not the table's title: rich wraps a title to
        # the table's width, and a table of dashes (every case errored) is narrow
        title = Text(f"{g.prompt} ({g.model_change or g.target}): ")
        console.print(title.append(g.verdict, style=_STYLE[g.verdict]), highlight=False)
        table = Table()
        for name in ("", "base", "head", "change"):
            table.add_column(name, no_wrap=True, justify="left" if not name else "right")
        for label, attr, fmt, change in _ROWS:
            base = getattr(g.base, attr) if g.base is not None else None
            head = getattr(g.head, attr) if g.head is not None else None
            if attr == "cost_per_case":  # the gate's figure: over tests priced on both sides
                cost = "—" if g.cost_change_pct is None else f"{g.cost_change_pct / 100:+.1%}"
                table.add_row(label, cost_cell(g.base, attr), cost_cell(g.head, attr), cost)
            elif attr == "total_cost":
                table.add_row(
                    label,
                    cost_cell(g.base, attr),
                    cost_cell(g.head, attr),
                    _change(base, head, change),
                )
            else:
                table.add_row(label, _f(base, fmt), _f(head, fmt), _change(base, head, change))
        console.print(table)
        if g.paired_tests:
            console.print(f"  {group_statistics(g)}", style="dim", markup=False, highlight=False)
        if g.cost_note:
            console.print(f"  {g.cost_note}", style="dim", markup=False, highlight=False)
    _tests(c, console)
    _changes(c, console)


def _tests(c: Comparison, console: Console) -> None:
    for g in c.groups:
        for t in g.tests:
            if t.status in ("regressed", "fixed", "flaky", "new", "removed", "errored"):
                style = {"regressed": "red", "fixed": "green", "flaky": "yellow"}.get(t.status, "")
                rates = f"{_r(t.base_rate)} → {_r(t.head_rate)}"
                console.print(
                    f"  {t.status:<9} {g.prompt} ({g.target}) :: {t.test}  {rates}",
                    style=style,
                    markup=False,
                    highlight=False,
                )
                for reason in t.reasons if t.status == "regressed" else ():
                    console.print(f"            {reason}", markup=False, highlight=False)


def _changes(c: Comparison, console: Console) -> None:
    shown = [p for p in c.prompt_changes if p.status != "unchanged"]
    if shown:
        console.print("What changed in the prompts:", style="bold")
    for p in shown:
        console.print(f"{p.prompt}: {p.status} ({p.base_version} → {p.head_version})", style="bold")
        for line in p.changes:
            console.print(f"  {line}", markup=False, highlight=False)
        for name in p.tests_added:
            console.print(f"  test added: {name}", markup=False)
        for name in p.tests_removed:
            console.print(f"  test removed: {name}", markup=False)
        for _, diff in p.template_diffs:
            for line in diff.splitlines():
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                console.print(f"  {line}", style=style, markup=False, highlight=False)


_ROWS: tuple[tuple[str, str, Callable[[float], str], str], ...] = (
    ("pass rate", "pass_rate", "{:.1%}".format, "points"),
    ("mean score", "mean_score", "{:.3f}".format, "diff"),
    ("cost / case", "cost_per_case", format_usd, "pct"),
    ("total cost", "total_cost", format_usd, "pct"),
    ("latency p50", "latency_p50_ms", "{:.0f} ms".format, "pct"),
    ("latency p95", "latency_p95_ms", "{:.0f} ms".format, "pct"),
)


def _change(base: float | None, head: float | None, kind: str) -> str:
    if base is None or head is None or math.isnan(base) or math.isnan(head):
        return "—"
    if kind == "points":
        return f"{(head - base) * 100:+.1f} pts"
    if kind == "diff":
        return f"{head - base:+.3f}"
    return "—" if base == 0 else f"{(head - base) / base:+.1%}"


def _f(value: float | None, fmt: Callable[[float], str]) -> str:
    return "—" if value is None or math.isnan(value) else fmt(value)


def _r(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"
