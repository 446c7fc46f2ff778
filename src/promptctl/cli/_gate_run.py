"""What `diff` and `ci` do alike: resolve both sides, compare, warn, exit by the gate."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from promptctl.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from promptctl.cli._eval_flags import EvalSelection
    from promptctl.evals.baseline import Side
    from promptctl.evals.comparison import Comparison
    from promptctl.promptfile.model import GateConfig, Project

__all__ = ["compare_both", "finish"]


def compare_both(
    project: Project,
    selection: EvalSelection,
    gate: GateConfig,
    *,
    base: str | None,
    head: str | None,
) -> tuple[Comparison, Side, Side]:
    """Head first (the working tree's prompts must load: exit 2 otherwise), then the base.

    `--max-cost` caps the whole command: the base gets what the head left.
    """
    from promptctl.evals.gate import compare_sides

    options = selection.options
    base, base_label = _base_ref(project, base)  # fail fast, before spending on the head
    if head is None:
        from promptctl.cli.test import check_selected, load_or_exit

        loaded = load_or_exit(project, list(selection.paths))
        check_selected(
            loaded, list(options.id_globs), tags=options.tags, test_glob=options.test_glob
        )
    head_side = _resolve(project, selection, head, "head")
    if options.max_cost is not None and head_side.run is not None:
        left = max(0.0, options.max_cost - head_side.run.spent_usd)
        selection = replace(selection, options=replace(options, max_cost=left))
    base_side = _resolve(project, selection, base, "base", base_label)
    narrowed = bool(selection.paths or options.id_globs or options.tags or options.test_glob)
    comparison = compare_sides(base_side, head_side, gate, only_tested=narrowed)
    return comparison, base_side, head_side


def _base_ref(project: Project, base: str | None) -> tuple[str | None, str | None]:
    """The base as a commit (and its label) when it is a git ref; a results file as is."""
    from promptctl.evals.baseline import default_base_ref
    from promptctl.evals.gate import is_results_file

    if base is not None and is_results_file(base):
        if not Path(base).is_file():  # a mistyped path must not cost the head's run first
            from promptctl.evals.results import read_results

            read_results(Path(base))  # raises the reader's own error: not found, not a file
        return base, None
    if base is None:
        sha, why = default_base_ref(project.root)
        return sha, f"git {sha[:12]} ({why})"
    from promptctl.evals.baseline import git_source

    git_source(project.root, base)  # an unknown ref is a UsageError now, not after the head
    return base, None


def _resolve(
    project: Project,
    selection: EvalSelection,
    source: str | None,
    role: Literal["base", "head"],
    label: str | None = None,
) -> Side:
    from promptctl.evals.gate import is_results_file, resolve_side

    evaluating = source is None or not is_results_file(source)
    if evaluating:
        what = "the working tree" if source is None else label or source
        sys.stderr.write(f"{role}: evaluating {what}…\n")
    side = resolve_side(
        source,
        role=role,
        project=project,
        options=selection.options,
        paths=selection.paths,
        label=label,
    )
    if side.run is not None:
        run = side.run
        from promptctl.report.money import format_usd

        sys.stderr.write(
            f"{role}: {side.label}: {run.cases} cases, {run.cached} from cache or "
            f"recordings, {format_usd(run.spent_usd)} spent\n"
        )
        if side.skipped_files:
            sys.stderr.write(f"{role}: {side.skipped_files} prompt file(s) did not load there\n")
    if side.interrupted:
        sys.stderr.write("interrupted: partial results written; re-run to resume from cache\n")
        raise typer.Exit(EXIT_INTERRUPTED)
    return side


def finish(comparison: Comparison) -> None:
    """Say INCONCLUSIVE loudly on stderr and exit with the gate's code."""
    from promptctl.evals.gate import exit_code_for

    if comparison.verdict == "inconclusive":
        sys.stderr.write(
            "warning: INCONCLUSIVE: too few cases to rule out a regression"
            + (" (--require-conclusive: failing)\n" if comparison.gate.require_conclusive else "\n")
        )
    code = exit_code_for(comparison)
    if code:
        raise typer.Exit(code)
