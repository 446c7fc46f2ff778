"""Pull requests from forks: what `promptctl ci` will not do for them unless trusted.

A pull request controls the files `ci` reads: `python` checks are code it runs, and
`promptctl.yaml` decides where requests (and the API keys in their headers) go, and
recordings are answers replayed as the model's. On a pull request from a fork (GitHub's
event file: head repository != base repository), `ci` refuses, before any call, when the
head (or the base it compares with) has `python` checks, when the head's providers differ
from the base's in anything that decides where a request goes or what credentials it
carries, when it changes how it is judged (`gate:`, `pricing:`, `judge:`) or where a run
writes (`ledger:`, `shared_state:`), or when it adds or changes recordings (a fork could
write the passing answers itself). `--trust-pr` lifts all of them, after a human has read
the change.
Same-repository branches and local runs are not affected.
See docs/security.md for the threat model.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from promptctl.errors import ConfigError, RefusedError, SourceLocation, UsageError
from promptctl.promptfile.model import GateConfig, Project, Prompt, ProviderSettings

__all__ = [
    "PROVIDER_TRUST_FIELDS",
    "PullRequest",
    "changed_answers",
    "check_untrusted_pr",
    "destination_changes",
    "gate_changes",
    "judging_changes",
    "provider_changes",
    "pull_request_from_env",
    "python_check_uses",
]

PROVIDER_TRUST_FIELDS = ("kind", "base_url", "api_key_env", "headers", "api_version", "dialect")
"""Provider settings that decide where a request goes and which credentials it carries
(timeouts, limits and retries are harmless and may change freely)."""


@dataclass(frozen=True)
class PullRequest:
    """The pull request a GitHub Actions job runs for (from `$GITHUB_EVENT_PATH`)."""

    number: int | None
    head_repo: str | None  # None: the fork was deleted
    base_repo: str | None

    @property
    def from_fork(self) -> bool:
        if self.head_repo is None or self.base_repo is None:
            return True  # unknown origin is untrusted
        return self.head_repo.lower() != self.base_repo.lower()

    def describe(self) -> str:
        number = f"#{self.number} " if self.number is not None else ""
        return f"pull request {number}from {self.head_repo or 'an unknown or deleted fork'}"


def pull_request_from_env(env: Mapping[str, str] | None = None) -> PullRequest | None:
    """The pull request of this job, or None (not GitHub Actions, or not about a PR).

    `pull_request*` events name both repositories; a `workflow_run` of a pull request
    names the head repository (`head_repository`) and this one; an `issue_comment` on a
    pull request names neither head, so its origin is unknown, hence untrusted. An event
    file that is named but unreadable is an error: deciding "not a fork" on a file we
    could not read would fail open.
    """
    env = os.environ if env is None else env
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read $GITHUB_EVENT_PATH ({path}): {exc}",
            hint="ci needs the event file to tell a fork's pull request from a branch",
        ) from None
    if not isinstance(data, dict):
        return None
    pr, run, issue = data.get("pull_request"), data.get("workflow_run"), data.get("issue")
    if isinstance(pr, dict):
        head, base = _get(pr, "head", "repo"), _get(pr, "base", "repo")
        return PullRequest(_number(pr), _name(head), _name(base))
    if isinstance(run, dict) and run.get("event") in ("pull_request", "pull_request_target"):
        prs = run.get("pull_requests")
        first = prs[0] if isinstance(prs, list) and prs and isinstance(prs[0], dict) else {}
        here = _name(data.get("repository"))
        return PullRequest(_number(first), _name(run.get("head_repository")), here)
    if isinstance(issue, dict) and issue.get("pull_request"):
        return PullRequest(_number(issue), None, _name(data.get("repository")))
    return None


def _get(data: Mapping[str, object], *keys: str) -> object:
    value: object = data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _name(repo: object) -> str | None:
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) and name else None


def _number(data: Mapping[str, object]) -> int | None:
    number = data.get("number")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def python_check_uses(prompts: Iterable[Prompt], root: Path) -> list[str]:
    """`file:line: python check REF` for every python assertion (paths under `root`)."""
    found: list[str] = []
    for prompt in prompts:
        for test in prompt.tests:
            for spec in test.asserts:
                if spec.type != "python":
                    continue
                where = spec.location or test.location or SourceLocation(prompt.path)
                if where.path.is_relative_to(root):
                    where = replace(where, path=where.path.relative_to(root))
                ref = spec.value if isinstance(spec.value, str) else spec.options.get("value")
                found.append(f"{where}: python check {ref}")
    return sorted(set(found))


def provider_changes(
    head: Mapping[str, ProviderSettings], base: Mapping[str, ProviderSettings]
) -> list[str]:
    """One line per provider whose trust fields differ from the base's, or that is new."""
    changes: list[str] = []
    for name, settings in sorted(head.items()):
        before = base.get(name)
        if before is None:
            changes.append(f"provider '{name}' is new")
            continue
        changed = [f for f in PROVIDER_TRUST_FIELDS if _field(settings, f) != _field(before, f)]
        if changed:
            changes.append(f"provider '{name}' changes {', '.join(changed)}")
    return changes


def _field(settings: ProviderSettings, name: str) -> object:
    value = getattr(settings, name)
    return dict(value) if isinstance(value, Mapping) else value


def changed_answers(project: Project, base_commit: str) -> list[str]:
    """Files of answers the pull request may have written itself (relative to the project):
    recordings that differ from `base_commit` (changed, added, deleted or untracked), and
    files under `.promptctl/` (the response cache) that the pull request commits. An
    untracked cache is normal (restored by actions/cache from trusted runs). A git failure
    is a refusal: a comparison we could not make must not read as "nothing changed"."""
    root = project.root.resolve()
    recordings = project.recordings_dir.resolve()
    state = project.state_dir.resolve()
    found: set[str] = set()
    for args in (
        ["diff", "--name-only", "--no-renames", "--relative", base_commit, "--", str(recordings)],
        ["ls-files", "--others", "--exclude-standard", "--", str(recordings)],
        ["diff", "--name-only", "--no-renames", "--relative", base_commit, "--", str(state)],
    ):
        found.update(_git_lines(root, args))
    return sorted(found)


def _git_lines(cwd: Path, args: list[str]) -> list[str]:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        why = str(exc)
    else:
        if out.returncode == 0:
            return [line for line in out.stdout.splitlines() if line]
        why = (
            out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
        )
    raise RefusedError(
        f"cannot compare the pull request's recordings with the base: git {args[0]}: {why}",
        hint="fetch the base (actions/checkout with fetch-depth: 0), or review and --trust-pr",
    )


def gate_changes(head: GateConfig, base: GateConfig) -> list[str]:
    """`name old -> new` for each gate setting the head changes (the bar it is judged by)."""
    return [
        f"{f.name} {getattr(base, f.name)!r} -> {getattr(head, f.name)!r}"
        for f in fields(GateConfig)
        if getattr(head, f.name) != getattr(base, f.name)
    ]


def judging_changes(head: Project, base: Project) -> list[str]:
    """What the head's promptctl.yaml changes in how the pull request is judged: the gate's
    settings, the prices the cost rule reads, the model that grades `llm-rubric`."""
    out = []
    gate = gate_changes(head.gate, base.gate)
    if gate:
        out.append(
            f"changes the gate: {', '.join(gate)} (the pull request would set the bar it is"
            " judged by)"
        )
    priced = sorted(
        t for t in {*head.pricing, *base.pricing} if head.pricing.get(t) != base.pricing.get(t)
    )
    if priced:
        out.append(
            f"changes the price of {', '.join(priced)} (the cost rule would read the pull"
            " request's prices)"
        )
    if head.judge != base.judge:
        out.append(
            f"changes the judge: {base.judge} -> {head.judge} (the pull request would pick"
            " who grades its llm-rubric checks)"
        )
    return out


def destination_changes(head: Project, base: Project) -> list[str]:
    """What the head's promptctl.yaml changes in where a run writes or connects besides
    the providers: the ledger (a file may be outside the project; a database is sent the
    environment's PGPASSWORD) and the fleet's shared state."""
    out = []
    if _ledger(head) != _ledger(base):
        out.append(
            "changes the ledger (calls would be written, and a database sent the"
            " environment's PGPASSWORD, where the pull request says)"
        )
    if head.shared_state != base.shared_state:
        out.append(
            "changes shared_state (the fleet's limits and breakers would be read and"
            " written where the pull request says)"
        )
    return out


def _ledger(project: Project) -> str:
    """`ledger:` as written: the URL, or the file relative to the project (None: default)."""
    if project.ledger_url:
        return project.ledger_url
    if project.ledger_path is None:
        return ""
    return os.path.relpath(project.ledger_path, project.root)


def _base_project(project: Project, base_commit: str) -> Project:
    """promptctl.yaml at `base_commit` (built-in defaults without one)."""
    from promptctl.evals.baseline import git_source
    from promptctl.promptfile.project import CONFIG_NAME, load_project

    source, _ = git_source(project.root, base_commit)
    config = project.config_path or project.root / "promptctl.yaml"
    try:
        raw = source.read_bytes(config, root=project.root, what=CONFIG_NAME)
    except FileNotFoundError:
        raw = b""
    with tempfile.TemporaryDirectory(prefix="promptctl-base-") as tmp:
        path = Path(tmp) / CONFIG_NAME
        path.write_bytes(raw)
        try:
            return load_project(path)
        except ConfigError as exc:
            raise RefusedError(
                f"promptctl.yaml at the base ({base_commit[:12]}) does not load: {exc.message}",
                hint="fix the base branch, or review the pull request and pass --trust-pr",
            ) from None


def check_untrusted_pr(
    project: Project, pr: PullRequest, base_commit: str, head_prompts: Iterable[Prompt]
) -> None:
    """RefusedError listing what a fork's pull request would run or redirect; else None."""
    from promptctl.evals.baseline import prompts_at_commit

    base_prompts = prompts_at_commit(project, base_commit) or ()
    reasons = [
        f"{use} (would run the pull request's code)"
        for use in python_check_uses([*head_prompts, *base_prompts], project.root)
    ]
    config = project.config_path.name if project.config_path else "promptctl.yaml"
    base = _base_project(project, base_commit)
    reasons += [
        f"{config}: {change} (requests and API keys would go where the pull request says)"
        for change in provider_changes(project.providers, base.providers)
    ]
    reasons += [f"{config}: {change}" for change in judging_changes(project, base)]
    reasons += [f"{config}: {change}" for change in destination_changes(project, base)]
    answers = changed_answers(project, base_commit)
    shown = answers[:5]
    more = f" (and {len(answers) - len(shown)} more)" if len(answers) > len(shown) else ""
    reasons += [
        f"{path}: answers the pull request added or changed (they would be replayed as "
        f"the model's){more if path == shown[-1] else ''}"
        for path in shown
    ]
    if reasons:
        lines = "\n".join(f"  - {r}" for r in reasons)
        raise RefusedError(
            f"refusing to test a {pr.describe()} into {pr.base_repo or 'this repository'}:\n"
            f"{lines}",
            hint="review the change, then re-run with --trust-pr; see docs/security.md",
        )
