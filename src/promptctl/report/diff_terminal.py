"""Render a Comparison for the terminal with rich (imported lazily: `--help` stays fast)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from promptctl.evals.comparison import Comparison, GroupComparison
from promptctl.report.diff_report import verdict_line

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

    console.print(verdict_line(c), style=_STYLE[c.verdict], markup=False, highlight=False)
    for reason in c.reasons:
        console.print(f"  {reason}", markup=False, highlight=False)
    if c.verdict == "inconclusive" and not c.gate.require_conclusive:
        console.print(
            "  INCONCLUSIVE: the gate holds, but these results cannot rule out a regression.",
            style="bold yellow",
        )
    table = Table(title="prompt x target: base → head", title_justify="left")
    for name in ("prompt", "target", "verdict", "pass rate", "score", "cost/case", "p95"):
        table.add_column(name, overflow="fold")
    for g in c.groups:
        table.add_row(
            g.prompt,
            g.target,
            f"[{_STYLE[g.verdict]}]{g.verdict}[/]",
            _pair(g, "pass_rate", "{:.1%}"),
            _pair(g, "mean_score", "{:.3f}"),
            _pair(g, "cost_per_case", "${:.4f}"),
            _pair(g, "latency_p95_ms", "{:.0f} ms"),
        )
    console.print(table)
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
    for p in c.prompt_changes:
        if p.status == "unchanged":
            continue
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


def _pair(g: GroupComparison, attr: str, fmt: str) -> str:
    base = getattr(g.base, attr) if g.base is not None else None
    head = getattr(g.head, attr) if g.head is not None else None
    return f"{_f(base, fmt)} → {_f(head, fmt)}"


def _f(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _r(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"
