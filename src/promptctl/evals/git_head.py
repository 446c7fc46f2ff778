"""The commit a run was made at (`run.git_commit`), read from `.git` without running git.

Every `promptctl test` records it; spawning `git rev-parse HEAD` cost ~5 ms of CPU and
6-60 ms of wall time per run, more than a cached case's whole share of the run. The
common layouts are read directly: `.git` a directory or a `gitdir:` file (worktrees,
submodules), HEAD a commit (detached) or `ref: refs/...`, the ref a loose file or a line
of `packed-refs` in the common directory. Anything else gives the question back to git
(`git rev-parse --verify -q HEAD`), so the answer is git's: a `GIT_*` variable that
changes discovery, a repository owned by another user (git refuses it unless
`safe.directory` says otherwise), a bare repository, a file system boundary crossed on
the way up, a ref that is neither loose nor packed (reftable, an unborn branch), a file
that does not parse.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["head_commit"]

# variables that change which repository git finds, or how it reads it
_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_NAMESPACE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)
_HEX = frozenset("0123456789abcdef")
_MAX_SYMREF_DEPTH = 5  # git's own limit is 5 as well


class _AskGit(Exception):
    """The layout is not one read here: `git rev-parse` decides."""


def head_commit(root: Path) -> str | None:
    """HEAD of the repository holding `root` (a full hex id), or None (not in a
    repository, no commit yet, no git)."""
    try:
        return _read_head(root)
    except (_AskGit, OSError, UnicodeDecodeError, ValueError):
        return _git_rev_parse(root)


def _read_head(root: Path) -> str | None:
    if any(name in os.environ for name in _GIT_ENV):
        raise _AskGit
    found = _discover(os.path.realpath(root))  # git walks up the physical path
    if found is None:
        return None  # no repository up to the file system root: git finds none either
    top, git_dir = found
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:
        raise _AskGit  # no POSIX owners to compare (Windows): git decides
    uid = geteuid()
    owners = {os.stat(p).st_uid for p in (top, os.path.join(top, ".git"), git_dir)}
    if owners != {uid}:
        raise _AskGit  # git's "dubious ownership" check (and `safe.directory`)
    common = _common_dir(git_dir)
    head = _read_text(os.path.join(git_dir, "HEAD"))
    for _ in range(_MAX_SYMREF_DEPTH):
        if not head.startswith("ref:"):
            return _object_id(head)
        ref = head[4:].strip()
        if not ref.startswith("refs/") or ".." in ref.split("/"):
            raise _AskGit
        head = _ref_value(git_dir, common, ref)
    raise _AskGit


def _discover(start: str) -> tuple[str, str] | None:
    """(work tree top, git directory) of the first `.git` up from `start`."""
    here = start
    device = os.stat(here).st_dev
    while True:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            return here, dot_git
        if os.path.isfile(dot_git):
            return here, _gitdir_file(here, dot_git)
        if os.path.exists(dot_git):
            raise _AskGit  # a FIFO, a dangling link: whatever git makes of it
        if os.path.isfile(os.path.join(here, "HEAD")) and os.path.isdir(
            os.path.join(here, "objects")
        ):
            raise _AskGit  # maybe a bare repository
        parent = os.path.dirname(here)
        if parent == here:
            return None
        if os.stat(parent).st_dev != device:
            raise _AskGit  # git stops at a file system boundary unless told otherwise
        here = parent


def _gitdir_file(top: str, path: str) -> str:
    """The directory a `gitdir: <path>` file points to (worktrees, submodules)."""
    text = _read_text(path)
    if not text.startswith("gitdir:"):
        raise _AskGit
    target = text[len("gitdir:") :].strip()
    git_dir = os.path.normpath(os.path.join(top, target))
    if not os.path.isdir(git_dir):
        raise _AskGit
    return git_dir


def _common_dir(git_dir: str) -> str:
    """Where shared refs live: `commondir` names it in a linked worktree's git dir."""
    path = os.path.join(git_dir, "commondir")
    if not os.path.exists(path):
        return git_dir
    return os.path.normpath(os.path.join(git_dir, _read_text(path).strip()))


def _ref_value(git_dir: str, common: str, ref: str) -> str:
    """The content of `ref`: loose (the worktree's own refs first), else packed."""
    per_worktree = ref.startswith(("refs/worktree/", "refs/bisect/", "refs/rewritten/"))
    for base in (git_dir,) if per_worktree else (common,):
        path = os.path.join(base, *ref.split("/"))
        if os.path.isfile(path):
            return _read_text(path)
        if os.path.exists(path):
            raise _AskGit
    packed = os.path.join(common, "packed-refs")
    if not per_worktree and os.path.isfile(packed):
        suffix = " " + ref
        for line in _read_text(packed, limit=None).splitlines():
            if line.endswith(suffix) and not line.startswith(("#", "^")):
                return line[: -len(suffix)]
    raise _AskGit  # unborn branch, reftable, ...: git knows


def _object_id(text: str) -> str:
    value = text.strip()
    if len(value) not in (40, 64) or not set(value) <= _HEX:
        raise _AskGit
    return value


def _read_text(path: str, limit: int | None = 4096) -> str:
    """A small file's text (HEAD, a ref); a longer one is not one read here."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(text) > limit:
        raise _AskGit
    return text


def _git_rev_parse(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None
