"""Evaluate one side of a comparison: the working tree, or the prompts as they were at a ref.

A git ref is read through `GitTreeSource` (gitpython object store): the working tree and
the index are never touched. The base side is evaluated with the head's project config
(targets, providers, pricing), the same `EvalOptions`, the base's own prompt files,
partials and datasets, and the working tree's `evals/recordings/` and response cache:
a request is identified by its content hash, so every prompt that did not change asks
the very same request and costs nothing (replay or cache hit). Recordings are read
from the working tree because that is where the head's recordings are committed; an
unchanged prompt's recording is valid for both sides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.evals.runner import EvalOptions, EvalRun, ProgressSink, evaluate
from promptctl.promptfile.model import Project, Prompt
from promptctl.promptfile.sources import FileSource

__all__ = ["Side", "default_base_ref", "evaluate_side", "git_source", "prompts_at_commit"]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its results document and, when known, its prompts."""

    label: str  # "working tree", "git 1a2b3c4 (merge-base with origin/main)", "file x.json"
    document: dict[str, Any] = field(repr=False)
    prompts: tuple[Prompt, ...] | None = field(default=None, repr=False)
    run: EvalRun | None = field(default=None, repr=False)  # set when evaluated here
    skipped_files: int = 0  # prompt files that failed to load on this side

    @property
    def interrupted(self) -> bool:
        return self.run is not None and self.run.interrupted


def default_base_ref(project_root: Path, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(commit sha, label) of the merge-base of HEAD with the target branch.

    Tries `origin/$GITHUB_BASE_REF` and `$GITHUB_BASE_REF` (a pull request's target in
    GitHub Actions), then `origin/main`, then `main`. Outside a git repository, or
    with none of them, a UsageError (exit 2) says to pass `--base`.
    """
    from promptctl.promptfile.gitsource import find_repo_root, merge_base_ref

    env = os.environ if env is None else env
    repo_root = find_repo_root(project_root)
    if repo_root is None:
        raise UsageError(
            f"{project_root} is not in a git repository: there is no base to compare with",
            hint="pass --base RESULTS.json (from `promptctl test --output`)",
        )
    target = env.get("GITHUB_BASE_REF", "")
    branches = [f"origin/{target}", target] if target else []
    tried = list(dict.fromkeys([*branches, "origin/main", "main"]))
    for branch in tried:
        sha = merge_base_ref(repo_root, (branch,))
        if sha is not None:
            return sha, f"merge-base with {branch}"
    # a shallow clone (actions/checkout's default depth of 1) has neither the base
    # branch nor the history that joins it to HEAD
    shallow = (repo_root / ".git" / "shallow").is_file()
    fetch = (
        "the clone is shallow: fetch the history (actions/checkout with `fetch-depth: 0`, "
        "or `git fetch --unshallow origin`), or "
        if shallow
        else ""
    )
    raise UsageError(
        f"no merge-base of HEAD with {', '.join(tried)}",
        hint=fetch + "pass --base REF (a branch, tag or commit) or --base RESULTS.json",
    )


def evaluate_side(
    project: Project,
    options: EvalOptions,
    *,
    ref: str | None = None,
    label: str | None = None,
    paths: Sequence[Path] = (),
    progress: ProgressSink | None = None,
    env: Mapping[str, str] | None = None,
) -> Side:
    """Evaluate the working tree (`ref` None) or the prompts at git `ref`.

    At a ref, prompt files that do not load are left out (counted in `skipped_files`;
    they are "not on the base"), no run file, `--output` or JUnit is written, and the
    document's `run.git_commit` is the ref's commit. In the working tree, invalid prompt
    files are the caller's problem: load them first (see `cli.test.load_or_exit`).
    """
    from promptctl.promptfile.loader import load_prompts

    source: FileSource | None = None
    commit: str | None = None
    if ref is not None:
        source, commit = git_source(project.root, ref)
        options = replace(options, output=None, junit=None, write_run_file=False)
    loaded = load_prompts(project, list(paths) or None, source=source)
    skipped = len({d.location.path for d in loaded.errors if d.location is not None})
    run = evaluate(
        project, loaded.prompts, options, partials=loaded.partials, progress=progress, env=env
    )
    document = run.document
    if commit is not None:
        document["run"]["git_commit"] = commit
    where = label or ("working tree" if ref is None else f"git {ref}")
    return Side(where, document, tuple(loaded.prompts), run, skipped)


def prompts_at_commit(project: Project, commit: str) -> tuple[Prompt, ...] | None:
    """The prompts as they were at `commit`, or None when that cannot be read (no repo,
    unknown commit): a results file's side then has no prompt diff."""
    from promptctl.promptfile.loader import load_prompts

    try:
        source, _ = git_source(project.root, commit)
    except UsageError:
        return None
    return tuple(load_prompts(project, source=source).prompts)


def git_source(project_root: Path, ref: str) -> tuple[FileSource, str]:
    """A source over `ref` in the repository holding `project_root`, and its commit sha;
    UsageError (exit 2) outside a repository or for an unknown ref."""
    from promptctl.promptfile.gitsource import GitTreeSource, find_repo_root

    repo_root = find_repo_root(project_root)
    if repo_root is None:
        raise UsageError(
            f"--base {ref!r} is not a results file and {project_root} is not in a git repository",
            hint="pass --base RESULTS.json, or run inside the prompt repository",
        )
    source = GitTreeSource(repo_root, ref)
    return source, source.commit_sha
