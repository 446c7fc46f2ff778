"""The one place that opens a user's file: confined to the project, regular, size-capped.

A pull request controls every file in the project, including symlinks. Reading a partial
that links to `/proc/self/environ` would send the environment (keys included) to a
provider; a dataset that is a FIFO or `/dev/zero` would hang or exhaust memory. So every
read of a project file goes through `read_file`, which

- resolves the path (every symlink, `..`) and refuses a result outside `root`;
- `stat`s it and refuses anything but a regular file *before* opening (a FIFO is never
  opened, so it cannot block; the open is non-blocking anyway and re-checked with fstat);
- refuses a file over `limit` bytes, and never reads more than `limit + 1` bytes.

`checked` is the same without the read, for a file another library opens (a python
check is imported). Errors are `UnsafeFileError` (a `PromptFileError`, exit 2) carrying
the file; callers that know the line that named the file (`dataset:` in a prompt)
re-raise it with that location. Two more guards against hostile content live here:
`nesting_depth` (data nested deeper than `MAX_DEPTH` ends in a RecursionError later) and
`excerpt`, how error messages quote untrusted file content: short and escaped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from promptctl.errors import PromptFileError, SourceLocation

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_CHECK_BYTES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "FileTooLargeError",
    "UnsafeFileError",
    "checked",
    "confine",
    "excerpt",
    "nesting_depth",
    "read_file",
    "require_regular",
    "shown",
    "too_big_hint",
]

# Deeper data than any prompt needs; every later stage (schema validation, hashing,
# JSON encoding) recurses per level, so a 10,000-deep row would end in a RecursionError.
MAX_DEPTH = 100
MAX_FILE_BYTES = 1024 * 1024  # prompt files, partials, promptctl.yaml, --vars
MAX_CHECK_BYTES = 1024 * 1024  # a python check module
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # a published bundle (bundle verify, the runtime)
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class UnsafeFileError(PromptFileError):
    """A file leaves the project, is not a regular file, or is over its size cap."""


class FileTooLargeError(UnsafeFileError):
    """A file is over its size cap (callers that know which setting raises it say so)."""


def shown(path: Path, root: Path | None) -> str:
    """`path` relative to `root` when it is below it (as users wrote it), else as given."""
    if root is not None:
        try:
            return Path(os.path.normpath(path)).relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def confine(path: Path, root: Path, *, what: str = "file") -> Path:
    """The real path of `path`, which must lie inside the real path of `root`.

    Raises UnsafeFileError naming the file, and the symlink target when one leads out.
    """
    real = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    if real == base or real.is_relative_to(base):
        return real
    name = shown(path, root)
    via = f" (it resolves to {real})" if Path(os.path.normpath(path)) != real else ""
    raise UnsafeFileError(
        f"{what} {name} is outside the project{via}",
        location=SourceLocation(path),
        hint=f"files must stay inside {base}; copy the file into the project",
    )


def require_regular(path: Path, mode: int, *, what: str = "file") -> None:
    """Refuse a stat `mode` that is not a regular file (FIFO, device, directory, socket)."""
    if stat.S_ISREG(mode):
        return
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    raise UnsafeFileError(
        f"{what} {path} is {kind}, not a regular file",
        location=SourceLocation(path),
        hint="only regular files are read; replace it with a plain file",
    )


# the `limits:` key of promptctl.yaml that raises each configurable cap
LIMIT_KEYS = {"prompt file": "max_prompt_file_bytes", "dataset": "max_dataset_bytes"}


def too_big_hint(what: str) -> str:
    key = LIMIT_KEYS.get(what)
    return f"split it, or raise `limits: {{{key}: ...}}` in promptctl.yaml" if key else "split it"


def _too_big(path: Path, size: int, limit: int, what: str) -> FileTooLargeError:
    return FileTooLargeError(
        f"{what} is {size:,} bytes, over the {limit:,}-byte limit",
        location=SourceLocation(path),
        hint=too_big_hint(what),
    )


def checked(path: Path, *, root: Path | None, limit: int, what: str = "file") -> Path:
    """The real path of `path` once confined, regular and within `limit` (not opened).

    For files another library opens (a python check that is imported): the checks of
    `read_file` without the read.
    """
    real = confine(path, root, what=what) if root is not None else Path(os.path.realpath(path))
    info = os.stat(real)  # FileNotFoundError for a missing file or a dangling link
    require_regular(path, info.st_mode, what=what)
    if info.st_size > limit:
        raise _too_big(path, info.st_size, limit, what)
    return real


def read_file(
    path: Path, *, root: Path | None, limit: int = MAX_FILE_BYTES, what: str = "file"
) -> bytes:
    """The bytes of the regular file `path`, confined to `root` (None: anywhere).

    Raises FileNotFoundError when it is absent (or a dangling symlink), UnsafeFileError
    when it escapes `root`, is not a regular file or is over `limit` bytes, and OSError
    (with a filename) for other failures such as permissions.
    """
    real = checked(path, root=root, limit=limit, what=what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        require_regular(path, os.fstat(fd).st_mode, what=what)  # swapped since the stat?
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise _too_big(path, size, limit, what)
    return b"".join(chunks)


def excerpt(text: str, limit: int = 60) -> str:
    """A short, quoted, escaped excerpt of untrusted text for an error message.

    Never the whole of an unexpected file: the first line only, at most `limit`
    characters, control characters escaped, and the length of what was left out.
    """
    first = text.strip().split("\n", 1)[0]
    cut = first[:limit]
    rest = len(text.strip()) - len(cut)
    quoted = repr(cut)
    return f"{quoted}… ({rest:,} more characters)" if rest > 0 else quoted


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply lists/dicts nest in `value` (iteratively), stopping past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest
