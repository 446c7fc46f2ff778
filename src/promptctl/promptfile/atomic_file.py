"""Files that readers see whole or not at all: written beside, then renamed over.

One home for the results file, its `--output` copy and the HTML report: a reader, or a
crash mid-write, never sees half a document, and no temp file is left behind. It lives
beside `safe_io` (every read of a project file) as the lowest layer that touches files;
`bundle/release.atomic_write` adds the fsyncs a published release needs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from promptctl.errors import UsageError

__all__ = ["replace_file"]


def replace_file(path: Path, write: Callable[[IO[bytes]], object], *, label: str) -> None:
    """Create or replace `path` with what `write` puts in the file it is given.

    An unwritable path is a UsageError: "cannot write {label} {path}: {reason}".
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {label} {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {label} {path}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
