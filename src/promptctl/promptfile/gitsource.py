"""Read files as they are in a git commit, without touching the working tree or index.

Used by lint's version-bump rules and by the gate to load prompts at a base ref.
gitpython is imported here only; nothing on the CLI's startup path imports this.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

from promptctl.errors import SourceLocation, UsageError
from promptctl.promptfile.safe_io import (
    MAX_FILE_BYTES,
    FileTooLargeError,
    UnsafeFileError,
    shown,
    too_big_hint,
)

__all__ = ["GitTreeSource", "find_repo_root", "merge_base_ref"]

_SYMLINK = 0o120000
_MAX_HOPS = 40  # as the kernel's ELOOP limit


def find_repo_root(start: Path) -> Path | None:
    """The nearest ancestor holding `.git` (a directory or a worktree file), or None."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def merge_base_ref(
    repo_root: Path, branches: tuple[str, ...] = ("main", "origin/main")
) -> str | None:
    """The merge-base of HEAD with the first of `branches` that exists; None if none does."""
    import git

    repo = git.Repo(repo_root)
    try:
        head = repo.head.commit
    except ValueError:
        return None  # no commits yet
    for ref in branches:
        try:
            other = repo.commit(ref)
        except (git.BadName, ValueError):
            continue
        bases = repo.merge_base(head, other)
        if bases:
            return str(bases[0].hexsha)
    return None


class GitTreeSource:
    """A `FileSource` over the tree of commit `ref` in the repository at `repo_root`."""

    def __init__(self, repo_root: Path, ref: str) -> None:
        import git

        self.repo_root = repo_root.resolve()
        self.ref = ref
        try:
            self._repo = git.Repo(self.repo_root)
            self._commit = self._repo.commit(ref)
        except (git.BadName, ValueError, git.InvalidGitRepositoryError) as exc:
            raise UsageError(
                f"unknown git ref {ref!r} in {self.repo_root}",
                hint="pass an existing branch, tag or commit to --base",
            ) from exc
        self.commit_sha: str = self._commit.hexsha
        self._tree: Any = self._commit.tree
        self._files: dict[str, Any] | None = None

    def _index(self) -> dict[str, Any]:
        if self._files is None:
            self._files = {
                str(item.path): item for item in self._tree.traverse() if item.type == "blob"
            }
        return self._files

    def _rel(self, path: Path) -> str | None:
        """`path` relative to the repository, lexically: the working tree's symlinks
        say nothing about the commit's."""
        try:
            return Path(os.path.normpath(path)).relative_to(self.repo_root).as_posix()
        except ValueError:
            return None

    def _resolve(self, rel: str, path: Path, what: str) -> str:
        """Follow the symlinks stored in the commit (as the kernel would on checkout)."""
        parts = rel.split("/")
        hops = 0
        i = 0
        while i < len(parts):
            prefix = "/".join(parts[: i + 1])
            item = self._index().get(prefix)
            if item is None or item.mode != _SYMLINK:
                i += 1
                continue
            hops += 1
            target = item.data_stream.read().decode("utf-8", "replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(prefix), target))
            if hops > _MAX_HOPS or posixpath.isabs(target) or joined.split("/")[0] == "..":
                raise UnsafeFileError(
                    f"{what} {rel} at {self.ref} is a symlink to {target!r}, outside the project",
                    location=SourceLocation(path),
                    hint="files must stay inside the project; commit a plain file instead",
                )
            parts = [*joined.split("/"), *parts[i + 1 :]]
            parts = [p for p in parts if p not in ("", ".")]
            i = 0
        return "/".join(parts)

    def read_bytes(
        self, path: Path, *, root: Path, limit: int = MAX_FILE_BYTES, what: str = "file"
    ) -> bytes:
        rel = self._rel(path)
        if rel is None:
            raise FileNotFoundError(f"{path} not in {self.ref}")
        real = self._resolve(rel, path, what)
        if not (self.repo_root / real).is_relative_to(Path(os.path.normpath(root))):
            raise UnsafeFileError(
                f"{what} {shown(path, root)} at {self.ref} resolves to {real}, outside the project",
                location=SourceLocation(path),
                hint="files must stay inside the project",
            )
        blob = self._index().get(real)
        if blob is None:
            raise FileNotFoundError(f"{path} not in {self.ref}")
        if blob.size > limit:
            raise FileTooLargeError(
                f"{what} is {blob.size:,} bytes at {self.ref}, over the {limit:,}-byte limit",
                location=SourceLocation(path),
                hint=too_big_hint(what),
            )
        data: bytes = blob.data_stream.read()
        return data

    def is_file(self, path: Path) -> bool:
        rel = self._rel(path)
        return rel is not None and rel in self._index()

    def list_files(self, directory: Path) -> list[Path]:
        rel = self._rel(directory)
        if rel is None:
            return []
        prefix = "" if rel == "." else rel + "/"
        return sorted(self.repo_root / p for p in self._index() if p.startswith(prefix))
