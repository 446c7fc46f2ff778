"""Why a publish must be refused: one clear line per reason, computed before any write.

The passing-eval rule (documented in docs/bundle-format.md): for each prompt, take the
newest results document (by `run.started_at`) that has summary rows for its exact
`content_hash` and was not interrupted; every such row (one per target) must have
`failed == 0`, `errors == 0`, `skipped == 0` and `passed >= 1` (so `pass_rate == 1.0`).
Older passing runs do not rescue a newer failing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from promptctl.bundle.release import immutability_refusals
from promptctl.errors import PublishError
from promptctl.promptfile.model import Prompt

__all__ = [
    "eval_summaries",
    "find_results_docs",
    "git_dirty_prompt_paths",
    "git_head_commit",
    "publish_refusals",
]


def publish_refusals(
    prompts: Sequence[Prompt],
    *,
    dirty_paths: Sequence[str],
    lint_errors_by_prompt: Mapping[str, Sequence[str]],
    results_docs: Sequence[Mapping[str, Any]],
    release_index: Mapping[str, Any],
) -> list[str]:
    """Every reason not to publish `prompts`; empty means go."""
    reasons = [f"uncommitted changes to {path}; commit them first" for path in dirty_paths]
    if not prompts:
        reasons.append("no prompts selected")
    for p in prompts:
        if p.status != "approved":
            reasons.append(f"{p.id}@{p.version} is {p.status}, not approved")
        errors = lint_errors_by_prompt.get(p.id) or ()
        if errors:
            reasons.append(f"{p.id}@{p.version} has {len(errors)} lint error(s): {errors[0]}")
        verdict = _eval_verdict(p, results_docs)
        if verdict:
            reasons.append(verdict)
    entries = [(p.id, p.version, p.content_hash) for p in prompts]
    reasons += immutability_refusals(entries, release_index.get("published", {}))
    return reasons


def eval_summaries(
    prompts: Sequence[Prompt], results_docs: Sequence[Mapping[str, Any]]
) -> dict[str, list[Mapping[str, Any]]]:
    """content_hash -> the summary rows of the run that decides it (for provenance)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for p in prompts:
        found = _deciding_rows(p, results_docs)
        if found:
            out[p.content_hash] = found[1]
    return out


def find_results_docs(runs_dir: Path, extra_files: Iterable[Path] = ()) -> list[dict[str, Any]]:
    """Results documents from `.promptctl/runs/*.json` plus files the user names.

    Both are read with `promptctl.evals.results.read_results`, the one reader of the
    format. Leniency is deliberate and only for runs/: a crashed or interrupted run may
    leave a partial file there, and an older promptctl a document of another schema, so
    such files are skipped (no result, which publish reports per prompt). A file named
    explicitly must be a valid results document, else PublishError.
    """
    from promptctl.errors import UsageError
    from promptctl.evals.results import SCHEMA_ID, read_results

    docs = []
    candidates = sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []
    for path in candidates:
        try:
            docs.append(read_results(path))
        except UsageError:
            continue
    for path in extra_files:
        try:
            docs.append(read_results(path))
        except UsageError as exc:
            raise PublishError([f"not a {SCHEMA_ID} document: {exc}"]) from None
    return docs


def git_dirty_prompt_paths(repo_root: Path, prompts_dir: Path) -> list[str]:
    """Paths under `prompts_dir` that differ from HEAD (staged, unstaged or untracked).

    Raises PublishError outside a git repository: publish needs a commit to point to.
    """
    with _repo(repo_root) as repo:
        rel = _relative(repo, repo_root, prompts_dir)
        dirty = {d.a_path or d.b_path for d in repo.index.diff(None, paths=rel)}
        if repo.head.is_valid():
            dirty |= {d.a_path or d.b_path for d in repo.index.diff("HEAD", paths=rel)}
        else:
            dirty |= {str(path) for path, _ in repo.index.entries}
        dirty |= set(repo.untracked_files)
    prefix = rel.rstrip("/") + "/"
    return sorted(p for p in dirty if p and (rel == "." or p.startswith(prefix)))


def git_head_commit(repo_root: Path) -> str | None:
    """The commit the bundle is published from; None when there is none yet."""
    with _repo(repo_root) as repo:
        return str(repo.head.commit.hexsha) if repo.head.is_valid() else None


def _repo(repo_root: Path) -> Any:
    import git

    try:
        return git.Repo(repo_root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise PublishError(
            [f"{repo_root} is not inside a git repository; publish needs committed prompts"]
        ) from exc


def _relative(repo: Any, repo_root: Path, prompts_dir: Path) -> str:
    top = Path(repo.working_tree_dir).resolve()
    target = prompts_dir if prompts_dir.is_absolute() else repo_root / prompts_dir
    try:
        return target.resolve().relative_to(top).as_posix()
    except ValueError as exc:
        raise PublishError([f"{prompts_dir} is outside the git repository {top}"]) from exc


def _deciding_rows(
    prompt: Prompt, docs: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
    best: tuple[str, Mapping[str, Any], list[Mapping[str, Any]]] | None = None
    for doc in docs:
        run = doc.get("run") or {}
        if run.get("interrupted"):
            continue
        rows = [
            r
            for r in doc.get("summary") or ()
            if r.get("content_hash") == prompt.content_hash and r.get("prompt") == prompt.id
        ]
        started = str(run.get("started_at") or "")
        if rows and (best is None or started > best[0]):
            best = (started, doc, rows)
    return (best[1], best[2]) if best else None


def _eval_verdict(prompt: Prompt, docs: Sequence[Mapping[str, Any]]) -> str | None:
    name = f"{prompt.id}@{prompt.version}"
    found = _deciding_rows(prompt, docs)
    if found is None:
        return (
            f"{name} has no eval result for its content hash {prompt.content_hash}; "
            "run `promptctl test` on it"
        )
    doc, rows = found
    run_id = (doc.get("run") or {}).get("id", "?")
    for row in sorted(rows, key=lambda r: str(r.get("target"))):
        bad = {k: int(row.get(k) or 0) for k in ("failed", "errors", "skipped")}
        if any(bad.values()) or int(row.get("passed") or 0) < 1:
            counts = ", ".join(f"{v} {k}" for k, v in bad.items() if v) or "no case passed"
            return f"{name} did not pass its eval on {row.get('target')} in run {run_id}: {counts}"
    return None
