"""Read files as they are in a git commit, without touching the working tree or index.

Used by lint's version-bump rules and by the gate to load prompts at a base ref.
gitpython is imported here only; nothing on the CLI's startup path imports this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptctl.errors import UsageError

__all__ = ["GitTreeSource", "find_repo_root", "merge_base_ref"]


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
        try:
            return path.resolve().relative_to(self.repo_root).as_posix()
        except ValueError:
            return None

    def read_bytes(self, path: Path) -> bytes:
        rel = self._rel(path)
        blob = self._index().get(rel) if rel is not None else None
        if blob is None:
            raise FileNotFoundError(f"{path} not in {self.ref}")
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
