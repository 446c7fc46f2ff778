"""The publish flow as a library function; `promptctl publish` is a thin wrapper.

Check everything first (git, status, lint, evals, immutability) and refuse with every
reason at once; only then build, sign and write. The caller loads the prompts and runs
lint (passing `lint_errors_by_prompt`), so this module depends on neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptctl import __version__
from promptctl.bundle.format import build_bundle, identity, serialize
from promptctl.bundle.history import bundle_file_name
from promptctl.bundle.key_hygiene import tracked_key_message, tracked_private_keys
from promptctl.bundle.release import ReleaseDir, ReleaseHead
from promptctl.bundle.signing import sign
from promptctl.errors import PublishError
from promptctl.promptfile.model import Project, Prompt
from promptctl.publish.carry import carried_entries, carry_refusals
from promptctl.publish.checks import (
    EvalTargets,
    eval_summaries,
    find_results_docs,
    git_head_commit,
    git_unclean_inputs,
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
    identities: tuple[str, ...]  # `id@version+sha256:…` of every prompt published now
    new_versions: tuple[str, ...]  # `id@version` published for the first time
    git_commit: str | None
    sequence: int = 0  # the release's sequence number
    carried: tuple[str, ...] = ()  # identities kept from the previous release
    removed: tuple[str, ...] = ()  # identities dropped from it on purpose (`remove`)
    unchanged: bool = False  # the newest release already is exactly this: nothing new


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
    remove: Sequence[str] = (),
    adopt_previous: bool = False,
    eval_targets: EvalTargets = "primary",
) -> PublishResult:
    """Publish `prompts` (already selected, partials inlined) as the next release.

    The release holds `prompts` plus every prompt of the newest release that they do
    not replace and `remove` does not drop (`publish.carry`). Raises PublishError
    listing every reason when any check fails; nothing is written then. With
    `dry_run`, every check runs and the bundle is built but not written.
    """
    releases = ReleaseDir(releases_path(project, out_dir))
    reasons: list[str] = []
    unclean: list[str] = []
    commit: str | None = None
    try:
        unclean = git_unclean_inputs(project)
        commit = git_head_commit(project.root)
    except PublishError as exc:
        reasons += exc.reasons
    docs: list[dict[str, Any]] = []
    try:
        docs = find_results_docs(project.state_dir / "runs", results_files)
    except PublishError as exc:  # a bad --results file; the runs still count as evidence
        reasons += exc.reasons
        docs = find_results_docs(project.state_dir / "runs")
    key_pem = _read_key(sign_key, reasons)
    reasons += [tracked_key_message(path) for path in tracked_private_keys(project.root)]
    head: ReleaseHead | None = None
    try:
        head = releases.head()
    except PublishError as exc:
        reasons += exc.reasons
    reasons += publish_refusals(
        prompts,
        unclean=unclean,
        lint_errors_by_prompt=lint_errors_by_prompt,
        results_docs=docs,
        release_index=releases.read_index(),
        removing=bool(remove),
        eval_targets=eval_targets,
    )
    reasons += carry_refusals(
        head,
        prompts,
        remove=remove,
        signing_key=key_pem,
        adopt_previous=adopt_previous,
        providers=project.providers,
    )
    if reasons:
        raise PublishError(reasons)
    approvers = {p.id: o for p in prompts if (o := owners_for(project.root, p.path))}
    summaries = eval_summaries(prompts, docs, eval_targets)

    def compose(at: ReleaseHead | None) -> tuple[dict[str, Any], bytes]:
        problems = carry_refusals(
            at,
            prompts,
            remove=remove,
            signing_key=key_pem,
            adopt_previous=adopt_previous,
            providers=project.providers,
        )
        if problems:  # another publish moved the release meanwhile
            raise PublishError(problems)

        def build(sequence: int) -> dict[str, Any]:
            return build_bundle(
                prompts,
                providers=project.providers,
                eval_summaries=summaries,
                git_commit=commit,
                created_from=f"promptctl {__version__}",
                approvers=approvers,
                root=project.root,
                sequence=sequence,
                carried=carried_entries(at, prompts, remove),
                pricing=project.pricing,
            )

        return _next_release(at, build, key_pem, releases)

    if dry_run:
        doc, data = compose(head)
        digest = str(doc["manifest"]["digest"])
        published = releases.read_index()["published"]
        new = tuple(
            f"{p.id}@{p.version}" for p in prompts if f"{p.id}@{p.version}" not in published
        )
        sequence = int(doc["manifest"].get("sequence", 0))
        path = releases.path / bundle_file_name(digest, sequence)
        built_on = head
    else:
        made: list[tuple[ReleaseHead | None, dict[str, Any], bytes]] = []

        def composed(at: ReleaseHead | None) -> tuple[dict[str, Any], bytes]:
            doc, data = compose(at)
            made.append((at, doc, data))
            return doc, data

        result = releases.publish(composed)
        built_on, doc, data = made[-1]
        digest, sequence = result.digest, result.sequence
        new, path = result.new_versions, result.path
    names = {p.id for p in prompts}
    before = {e["id"]: e for e in built_on.bundle.doc["prompts"]} if built_on else {}
    return PublishResult(
        doc=doc,
        data=data,
        digest=digest,
        path=path,
        signed="signature" in doc,
        dry_run=dry_run,
        identities=tuple(identity(p.id, p.version, p.content_hash) for p in prompts),
        new_versions=new,
        git_commit=commit,
        sequence=sequence,
        carried=tuple(
            str(e["identity"]) for e in doc["prompts"] if e["id"] not in names and e["id"] in before
        ),
        removed=tuple(str(before[i]["identity"]) for i in dict.fromkeys(remove) if i in before),
        unchanged=built_on is not None and built_on.bundle.digest == digest,
    )


def _next_release(
    at: ReleaseHead | None,
    build: Callable[[int], dict[str, Any]],
    key_pem: bytes | None,
    releases: ReleaseDir,
) -> tuple[dict[str, Any], bytes]:
    """The release to write on top of `at`: the next sequence number, unless `at` already
    holds exactly this content, then `at` itself (re-signed when a key is given), so a
    repeated publish is a no-op and same prompts + same sequence give the same bytes."""
    if at is not None and at.sequence > 0:
        same = build(at.sequence)
        if same["manifest"]["digest"] == at.bundle.digest:
            if key_pem is None:  # keep the release as it is (and its signature)
                return at.bundle.doc, at.data
            signed = sign(same, key_pem)
            return signed, serialize(signed)
    doc = build(at.next_sequence if at is not None else releases.next_sequence())
    if key_pem is not None:
        doc = sign(doc, key_pem)
    return doc, serialize(doc)


def _read_key(sign_key: Path | bytes | None, reasons: list[str]) -> bytes | None:
    if sign_key is None or isinstance(sign_key, bytes):
        return sign_key
    try:
        return sign_key.read_bytes()
    except OSError as exc:
        reasons.append(f"cannot read signing key {sign_key}: {exc.strerror}")
        return None
