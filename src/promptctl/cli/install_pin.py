"""How the workflow `init` writes installs promptctl: from a pinned source, never by name.

The package index holds an unrelated project named `promptctl`: `pip install promptctl`
in CI would run someone else's code next to the repository's API keys and token. The
workflow installs from a git URL at a commit or tag, or from a wheel URL with its
SHA-256, taken from `init --install-from`, else from how this copy was installed (PEP 610
`direct_url.json`); failing both, the step fails loudly until someone pins it.
See docs/install.md.
"""

from __future__ import annotations

import json
import re
from importlib import metadata

from promptctl.errors import UsageError

__all__ = ["install_command", "pin_from_direct_url", "validate_pin"]

_SAFE = re.compile(r"^[A-Za-z0-9._~:/?#@+=%,-]+$")  # nothing a shell or YAML would read
_GIT = re.compile(r"^git\+(https|ssh)://\S+/\S+@[A-Za-z0-9._-]+$")  # the last @ names the ref
_WHEEL = re.compile(r"^https://\S+\.whl#sha256=[0-9a-f]{64}$")
_HOW = (
    "use git+https://HOST/OWNER/promptctl@COMMIT (or a tag), or "
    "https://…/promptctl-X-py3-none-any.whl#sha256=HASH; see docs/install.md"
)


def validate_pin(source: str) -> str:
    """The pip requirement for `source` (`promptctl @ URL`); UsageError if not pinned."""
    url = source.removeprefix("promptctl @ ").strip()
    if not _SAFE.match(url):
        raise UsageError(f"--install-from {source!r} has characters a shell would read", hint=_HOW)
    if _GIT.match(url) or _WHEEL.match(url):
        return f"promptctl @ {url}"
    if re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?([=<>!~].*)?$", url):
        raise UsageError(
            f"--install-from {source!r} would install from the package index, where the "
            "name `promptctl` belongs to an unrelated project",
            hint=_HOW,
        )
    raise UsageError(f"--install-from {source!r} is not a pinned source", hint=_HOW)


def pin_from_direct_url(text: str | None) -> str | None:
    """The requirement this copy was installed from, when that is a pinned remote source:
    a git URL with its commit, or an https wheel with its SHA-256 (PEP 610)."""
    try:
        info = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return None
    url: str = info["url"]
    vcs, archive = info.get("vcs_info"), info.get("archive_info")
    candidate = None
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        candidate = f"git+{url}@{vcs['commit_id']}"
    elif isinstance(archive, dict) and url.endswith(".whl"):
        hashes = archive.get("hashes")
        digest = hashes.get("sha256") if isinstance(hashes, dict) else None
        if isinstance(digest, str):
            candidate = f"{url}#sha256={digest}"
    if candidate is None:
        return None
    try:
        return validate_pin(candidate)
    except UsageError:
        return None


def install_command(source: str | None) -> str | None:
    """The workflow's install command (`pip install 'promptctl @ …'`), or None when no
    pinned source is known (explicit `source` first, then this installation's origin)."""
    if source is not None:
        requirement: str | None = validate_pin(source)
    else:
        try:
            direct = metadata.distribution("promptctl").read_text("direct_url.json")
        except metadata.PackageNotFoundError:
            direct = None
        requirement = pin_from_direct_url(direct)
    return None if requirement is None else f"pip install '{requirement}'"
