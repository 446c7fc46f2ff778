"""`promptctl diff`: compare a base and a head results file and apply the gate.

Exit codes: 0 the gate holds (also inconclusive, said loudly, unless
--require-conclusive), 1 the gate fails, 3 too many cases errored to judge, 2 bad input.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project

if TYPE_CHECKING:
    from promptctl.evals.comparison import Comparison
    from promptctl.report.gate import Format
    from promptctl.spec.model import GateConfig

__all__ = ["gate_from_flags", "register"]


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)


_OFF = float("nan")  # a flag said "off": the limit becomes None


def gate_from_flags(base: GateConfig, **flags: Any) -> GateConfig:
    """`promptctl.yaml`'s gate with the flags that were given on top (None = not given)."""
    given: dict[str, Any] = {
        k: (None if v is _OFF else v) for k, v in flags.items() if v is not None
    }
    return replace(base, **given)


def _limit(flag: str, value: str | None) -> float | None:
    from promptctl.errors import UsageError

    if value is None:
        return None
    if value.strip().lower() in ("off", "none"):
        return _OFF
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{flag} takes a percentage or 'off', got {value!r}") from None


def diff(
    base: Annotated[str, typer.Option("--base", help="Base results file (JSON).")],
    head: Annotated[str, typer.Option("--head", help="Head results file (JSON).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="terminal, markdown or json.")
    ] = "terminal",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    max_pass_rate_drop: Annotated[
        float | None,
        typer.Option(help="Tolerated pass-rate drop, 0..1 (promptctl.yaml gate:, else 0)."),
    ] = None,
    max_cost_increase: Annotated[
        str | None, typer.Option(help="Max cost-per-case increase in %, or off (gate:, else 10).")
    ] = None,
    max_latency_increase: Annotated[
        str | None, typer.Option(help="Max p95 latency increase in %, or off (gate:, else off).")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option(help="Significance level (gate:, else 0.05).")
    ] = None,
    max_error_rate: Annotated[
        float | None, typer.Option(help="Errored share above which the verdict is error.")
    ] = None,
    require_conclusive: Annotated[
        bool, typer.Option("--require-conclusive", help="Exit 1 on an inconclusive verdict.")
    ] = False,
    flaky_fails: Annotated[
        bool, typer.Option("--flaky-fails", help="A flaky test that got worse fails the gate.")
    ] = False,
    comment: Annotated[
        bool, typer.Option("--comment", help="Post/update the PR comment (GitHub Actions).")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Compare two results files: per prompt x target and per test, then gate.

    The gate is `gate:` of promptctl.yaml; the flags given override its fields.
    """
    from promptctl.report.gate import exit_code_for, resolve_results

    fmt = _format(format)
    gate = gate_from_flags(
        resolve_project(project).gate,
        max_pass_rate_drop=max_pass_rate_drop,
        max_cost_increase_pct=_limit("--max-cost-increase", max_cost_increase),
        max_p95_latency_increase_pct=_limit("--max-latency-increase", max_latency_increase),
        alpha=alpha,
        max_error_rate=max_error_rate,
        require_conclusive=require_conclusive or None,
        flaky_fails=flaky_fails or None,
    )
    from promptctl.evals.compare import compare

    comparison = compare(resolve_results(base), resolve_results(head), gate)
    _emit(comparison, fmt, output)
    if comparison.verdict == "inconclusive":
        sys.stderr.write(
            "warning: INCONCLUSIVE: too few cases to rule out a regression"
            + (" (--require-conclusive: failing)\n" if gate.require_conclusive else "\n")
        )
    if comment:
        from promptctl.report.diff_report import render_markdown
        from promptctl.report.github import publish_report

        typer.echo(publish_report(render_markdown(comparison)).describe(), err=True)
    code = exit_code_for(comparison)
    if code:
        raise typer.Exit(code)


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
        sys.stdout.write(render(comparison, fmt))
