"""The package's source, parsed once per test session (the layer and extension-point
tests both walk every module's AST)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import promptctl

__all__ = ["SRC", "parsed"]

SRC = Path(promptctl.__file__).parent


@functools.cache
def _parse(path: Path, mtime_ns: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def parsed(path: Path) -> ast.Module:
    """The AST of `path` (re-parsed if the file changed since)."""
    return _parse(path, path.stat().st_mtime_ns)
