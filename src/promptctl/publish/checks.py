"""Why a publish must be refused: one clear line per reason, computed before any write.

The passing-eval rule (documented in docs/bundle-format.md): a prompt qualifies on the
targets it will run on, `required_targets` — its primary `model.use` by default, plus
its routes' and fallbacks' targets with `eval_targets="all"`. For each of them, the
newest non-interrupted results document (by `run.started_at`) with a summary row for
the prompt's exact `content_hash` on that target decides; the row must have
`failed == 0`, `errors == 0`, `skipped == 0` and `passed >= 1` (so `pass_rate == 1.0`).
Older passing runs do not rescue a newer failing one; rows on other targets (an
experiment with `--target`) neither qualify nor block.

What goes into a bundle must be committed: prompt files, partials and promptctl.yaml
(`git_unclean_inputs`), including files git ignores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from promptctl.bundle.release import immutability_refusals
from promptctl.errors import PublishError
from promptctl.promptfile.model import Project, Prompt

__all__ = [
    "EvalTargets",
    "eval_summaries",
    "find_results_docs",
    "git_head_commit",
    "git_unclean_inputs",
    "publish_refusals",
    "required_targets",
]

# "primary": the prompt's `model.use`; "all": also every route's and fallback's target
EvalTargets = Literal["primary", "all"]


def publish_refusals(
    prompts: Sequence[Prompt],
    *,
    lint_errors_by_prompt: Mapping[str, Sequence[str]],
    results_docs: Sequence[Mapping[str, Any]],
    release_index: Mapping[str, Any],
    dirty_paths: Sequence[str] = (),
    unclean: Sequence[str] = (),
    removing: bool = False,
    eval_targets: EvalTargets = "primary",
) -> list[str]:
    """Every reason not to publish `prompts`; empty means go.

    `dirty_paths` are paths with uncommitted changes; `unclean` ready-made reason
    lines (`git_unclean_inputs`). `removing`: the publish only drops prompts, so an
    empty selection is fine.
    """
    reasons = [f"uncommitted changes to {path}; commit them first" for path in dirty_paths]
    reasons += unclean
    if not prompts and not removing:
        reasons.append("no prompts selected")
    for p in prompts:
        if p.status != "approved":
            reasons.append(f"{p.id}@{p.version} is {p.status}, not approved")
        errors = lint_errors_by_prompt.get(p.id) or ()
        if errors:
            reasons.append(f"{p.id}@{p.version} has {len(errors)} lint error(s): {errors[0]}")
        reasons += _eval_verdicts(p, results_docs, eval_targets)
    entries = [(p.id, p.version, p.content_hash) for p in prompts]
    reasons += immutability_refusals(entries, release_index.get("published", {}))
    return reasons


def required_targets(prompt: Prompt, eval_targets: EvalTargets = "primary") -> list[str]:
    """The `provider/model` targets whose eval qualifies `prompt` for publishing."""
    uses = [prompt.model.use]
    if eval_targets == "all":
        uses += [r.use for r in prompt.model.routes] + [f.use for f in prompt.model.fallbacks]
    return list(dict.fromkeys(uses))


def eval_summaries(
    prompts: Sequence[Prompt],
    results_docs: Sequence[Mapping[str, Any]],
    eval_targets: EvalTargets = "primary",
) -> dict[str, list[Mapping[str, Any]]]:
    """content_hash -> the deciding summary row per required target (for provenance)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for p in prompts:
        rows = [
            found[1]
            for target in required_targets(p, eval_targets)
            if (found := _deciding_row(p, target, results_docs))
        ]
        if rows:
            out[p.content_hash] = rows
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


def git_unclean_inputs(project: Project) -> list[str]:
    """One reason per bundle input that is not exactly as committed in HEAD.

    Inputs: everything under the prompts directory (prompt files, `_partials/`),
    promptctl.yaml (its providers go into the bundle) and CODEOWNERS (the approver).
    Modified, staged and untracked files are refused as uncommitted; a file or folder
    git *ignores* is refused too when publish would read it (a prompt file, a partial,
    the config), since it was never reviewed. Raises PublishError outside a git
    repository.
    """
    from promptctl.publish.codeowners import codeowners_file

    with _repo(project.root) as repo:
        top = Path(repo.working_tree_dir).resolve()
        prompts = _relative(repo, project.root, project.prompts_dir)
        singles = {
            _relative(repo, project.root, path)
            for path in (project.config_path, codeowners_file(project.root))
            if path is not None
        }
        out = repo.git.status(
            "--porcelain=v1",
            "-z",
            "--ignored=matching",
            "--untracked-files=all",
            "--",
            prompts,
            *sorted(singles),
        )
    prefix = "" if prompts == "." else prompts.rstrip("/") + "/"
    reasons: list[tuple[str, str]] = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            next(entries, None)  # a rename's second field is the old path
        if code != "!!":
            reasons.append((path, f"uncommitted changes to {path}; commit them first"))
        elif path in singles or (
            path.startswith(prefix) and _read_by_publish(path[len(prefix) :], top / path)
        ):
            reason = (
                f"{path} is ignored by git but would go into the bundle; commit it "
                "(`git add -f`) or remove it"
            )
            reasons.append((path, reason))
    return [reason for _, reason in sorted(reasons)]


def _read_by_publish(inner: str, where: Path) -> bool:
    """Whether the loader reads `inner` (relative to the prompts dir; a folder ends in /).

    Mirrors discovery: hidden folders are skipped, `_partials/` is read whole, prompt
    files are `*.yaml|yml` elsewhere.
    """
    from promptctl.promptfile.loader import PARTIALS, PROMPT_SUFFIXES
    from promptctl.promptfile.sources import WorkingTreeSource

    def read(parts: tuple[str, ...]) -> bool:
        if any(part.startswith(".") for part in parts[:-1]):
            return False
        if parts[0] == PARTIALS:
            return len(parts) > 1
        return PARTIALS not in parts and Path(parts[-1]).suffix in PROMPT_SUFFIXES

    parts = PurePosixPath(inner.rstrip("/")).parts
    if not inner.endswith("/"):
        return bool(parts) and read(parts)
    if not parts or parts[-1].startswith("."):
        return False
    files = WorkingTreeSource().list_files(where)
    return any(read((*parts, *f.relative_to(where).parts)) for f in files)


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


def _deciding_row(
    prompt: Prompt, target: str, docs: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """(document, row) of the newest complete run of `prompt`'s content on `target`."""
    best: tuple[str, Mapping[str, Any], Mapping[str, Any]] | None = None
    for doc in docs:
        run = doc.get("run") or {}
        if run.get("interrupted"):
            continue
        started = str(run.get("started_at") or "")
        for row in doc.get("summary") or ():
            if (
                row.get("content_hash") == prompt.content_hash
                and row.get("prompt") == prompt.id
                and row.get("target") == target
                and (best is None or started > best[0])
            ):
                best = (started, doc, row)
    return (best[1], best[2]) if best else None


def _eval_verdicts(
    prompt: Prompt, docs: Sequence[Mapping[str, Any]], eval_targets: EvalTargets
) -> list[str]:
    name = f"{prompt.id}@{prompt.version}"
    out = []
    for target in required_targets(prompt, eval_targets):
        role = "its primary target" if target == prompt.model.use else "a target it may use"
        found = _deciding_row(prompt, target, docs)
        if found is None:
            out.append(
                f"{name} has no eval result on {target} ({role}) for its content hash "
                f"{prompt.content_hash}; run `promptctl test {prompt.id} --target {target}`"
            )
            continue
        doc, row = found
        run_id = (doc.get("run") or {}).get("id", "?")
        bad = {k: int(row.get(k) or 0) for k in ("failed", "errors", "skipped")}
        if any(bad.values()) or int(row.get("passed") or 0) < 1:
            counts = ", ".join(f"{v} {k}" for k, v in bad.items() if v) or "no case passed"
            out.append(
                f"{name} did not pass its eval on {target} in run {run_id}: {counts} (the"
                f" newest run decides: fix it, then `promptctl test {prompt.id} --target"
                f" {target}`)"
            )
    return out
