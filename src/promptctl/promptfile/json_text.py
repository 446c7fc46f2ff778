"""JSON from outside, as text any UTF-8 writer can write.

A provider's answer or a results file can hold a lone UTF-16 surrogate (`"\\ud800"`):
no UTF-8 holds one, so the results file, the terminal and the HTML report failed to write
it (a traceback, after a paid answer). Read here as U+FFFD."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["loads_clean"]

# a lone UTF-16 surrogate can only come as a JSON escape (`"\\ud800"`) or as the bytes
# of one, which `json.loads` of bytes reads too (`surrogatepass`); a pair is one character
_MAYBE_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_MAYBE_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_clean(raw: bytes | str, **options: Any) -> Any:
    """`json.loads(raw, **options)` of JSON from outside (a provider's answer, a results
    file, a dataset row: `strict_json`), each lone surrogate replaced by U+FFFD. The
    search is one C pass; the walk only runs for a text that may hold one."""
    data = json.loads(raw, **options)
    pattern = _MAYBE_SURROGATE_BYTES if isinstance(raw, bytes) else _MAYBE_SURROGATE_TEXT
    if pattern.search(raw):  # type: ignore[arg-type]
        data = _without_lone_surrogates(data)
    return data


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value
