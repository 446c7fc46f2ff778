"""`promptctl diff`: compare a base and a head, show what changed and apply the gate.

Each side is a results file, a git ref (its prompts evaluated without touching the
working tree), or by default: the head is the working tree, the base the merge-base
with origin/main (else main). Exit codes: 0 the gate holds (also inconclusive, said
loudly, unless --require-conclusive), 1 the gate fails, 3 too many cases errored to
judge, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project
from promptctl.cli._eval_flags import EvalFlags, eval_flags
from promptctl.cli._gate_flags import GateFlags, gate_flags_option, gate_from_flags
from promptctl.cli._html import HtmlOption

if TYPE_CHECKING:
    from promptctl.evals.comparison import Comparison
    from promptctl.report.gate import Format

__all__ = ["gate_from_flags", "register"]


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)


@eval_flags
@gate_flags_option
def diff(
    flags: EvalFlags,
    *,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="Git ref or results file (default: merge-base with origin/main)."
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="Results file (default: evaluate the working tree)."),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="terminal, markdown or json.")
    ] = "terminal",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    html: HtmlOption = None,
    gate_flags: GateFlags,
    comment: Annotated[
        bool, typer.Option("--comment", help="Post/update the PR comment (GitHub Actions).")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Compare base and head per prompt x target and per test, show the prompt changes, gate.

    The selection and evaluation flags (as for `promptctl test`) apply to both sides.
    The gate is `gate:` of promptctl.yaml; the flags given override its fields.
    """
    from promptctl.cli._gate_run import compare_both, finish

    fmt = _format(format)
    selection = flags.selection()
    proj = resolve_project(project)
    from promptctl.evals.run_output import check_writable

    for path in (html, output):
        check_writable(path)  # an unusable output path fails before anything is spent
    gate = gate_flags.config(proj.gate)
    from promptctl.evals.compare import check_gate

    check_gate(gate)  # bad gate settings are exit 2 before anything is evaluated
    if comment:
        from promptctl.report.github import check_comment_env

        check_comment_env()  # a job that cannot comment fails before spending anything
    comparison, base_side, head_side = compare_both(proj, selection, gate, base=base, head=head)
    if html is not None:  # files first: a closed stdout pipe must not lose them
        from promptctl.cli._html import write_diff_html

        write_diff_html(html, comparison, base_side.document, head_side.document)
    _emit(comparison, fmt, output)
    if comment:
        from promptctl.report.diff_report import render_markdown
        from promptctl.report.github import publish_report

        typer.echo(publish_report(render_markdown(comparison)).describe(), err=True)
    finish(comparison)


def _format(value: str) -> Format:
    return cast("Format", check_choice(value, ("terminal", "markdown", "json")))


def _emit(comparison: Comparison, fmt: Format, output: Path | None) -> None:
    from promptctl.report.gate import render

    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(render(comparison, fmt), encoding="utf-8")
        except OSError as exc:
            from promptctl.errors import UsageError

            raise UsageError(f"cannot write --output {output}: {exc.strerror}") from None
        from promptctl.report.diff_report import verdict_line

        typer.echo(f"{verdict_line(comparison)} (report: {output})")
    elif fmt == "terminal":
        from promptctl.report.diff_terminal import print_terminal

        print_terminal(comparison, console())
    else:
        from promptctl.report.safe_text import write_data

        write_data(render(comparison, fmt))
