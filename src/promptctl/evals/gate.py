"""The gate as a library call: two sides in, a comparison and an exit code.

`promptctl diff` and `promptctl ci` are thin layers over this; rendering the verdict is
`report.gate`'s job (this module imports no renderer). `resolve_side` is the one
place that turns a side — a results file, a git ref, or the working tree (None) — into a
results document (evaluating the prompts when needed, see `evals.baseline`);
`compare_sides` adds what changed in the prompts when both sides' prompts are known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from promptctl.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK
from promptctl.evals.compare import compare
from promptctl.evals.comparison import Comparison
from promptctl.evals.results import read_results
from promptctl.promptfile.model import GateConfig, Project

if TYPE_CHECKING:
    from promptctl.evals.baseline import Side
    from promptctl.evals.runner import EvalOptions, ProgressSink

__all__ = [
    "compare_sides",
    "exit_code_for",
    "is_results_file",
    "resolve_results",
    "resolve_side",
]


def is_results_file(source: str | Path) -> bool:
    """An existing file, or a name ending in .json (a missing file is then an error)."""
    return Path(source).is_file() or str(source).endswith(".json")


def resolve_side(
    source: str | Path | None,
    *,
    role: Literal["base", "head"],
    project: Project | None = None,
    options: EvalOptions | None = None,
    paths: Sequence[Path] = (),
    progress: ProgressSink | None = None,
    env: Mapping[str, str] | None = None,
    label: str | None = None,
) -> Side:
    """One side as a results document.

    - a results file: read (its prompts are loaded at its `run.git_commit` when that
      commit is in the repository, for the prompt diff);
    - None for the head: the working tree, evaluated with `options`;
    - None for the base: the merge-base with the target branch (`default_base_ref`);
    - anything else: a git ref, whose prompts are evaluated with `options`.
    """
    from promptctl.evals.baseline import Side, default_base_ref, evaluate_side, prompts_at_commit

    if source is not None and is_results_file(source):
        doc = read_results(Path(source))
        commit = (doc.get("run") or {}).get("git_commit")
        prompts = prompts_at_commit(project, commit) if project is not None and commit else None
        return Side(f"file {source}", doc, prompts)
    if project is None or options is None:
        raise ValueError("evaluating a side needs the project and the options")
    if source is None and role == "head":
        return evaluate_side(project, options, paths=paths, progress=progress, env=env)
    if source is None:
        sha, why = default_base_ref(project.root, env)
        label = f"git {sha[:12]} ({why})"
        return evaluate_side(
            project, options, ref=sha, label=label, paths=paths, progress=progress, env=env
        )
    return evaluate_side(
        project, options, ref=str(source), label=label, paths=paths, progress=progress, env=env
    )


def resolve_results(
    source: str | Path | None,
    *,
    role: Literal["base", "head"] = "head",
    project: Project | None = None,
    options: EvalOptions | None = None,
) -> dict[str, Any]:
    """The results document of one side (see `resolve_side`)."""
    return resolve_side(source, role=role, project=project, options=options).document


def compare_sides(
    base: Side, head: Side, gate: GateConfig, *, only_tested: bool = False
) -> Comparison:
    """`compare` plus the sides' labels and, when both sides' prompts are known, what
    changed in them. `only_tested` limits the prompt diff to prompts with cases on a
    side (when a selection narrowed the run)."""
    from promptctl.evals.prompt_diff import all_prompt_changes

    comparison = compare(base.document, head.document, gate)
    comparison = replace(
        comparison,
        base_run={**comparison.base_run, "source": base.label},
        head_run={**comparison.head_run, "source": head.label},
    )
    if base.prompts is None or head.prompts is None:
        return comparison
    changes = all_prompt_changes(base.prompts, head.prompts)
    if only_tested:
        ids = {str(c["prompt"]) for d in (base.document, head.document) for c in d["cases"]}
        changes = tuple(c for c in changes if c.prompt in ids)
    return replace(comparison, prompt_changes=changes)


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
