"""`promptctl report RESULTS.json [BASE.json] --html FILE`: the HTML report of results
already written — of one run, or of the diff from BASE to RESULTS (gated by `gate:` of
promptctl.yaml). Exit codes: 0 written, 2 bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptctl.cli._common import ProjectOption, resolve_project

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    results: Annotated[Path, typer.Argument(help="Results file (the head of a diff).")],
    base: Annotated[
        Path | None, typer.Argument(help="Base results file: report the diff base → results.")
    ] = None,
    html: Annotated[
        Path, typer.Option("--html", help="Write the HTML report here.", dir_okay=False)
    ] = Path("promptctl-report.html"),
    project: ProjectOption = None,
) -> None:
    """Write the self-contained HTML report of a results file, or of a diff of two."""
    from promptctl.cli._html import run_page, write_diff_html, write_run_html
    from promptctl.evals.results import read_results

    proj = resolve_project(project)
    head_doc = read_results(results)
    if base is None:
        write_run_html(html, run_page(head_doc, proj))
        return
    from promptctl.evals.compare import check_gate, compare
    from promptctl.report.diff_report import verdict_line

    check_gate(proj.gate)
    base_doc = read_results(base)
    comparison = compare(base_doc, head_doc, proj.gate)
    write_diff_html(html, comparison, base_doc, head_doc)
    typer.echo(verdict_line(comparison))
