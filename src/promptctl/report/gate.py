"""Rendering a gate verdict, and the one-call gate for library users.

The gate itself (resolving sides, comparing, exit codes) is `promptctl.evals.gate`; this
module only picks the renderer for a format and composes the two for `gate_results`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from promptctl.evals.compare import compare
from promptctl.evals.comparison import Comparison, PromptChange
from promptctl.evals.gate import exit_code_for, resolve_results
from promptctl.promptfile.model import GateConfig

__all__ = ["Format", "GateOutcome", "gate_results", "render"]

Format = Literal["terminal", "markdown", "json"]


@dataclass(frozen=True)
class GateOutcome:
    comparison: Comparison
    report: str
    exit_code: int


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
