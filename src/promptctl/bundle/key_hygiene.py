"""Keeping signing keys out of git: the whole trust model rests on the private key.

`keygen` refuses to write a private key inside a git work tree unless git ignores that
path; `lint` (PC030) and `publish` refuse while any private key is tracked. Uses the git
command line (`check-ignore`, `grep --cached`): it knows every ignore source (.gitignore
files, info/exclude, core.excludesFile) and searches the index without reading files
into Python. Without git, or outside a repository, there is nothing to check.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from promptctl.bundle.signing import PRIVATE_KEY_NAME

__all__ = [
    "PRIVATE_KEY_PATTERN",
    "key_path_problem",
    "tracked_key_message",
    "tracked_private_keys",
    "work_tree",
]

PRIVATE_KEY_PATTERN = r"^-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----"
"""A PEM private key's first line (PKCS#8, RSA, EC, OpenSSH, encrypted)."""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def work_tree(path: Path) -> Path | None:
    """The root of the git work tree holding `path` (which need not exist yet), or None."""
    out = _git(_existing(path), "rev-parse", "--show-toplevel")
    if out is None or out.returncode != 0:
        return None
    return Path(out.stdout.decode().strip())


def key_path_problem(private_key: Path) -> str | None:
    """Why writing a private key at `private_key` would put it in git, or None."""
    root = work_tree(private_key)
    if root is None:
        return None
    target = private_key.absolute()
    out = _git(_existing(target), "check-ignore", "-q", str(target))
    if out is not None and out.returncode == 0:
        return None  # ignored (and not tracked: check-ignore says no for tracked files)
    return (
        f"{target} is inside the git work tree {root} and not git-ignored: "
        "the next `git add -A` would commit the private signing key"
    )


def tracked_private_keys(start: Path) -> list[Path]:
    """Files tracked by git (in the index) that hold a PEM private key or carry the
    name keygen gives one; absolute paths, sorted. Empty outside a repository."""
    root = work_tree(start)
    if root is None:
        return []
    found: set[str] = set()
    grep = _git(root, "grep", "--cached", "-I", "-l", "-z", "-E", "-e", PRIVATE_KEY_PATTERN)
    if grep is not None and grep.returncode == 0:
        found.update(grep.stdout.decode(errors="replace").split("\0"))
    named = _git(root, "ls-files", "-z", "--", f"*{PRIVATE_KEY_NAME}", PRIVATE_KEY_NAME)
    if named is not None and named.returncode == 0:
        found.update(named.stdout.decode(errors="replace").split("\0"))
    return sorted(root / name for name in found if name)


def tracked_key_message(path: Path) -> str:
    """What to do about a tracked private key (the same words for lint and publish)."""
    return (
        f"private key {path} is tracked by git: `git rm --cached` it, add it to "
        ".gitignore, and make a new key with `promptctl keygen` (this one is exposed)"
    )
