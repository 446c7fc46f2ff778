"""`promptctl ci`: one command for pull requests.

Test the head (the working tree), diff it against the base (the merge-base with the
target branch, or --base REF|RESULTS.json), apply the gate, write the markdown report to
a file and to $GITHUB_STEP_SUMMARY, optionally post it as the PR comment, exit by the
gate: 0 holds (inconclusive too, loudly, unless require_conclusive), 1 fails, 3 too many
errors to judge, 2 bad input, 130 interrupted.

On a pull request from a fork (`$GITHUB_EVENT_PATH`), `python` checks, changed provider
settings and its own recordings are refused (exit 1) before anything runs, unless
`--trust-pr` (evals.pr_trust).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from promptctl.cli._common import ProjectOption, console, resolve_project
from promptctl.cli._eval_flags import EvalFlags, eval_flags
from promptctl.cli._gate_flags import GateFlags, gate_flags_option
from promptctl.cli._html import HtmlOption

if TYPE_CHECKING:
    from promptctl.promptfile.model import Project

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("ci")(ci)


@eval_flags
@gate_flags_option
def ci(
    flags: EvalFlags,
    *,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="Git ref or results file (default: merge-base with origin/main)."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Markdown report file (default .promptctl/ci-report.md)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Head results file (default .promptctl/ci-results.json)."
        ),
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write the head's JUnit XML here.")] = None,
    html: HtmlOption = None,
    comment: Annotated[
        bool, typer.Option("--comment", help="Post/update the PR comment (GitHub Actions).")
    ] = False,
    gate_flags: GateFlags,
    trust_pr: Annotated[
        bool,
        typer.Option(
            "--trust-pr",
            help="On a fork's pull request, still run its python checks and provider "
            "settings (only after reviewing it; see docs/security.md).",
        ),
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Test the head, diff against the base, gate; write the report (and the PR comment)."""
    from promptctl.cli._gate_run import compare_both, finish
    from promptctl.evals.compare import check_gate

    proj = resolve_project(project)
    from promptctl.evals.run_output import check_writable

    report_path = report or proj.state_dir / "ci-report.md"
    html_path = html or report_path.with_suffix(".html")
    for path in (report_path, html_path):
        check_writable(path)  # an unusable report path fails before anything is spent
    selection = flags.selection(output=output or proj.state_dir / "ci-results.json", junit=junit)
    gate = gate_flags.config(proj.gate)
    check_gate(gate)
    if comment:
        from promptctl.report.github import check_comment_env

        check_comment_env()  # a job that cannot comment fails before spending anything
    if not trust_pr:
        _refuse_untrusted_fork(proj, base)
    comparison, base_side, head_side = compare_both(proj, selection, gate, base=base, head=None)
    from promptctl.cli._html import write_diff_html
    from promptctl.report.diff_report import render_markdown
    from promptctl.report.diff_terminal import print_terminal
    from promptctl.report.github import append_step_summary, publish_report

    # files first: a closed stdout pipe must not lose the reports
    write_diff_html(html_path, comparison, base_side.document, head_side.document)
    markdown = render_markdown(comparison) + _html_link(html_path)
    _write(report_path, markdown)
    print_terminal(comparison, console())
    typer.echo(f"report: {report_path}", err=True)
    typer.echo(f"head results: {selection.options.output}", err=True)
    if comment:
        typer.echo(publish_report(markdown).describe(), err=True)
    elif append_step_summary(markdown) is not None:
        typer.echo("report appended to $GITHUB_STEP_SUMMARY", err=True)
    finish(comparison)


def _refuse_untrusted_fork(proj: Project, base: str | None) -> None:
    """RefusedError (exit 1) when a fork's pull request would run its own code, redirect
    requests or replay its own answers."""
    from promptctl.evals.pr_trust import check_untrusted_pr, pull_request_from_env

    pr = pull_request_from_env()
    if pr is None or not pr.from_fork:
        return
    from promptctl.cli.test import load_or_exit
    from promptctl.evals.baseline import default_base_ref, git_source
    from promptctl.evals.gate import is_results_file

    if base is None or is_results_file(base):
        commit, _ = default_base_ref(proj.root)
    else:
        _, commit = git_source(proj.root, base)
    check_untrusted_pr(proj, pr, commit, load_or_exit(proj, []).prompts)
    typer.echo(
        f"{pr.describe()}: no python checks; providers, gate and recordings as on the base",
        err=True,
    )


def _html_link(html_path: Path) -> str:
    """A line pointing at the HTML report: in GitHub Actions, the run page that holds the
    uploaded artifact (see the scaffolded workflow); elsewhere, the file."""
    import os

    server, repo, run_id = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run_id:
        url = f"{server}/{repo}/actions/runs/{run_id}#artifacts"
        return (
            f"\n<sub>📄 Full HTML report (outputs side by side, word diffs): "
            f"the `promptctl-report` artifact of [this run]({url}).</sub>\n"
        )
    return f"\n<sub>📄 Full HTML report: `{html_path.name}` next to this file.</sub>\n"


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        from promptctl.errors import UsageError

        raise UsageError(f"cannot write --report {path}: {exc.strerror}") from None
