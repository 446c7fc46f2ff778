"""The gate as a library call: two results sources in, a verdict, a report and an exit code.

`promptctl diff` and `promptctl ci` are thin layers over this. `resolve_results` is the
one place that turns a side (today a results file) into a results document, so a git
ref can be added there without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from promptctl.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK
from promptctl.evals.compare import compare
from promptctl.evals.comparison import Comparison, PromptChange
from promptctl.evals.results import read_results
from promptctl.spec.model import GateConfig

__all__ = ["Format", "GateOutcome", "exit_code_for", "gate_results", "render", "resolve_results"]

Format = Literal["terminal", "markdown", "json"]


@dataclass(frozen=True)
class GateOutcome:
    comparison: Comparison
    report: str
    exit_code: int


def resolve_results(source: str | Path) -> dict[str, Any]:
    """A results document for one side of the comparison (a results file path)."""
    return read_results(Path(source))


def exit_code_for(comparison: Comparison) -> int:
    """0 holds, 1 fails (or inconclusive under require_conclusive), 3 too many errors."""
    verdict = comparison.verdict
    if verdict == "fail":
        return EXIT_FAILED
    if verdict == "error":
        return EXIT_INFRA
    if verdict == "inconclusive" and comparison.gate.require_conclusive:
        return EXIT_FAILED
    return EXIT_OK


def render(comparison: Comparison, fmt: Format, *, width: int = 120) -> str:
    if fmt == "json":
        from promptctl.report.diff_report import render_json

        return render_json(comparison)
    if fmt == "markdown":
        from promptctl.report.diff_report import render_markdown

        return render_markdown(comparison)
    from promptctl.report.diff_terminal import render_terminal_text

    return render_terminal_text(comparison, width=width)


def gate_results(
    base_path: str | Path,
    head_path: str | Path,
    gate: GateConfig,
    *,
    format: Format = "terminal",
    prompt_changes: tuple[PromptChange, ...] = (),
) -> GateOutcome:
    """Compare two results files under `gate` and render the report in `format`."""
    comparison = compare(resolve_results(base_path), resolve_results(head_path), gate)
    if prompt_changes:
        comparison = replace(comparison, prompt_changes=prompt_changes)
    return GateOutcome(comparison, render(comparison, format), exit_code_for(comparison))
