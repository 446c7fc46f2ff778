"""A small JSONPath subset, enough for assertions and free of dependencies.

Supported: `$`, `.name`, `['key']` / `["key"]`, `[N]` (negative counts from the end),
`[*]` and `.*` (every element or value). Filters, slices and recursive descent are not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPath", "JsonPathError", "compile_path"]

_WILD = object()
_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | \.\*(?P<dotstar>)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\]
      | \[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\]
      | \[\s*\*\s*\](?P<star>)""",
    re.VERBOSE,
)


class JsonPathError(ValueError):
    """The path is not in the supported subset."""


@dataclass(frozen=True)
class JsonPath:
    """A compiled path; `definite` when it has no wildcard (at most one match)."""

    text: str
    steps: tuple[object, ...]

    @property
    def definite(self) -> bool:
        return _WILD not in self.steps

    def find(self, document: Any) -> list[Any]:
        """Every value the path selects, in document order; [] when nothing matches."""
        current = [document]
        for step in self.steps:
            nxt: list[Any] = []
            for node in current:
                nxt.extend(_apply(step, node))
            current = nxt
        return current


def _apply(step: object, node: Any) -> list[Any]:
    if step is _WILD:
        if isinstance(node, Mapping):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            return [node[step]]
        return []
    if isinstance(node, Mapping) and step in node:
        return [node[step]]
    return []


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def compile_path(text: str) -> JsonPath:
    """Parse `text`, raising JsonPathError with the position of the first bad character."""
    path = text.strip()
    if not path.startswith("$"):
        raise JsonPathError(f"JSONPath must start with '$': {text!r}")
    steps: list[object] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise JsonPathError(f"unsupported JSONPath {text!r} at position {pos}")
        groups = match.groupdict()
        if groups["name"] is not None:
            steps.append(groups["name"])
        elif groups["index"] is not None:
            steps.append(int(groups["index"]))
        elif groups["sq"] is not None:
            steps.append(_unescape(groups["sq"]))
        elif groups["dq"] is not None:
            steps.append(_unescape(groups["dq"]))
        else:
            steps.append(_WILD)
        pos = match.end()
    return JsonPath(path, tuple(steps))
