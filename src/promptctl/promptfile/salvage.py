"""Keep checking a prompt file whose schema errors sit in parts the rest does not need.

A user should see every independent problem of a file in one lint run. When the schema
errors only touch metadata, unknown keys, `output`, one input's schema or single
tests/assertions, those parts are removed (a broken input keeps its name and accepts
anything) from a copy of the data and the prompt is built from the rest; its templates,
tests and assertions are then checked as usual. Errors in `messages`, in the `inputs`
mapping itself or in a target stop the file: checks built on them would only echo the
first error.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

__all__ = ["salvage"]

Path = tuple[str | int, ...]

_BLOCKING = frozenset({"messages"})
_TEXT_METADATA = frozenset({"description", "owner"})
_TARGET_ESSENTIALS = frozenset({"use", "when", "messages"})
_TEST_ESSENTIALS = frozenset({"name", "vars", "dataset"})


def salvage(data: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any] | None:
    """A copy of `data` without the values at `paths`, or None if the file cannot be built.

    A broken test or assertion becomes None (the test parser skips it), so the other
    entries keep their index and their file:line.
    """
    out = copy.deepcopy(data)
    for path in paths:
        if not path or not _drop(out, path):
            return None
    return out


def _drop(data: dict[str, Any], path: Path) -> bool:
    top, rest = path[0], path[1:]
    if top not in data:
        return top == "version"  # a missing version is reported; the build does without
    if top in _BLOCKING:
        return False
    if top == "model":
        return _drop_in_model(data["model"], rest)
    if top == "inputs":
        return _loosen_input(data["inputs"], rest)
    if top == "tests":
        return _drop_in_tests(data, rest)
    if top in _TEXT_METADATA and not rest:
        data[top] = str(data[top])  # still "present": no extra "has no description" warning
        return True
    del data[str(top)]
    return True


def _drop_in_model(model: Any, rest: Path) -> bool:
    """Unknown keys and bad `params` can go; a broken `use`, `when` or `messages` cannot."""
    if not isinstance(model, dict) or not rest or rest[0] == "use":
        return False
    if rest[0] in {"fallbacks", "routes"}:
        entries = model.get(rest[0])
        if len(rest) < 3 or not isinstance(entries, list) or rest[2] in _TARGET_ESSENTIALS:
            return False
        index = rest[1]
        entry = entries[index] if isinstance(index, int) and index < len(entries) else None
        if not isinstance(entry, dict):
            return False
        entry.pop(rest[2], None)  # an unknown key or bad params of one fallback/route
        return True
    model.pop(rest[0], None)
    return True


def _loosen_input(inputs: Any, rest: Path) -> bool:
    """A broken input keeps its name with an accept-anything schema: no 'undeclared' echoes."""
    if not isinstance(inputs, dict) or not rest or rest[0] not in inputs:
        return False
    inputs[rest[0]] = {}
    return True


def _drop_in_tests(data: dict[str, Any], rest: Path) -> bool:
    tests = data["tests"]
    if not rest or not isinstance(tests, list):
        data["tests"] = []
        return True
    index = rest[0]
    if not isinstance(index, int) or index >= len(tests):
        return False
    entry = tests[index]
    asserts = entry.get("assert") if isinstance(entry, dict) else None
    if len(rest) > 2 and rest[1] == "assert" and isinstance(asserts, list):
        position = rest[2]
        if isinstance(position, int) and position < len(asserts):
            asserts[position] = None
            return True
    if len(rest) > 1 and isinstance(entry, dict) and rest[1] not in _TEST_ESSENTIALS:
        entry.pop(rest[1], None)  # `repeat: 0`, an unknown key, `assert` not a list
        return True
    tests[index] = None
    return True
