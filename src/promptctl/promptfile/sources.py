"""Where the loader reads files from: the working tree, or a git commit.

The loader only ever asks a `FileSource`, so the gate can load the prompts as they
were at a base ref (see `gitsource.GitTreeSource`) with the same code. Paths are
absolute paths as they would be in the working tree. Every read is confined to a root
(the project), regular files only, size-capped: see `safe_io`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from promptctl.promptfile.safe_io import MAX_FILE_BYTES, read_file

__all__ = ["FileSource", "WorkingTreeSource"]


@runtime_checkable
class FileSource(Protocol):
    def read_bytes(
        self, path: Path, *, root: Path, limit: int = MAX_FILE_BYTES, what: str = "file"
    ) -> bytes:
        """The bytes of the regular file `path`, which must resolve inside `root`.

        Raises FileNotFoundError when absent, `safe_io.UnsafeFileError` when it leaves
        `root` (through `..` or a symlink), is not a regular file or is over `limit`.
        """
        ...

    def is_file(self, path: Path) -> bool: ...

    def list_files(self, directory: Path) -> list[Path]:
        """Every file below `directory`, recursively, sorted."""
        ...


class WorkingTreeSource:
    """Reads the files on disk."""

    def read_bytes(
        self, path: Path, *, root: Path, limit: int = MAX_FILE_BYTES, what: str = "file"
    ) -> bytes:
        return read_file(path, root=root, limit=limit, what=what)

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def list_files(self, directory: Path) -> list[Path]:
        out: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            base = Path(dirpath)
            out.extend(base / name for name in filenames)
        out.sort()
        return out
