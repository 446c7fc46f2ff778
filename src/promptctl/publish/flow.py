"""The publish flow as a library function; `promptctl publish` is a thin wrapper.

Check everything first (git, status, lint, evals, immutability) and refuse with every
reason at once; only then build, sign and write. The caller loads the prompts and runs
lint (passing `lint_errors_by_prompt`), so this module depends on neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptctl import __version__
from promptctl.bundle.format import build_bundle, identity, serialize
from promptctl.bundle.release import ReleaseDir, bundle_file_name
from promptctl.bundle.signing import sign
from promptctl.errors import PublishError
from promptctl.promptfile.model import Project, Prompt
from promptctl.publish.checks import (
    eval_summaries,
    find_results_docs,
    git_dirty_prompt_paths,
    git_head_commit,
    publish_refusals,
)
from promptctl.publish.codeowners import owners_for

__all__ = ["PublishResult", "publish", "releases_path"]


@dataclass(frozen=True)
class PublishResult:
    """What was (or, with `dry_run`, would be) published."""

    doc: dict[str, Any]
    data: bytes
    digest: str
    path: Path  # where the bundle is (or would be) in the release directory
    signed: bool
    dry_run: bool
    identities: tuple[str, ...]  # `id@version+sha256:…` of every prompt in the bundle
    new_versions: tuple[str, ...]  # `id@version` published for the first time
    git_commit: str | None


def releases_path(project: Project, out_dir: Path | None = None) -> Path:
    path = out_dir if out_dir is not None else project.releases_dir
    return path if path.is_absolute() else project.root / path


def publish(
    project: Project,
    prompts: Sequence[Prompt],
    *,
    lint_errors_by_prompt: Mapping[str, Sequence[str]],
    out_dir: Path | None = None,
    dry_run: bool = False,
    sign_key: Path | bytes | None = None,
    results_files: Sequence[Path] = (),
) -> PublishResult:
    """Publish `prompts` (already selected, partials inlined) as one bundle.

    Raises PublishError listing every reason when any check fails; nothing is written
    then. With `dry_run`, every check runs and the bundle is built but not written.
    """
    releases = ReleaseDir(releases_path(project, out_dir))
    reasons: list[str] = []
    dirty: list[str] = []
    commit: str | None = None
    try:
        dirty = git_dirty_prompt_paths(project.root, project.prompts_dir)
        commit = git_head_commit(project.root)
    except PublishError as exc:
        reasons += exc.reasons
    docs: list[dict[str, Any]] = []
    try:
        docs = find_results_docs(project.state_dir / "runs", results_files)
    except PublishError as exc:
        reasons += exc.reasons
    key_pem = _read_key(sign_key, reasons)
    reasons += publish_refusals(
        prompts,
        dirty_paths=dirty,
        lint_errors_by_prompt=lint_errors_by_prompt,
        results_docs=docs,
        release_index=releases.read_index(),
    )
    if reasons:
        raise PublishError(reasons)
    approvers = {p.id: o for p in prompts if (o := owners_for(project.root, p.path))}
    doc = build_bundle(
        prompts,
        providers=project.providers,
        eval_summaries=eval_summaries(prompts, docs),
        git_commit=commit,
        created_from=f"promptctl {__version__}",
        approvers=approvers,
        root=project.root,
        pricing=project.pricing,
    )
    if key_pem is not None:
        doc = sign(doc, key_pem)
    data = serialize(doc)
    digest = str(doc["manifest"]["digest"])
    identities = tuple(identity(p.id, p.version, p.content_hash) for p in prompts)
    if dry_run:
        published = releases.read_index()["published"]
        new = tuple(
            f"{p.id}@{p.version}" for p in prompts if f"{p.id}@{p.version}" not in published
        )
        path = releases.path / bundle_file_name(digest)
    else:
        result = releases.publish(doc, data)
        new, path = result.new_versions, result.path
    return PublishResult(
        doc=doc,
        data=data,
        digest=digest,
        path=path,
        signed=key_pem is not None,
        dry_run=dry_run,
        identities=identities,
        new_versions=new,
        git_commit=commit,
    )


def _read_key(sign_key: Path | bytes | None, reasons: list[str]) -> bytes | None:
    if sign_key is None or isinstance(sign_key, bytes):
        return sign_key
    try:
        return sign_key.read_bytes()
    except OSError as exc:
        reasons.append(f"cannot read signing key {sign_key}: {exc.strerror}")
        return None
